"""Shared pieces of the routers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from ducha.contracts.base import Actor, Role
from ducha.kernel.commands import CommandResult
from ducha.kernel.errors import Forbidden
from ducha.kernel.http import ERROR_RESPONSES, MAX_OFFSET, MAX_PAGE
from ducha.kernel.service import Kernel
from fastapi import Depends, File, Query, Request, UploadFile
from pydantic import BaseModel, Field

from ..queries import Page

T = TypeVar("T")

COMMAND_ERRORS = ERROR_RESPONSES
QUERY_ERRORS: dict[int | str, dict[str, Any]] = {k: v for k, v in ERROR_RESPONSES.items() if k in (401, 403, 404, 422, 503)}
MAX_UPLOAD = 10 * 1024 * 1024


class CommandOut(BaseModel):
    id: str = Field(description="the aggregate the command wrote to (e.g. the new problem's id)")
    sequence: int = Field(description="log sequence of the last event; pass as ?min_sequence= to read it")
    replayed: bool = Field(description="true when this repeats an earlier command with the same Idempotency-Key")


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


def out(result: CommandResult) -> CommandOut:
    return CommandOut(id=result.aggregate_id, sequence=result.last_sequence, replayed=result.replayed)


def kernel_of(request: Request) -> Kernel:
    kernel: Kernel = request.app.state.kernel
    return kernel


def paging(limit: int = Query(50, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> Page:
    return Page(limit=limit, offset=offset)


Paging = Annotated[Page, Depends(paging)]
Upload = Annotated[UploadFile, File(description="the sheet: .xlsx (first worksheet) or .csv (UTF-8 or GBK)")]


def allow(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role '{actor.role.value}' may not read this (无权查看)")


NOT_PUBLIC = (Role.OFFICE, Role.TEAM, Role.UNIT, Role.HELPER, Role.CADRE, Role.AUDITOR, Role.SYSTEM)


async def read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)
