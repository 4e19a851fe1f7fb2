"""Directory: units (被督查单位), helper departments (市直相关单位), persons."""

from __future__ import annotations

from typing import Any

from ducha.contracts.base import Role
from ducha.contracts.common import UnitKind
from ducha.kernel.errors import InvalidCommand
from ducha.kernel.http import (
    COMMAND_ERRORS,
    QUERY_ERRORS,
    Command,
    CommandAnswer,
    CurrentActor,
    KernelDep,
    PathId,
    ReadAfter,
    require_role,
)
from ducha.kernel.lookup import read
from fastapi import APIRouter, UploadFile

from .. import imports
from ..commands import directory as cmd
from ..read import queries
from .common import MAX_UPLOAD, NOT_PUBLIC, ImportReport, PageOut, Paging, Upload
from .models import HelperIn, PersonIn, UnitIn, UnitUpdateIn

router = APIRouter(prefix="/v1", tags=["directory 名录"])


async def upload_bytes(file: UploadFile) -> bytes:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidCommand("the file is larger than 10 MB (文件过大)", field="file")
    return data


@router.post("/units", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="register an inspected unit (office)")
async def register_unit(body: UnitIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.register_unit(kernel, ctx, body))


@router.put("/units/{unit_id}", response_model=CommandAnswer, responses=COMMAND_ERRORS,
            summary="correct a unit's directory details (office)")
async def update_unit(unit_id: PathId, body: UnitUpdateIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.update_unit(kernel, ctx, unit_id, body))


async def _import(kernel: KernelDep, ctx: Any, file: UploadFile, sheet: imports.Sheet, run: Any) -> dict[str, Any]:
    require_role(ctx.actor, Role.OFFICE)
    data = await upload_bytes(file)
    return await imports.import_sheet(kernel, ctx, data, file.filename or "", sheet, run)


@router.post("/units/import", response_model=ImportReport, responses=COMMAND_ERRORS,
             summary="import units from .xlsx/.csv (office); columns 单位编码, 单位名称, 类型, 上级单位, 联系人, 联系电话")
async def import_units(ctx: Command, kernel: KernelDep, file: Upload) -> dict[str, Any]:
    return await _import(kernel, ctx, file, imports.UNITS, cmd.register_unit)


@router.get("/units", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
            summary="list units (everyone but the public)")
async def list_units(actor: CurrentActor, kernel: KernelDep, page: Paging, kind: UnitKind | None = None,
                     parent_id: str | None = None) -> dict[str, Any]:
    require_role(actor, *NOT_PUBLIC)
    return await read(queries.list_table, kernel.engine, queries.units, page,
                      kind=kind.value if kind else None, parent_id=parent_id)


@router.get("/units/{unit_id}", responses=QUERY_ERRORS, dependencies=[ReadAfter], summary="one unit")
async def get_unit(unit_id: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    require_role(actor, *NOT_PUBLIC)
    return await read(queries.get_one, kernel.engine, queries.units, unit_id, "unit (单位不存在)")


@router.post("/helpers", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="register a helper department (office)")
async def register_helper(body: HelperIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.register_helper(kernel, ctx, body))


@router.post("/helpers/import", response_model=ImportReport, responses=COMMAND_ERRORS,
             summary="import helper departments (office); columns 部门编码, 部门名称, 联系人, 联系电话")
async def import_helpers(ctx: Command, kernel: KernelDep, file: Upload) -> dict[str, Any]:
    return await _import(kernel, ctx, file, imports.HELPERS, cmd.register_helper)


@router.get("/helpers", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
            summary="list helper departments (everyone but the public)")
async def list_helpers(actor: CurrentActor, kernel: KernelDep, page: Paging) -> dict[str, Any]:
    require_role(actor, *NOT_PUBLIC)
    return await read(queries.list_table, kernel.engine, queries.helpers, page)


@router.post("/persons", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="register a person (office)")
async def register_person(body: PersonIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.register_person(kernel, ctx, body))


@router.post("/persons/import", response_model=ImportReport, responses=COMMAND_ERRORS,
             summary="import persons (office); columns 人员编号, 姓名, 角色, 所属单位, 职务, 电话")
async def import_persons(ctx: Command, kernel: KernelDep, file: Upload) -> dict[str, Any]:
    return await _import(kernel, ctx, file, imports.PERSONS, cmd.register_person)


@router.get("/persons", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
            summary="list persons (office, teams, cadre supervision)")
async def list_persons(actor: CurrentActor, kernel: KernelDep, page: Paging, role: Role | None = None,
                       org_id: str | None = None) -> dict[str, Any]:
    require_role(actor, Role.OFFICE, Role.TEAM, Role.CADRE, Role.SYSTEM)
    return await read(queries.list_table, kernel.engine, queries.persons, page,
                      role=role.value if role else None, org_id=org_id)
