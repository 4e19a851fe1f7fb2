"""Bulk imports: each sheet row becomes one ordinary command (same validation, same rules), with
its own command id derived from the upload's, so re-sending an upload replays it row by row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext, CommandResult
from ducha.kernel.errors import DomainError, InvalidCommand
from pydantic import BaseModel, ValidationError

from . import spreadsheets as sh
from .api.models import HelperIn, PersonIn, ProblemIn, UnitIn
from .commands.common import sub_context

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

CONTACT_COLUMNS = {"联系人": "contact_name", "联系电话": "contact_phone", "电话": "contact_phone",
                   "电子邮箱": "contact_email", "邮箱": "contact_email"}
UNIT_COLUMNS = {"单位编码": "id", "单位名称": "name", "类型": "kind", "单位类型": "kind", "上级单位": "parent_id",
                "上级单位编码": "parent_id", **CONTACT_COLUMNS}
HELPER_COLUMNS = {"部门编码": "id", "部门名称": "name", **CONTACT_COLUMNS}
PERSON_COLUMNS = {"人员编号": "id", "姓名": "name", "角色": "role", "所属单位": "org_id", "所属单位编码": "org_id",
                  "职务": "title", "电话": "phone", "联系电话": "phone", "邮箱": "email", "电子邮箱": "email"}
PROBLEM_COLUMNS = {"单位编码": "unit_id", "督查内容编号": "content_id", "问题标题": "title", "标题": "title",
                   "问题描述": "description", "描述": "description", "类别": "category", "严重程度": "severity",
                   "地点": "location", "发现日期": "found_on", "发现方式": "found_by", "可公开": "publishable",
                   "是否公开": "publishable", "建议整改天数": "suggested_deadline_days",
                   "前轮问题编号": "repeat_of"}

KIND_ZH = {"区县": "district", "地区": "district", "区": "district", "县": "district", "部门": "department",
           "企业": "enterprise"}
ROLE_ZH = {"领导小组办公室": "office", "办公室": "office", "督查组": "team", "督查督导组": "team",
           "被督查单位": "unit", "单位": "unit", "市直相关单位": "helper", "协助部门": "helper",
           "干部监督管理部门": "cadre", "干部监督": "cadre"}
SEVERITY_ZH = {"一般": "general", "较重": "serious", "严重": "severe"}
FOUND_BY_ZH = {"现场检查": "on_site", "现场": "on_site", "暗访": "unannounced", "调度": "dispatch",
               "群众反映": "public_report"}


def _with_fields(columns: dict[str, str], model: type[BaseModel]) -> dict[str, str]:
    return {**{name: name for name in model.model_fields}, **columns}


def _labels(columns: dict[str, str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for header, field in columns.items():
        labels.setdefault(field, header)
    return labels


class Sheet:
    def __init__(self, model: type[BaseModel], columns: dict[str, str], required: tuple[str, ...],
                 convert: Callable[[dict[str, Any]], dict[str, Any]] = lambda v: v) -> None:
        self.model = model
        self.columns = _with_fields(columns, model)
        self.labels = _labels(columns)
        self.required = {f: self.labels.get(f, f) for f in required}
        self.convert = convert


def _unit(v: dict[str, Any]) -> dict[str, Any]:
    return {**v, "kind": sh.choice(v.get("kind"), KIND_ZH)} if "kind" in v else v


def _person(v: dict[str, Any]) -> dict[str, Any]:
    return {**v, "role": sh.choice(v.get("role"), ROLE_ZH)} if "role" in v else v


def _problem(v: dict[str, Any]) -> dict[str, Any]:
    out = dict(v)
    if "severity" in out:
        out["severity"] = sh.choice(out["severity"], SEVERITY_ZH)
    if "found_by" in out:
        out["found_by"] = sh.choice(out["found_by"], FOUND_BY_ZH)
    if "publishable" in out:
        out["publishable"] = sh.yes_no(out["publishable"])
    if "found_on" in out:
        out["found_on"] = sh.as_date(out["found_on"])
    return out


UNITS = Sheet(UnitIn, UNIT_COLUMNS, ("id", "name", "kind"), _unit)
HELPERS = Sheet(HelperIn, HELPER_COLUMNS, ("id", "name"))
PERSONS = Sheet(PersonIn, PERSON_COLUMNS, ("id", "name", "role"), _person)
PROBLEMS = Sheet(ProblemIn, PROBLEM_COLUMNS,
                 ("unit_id", "title", "description", "category", "severity", "found_on", "found_by"), _problem)

Run = Callable[["Kernel", CommandContext, Any], Awaitable[CommandResult]]


async def import_sheet(
    kernel: Kernel, ctx: CommandContext, data: bytes, filename: str, sheet: Sheet, run: Run,
    defaults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rows = sh.read_table(data, filename)
    headers = {h for _n, cells in rows for h in cells} | set(defaults or {})
    missing = sh.missing_headers(headers, sheet.columns, sheet.required)
    if missing:
        raise InvalidCommand(f"the sheet lacks columns (缺少列): {'、'.join(missing)}", field="file")
    report: list[dict[str, Any]] = []
    last_sequence = 0
    for number, cells in rows:
        values = {k: sh.as_text(v) for k, v in sh.map_row(cells, sheet.columns).items()}
        values = sheet.convert({**(defaults or {}), **values})
        line: dict[str, Any] = {"row": number, "id": None}
        try:
            body = sheet.model.model_validate(values)
            row_ctx = sub_context(ctx, derived_id(ctx.command_id, "row", str(number)))
            result = await run(kernel, row_ctx, body)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            label = sheet.labels.get(str(err["loc"][0]), field) if err["loc"] else field
            line.update(status="rejected", field=field, reason=f"{label}: {err['msg']}")
        except DomainError as exc:
            label = sheet.labels.get(exc.field or "", exc.field)
            reason = f"{label}: {exc.message}" if label else exc.message
            line.update(status="rejected", field=exc.field, reason=reason, code=exc.code)
        else:
            line.update(status="accepted", id=result.aggregate_id, sequence=result.last_sequence,
                        replayed=result.replayed)
            last_sequence = max(last_sequence, result.last_sequence)
        report.append(line)
    accepted = sum(1 for r in report if r["status"] == "accepted")
    return {"total": len(report), "accepted": accepted, "rejected": len(report) - accepted,
            "sequence": last_sequence, "rows": report}
