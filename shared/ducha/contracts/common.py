"""Value types shared by the contracts of several contexts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvidenceRef(Frozen):
    """A piece of evidence: a stored file by content hash (`sha256:<hex>`), or a document number."""

    ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    name: ShortText = Field(description="what it is, e.g. 整改前后对比照片")


class Severity(StrEnum):
    GENERAL = "general"  # 一般
    SERIOUS = "serious"  # 较重
    SEVERE = "severe"  # 严重: two-step review, shorter deadlines


class UnitKind(StrEnum):
    DISTRICT = "district"  # 区县(地区)
    DEPARTMENT = "department"  # 部门
    ENTERPRISE = "enterprise"  # 企业


class FoundBy(StrEnum):
    ON_SITE = "on_site"  # 现场检查
    UNANNOUNCED = "unannounced"  # 暗访
    DISPATCH = "dispatch"  # 调度
    PUBLIC_REPORT = "public_report"  # 群众反映


LABELS_ZH: dict[str, str] = {
    "general": "一般",
    "serious": "较重",
    "severe": "严重",
    "district": "区县",
    "department": "部门",
    "enterprise": "企业",
    "on_site": "现场检查",
    "unannounced": "暗访",
    "dispatch": "调度",
    "public_report": "群众反映",
}
