"""Shared pieces of the routers."""

from __future__ import annotations

from typing import Annotated, Any

from ducha.contracts.base import Role
from ducha.kernel.http import MAX_OFFSET, MAX_PAGE
from fastapi import Depends, File, Query, UploadFile
from pydantic import BaseModel, Field

from ..read.queries import Page

MAX_UPLOAD = 10 * 1024 * 1024


class RowReport(BaseModel):
    row: int = Field(description="row number in the sheet (header = 1)")
    status: str = Field(description="accepted / rejected")
    id: str | None = None
    reason: str | None = Field(default=None, description="why the row was rejected (Chinese labels)")
    field: str | None = None
    code: str | None = None
    sequence: int | None = None
    replayed: bool | None = None


class ImportReport(BaseModel):
    total: int
    accepted: int
    rejected: int
    sequence: int = Field(description="log sequence of the last accepted row (0: none)")
    rows: list[RowReport]


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page (none: last page)")


def paging(limit: int = Query(50, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET),
           cursor: str | None = Query(None, max_length=512, description="next_cursor of the previous page: "
                                      "the page after it, as fast at any depth (offset is then ignored)"),
           ) -> Page:
    return Page(limit=limit, offset=offset, cursor=cursor)


Paging = Annotated[Page, Depends(paging)]
Upload = Annotated[UploadFile, File(description="the sheet: .xlsx (first worksheet) or .csv (UTF-8 or GBK)")]


NOT_PUBLIC = (Role.OFFICE, Role.TEAM, Role.UNIT, Role.HELPER, Role.CADRE, Role.AUDITOR, Role.SYSTEM)
