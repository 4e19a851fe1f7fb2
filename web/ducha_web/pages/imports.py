"""导入 (import): the sheets intake already accepts — units, helper departments and persons (the
office), problems (a team member) — uploaded from a page, with intake's per-row report shown row by
row (accepted, or why not), so nothing fails silently."""

from __future__ import annotations

from typing import Any

from ducha.contracts.base import Role
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from .. import backend
from ..labels import error_text
from ..runtime import check_csrf, get_web, render, require_session
from ..services import ApiError
from ..session import Session
from .common import redirect, router

r = router()
SHEETS = {  # kind: (label, intake path, who, columns)
    "units": ("被督查单位", "/v1/units/import", Role.OFFICE, "单位编码*, 单位名称*, 类型* (区县/部门/企业), 上级单位, 联系人, 联系电话, 电子邮箱"),
    "helpers": ("市直相关单位", "/v1/helpers/import", Role.OFFICE, "部门编码*, 部门名称*, 联系人, 联系电话, 电子邮箱"),
    "persons": ("人员", "/v1/persons/import", Role.OFFICE, "人员编号*, 姓名*, 角色*, 所属单位, 职务, 电话, 邮箱"),
    "problems": ("问题", "/v1/problems/import", Role.TEAM,
                 "单位编码*, 督查内容编号, 问题标题*, 问题描述*, 类别*, 严重程度*, 地点, 发现日期*, 发现方式*, 可公开, 建议整改天数"),
}
MAX_MB = 10


def kinds_for(session: Session) -> dict[str, tuple[str, str, Role, str]]:
    return {k: v for k, v in SHEETS.items() if v[2] == session.actor.role}


async def page(request: Request, session: Session, report: dict[str, Any] | None = None, kind: str = "",
               status_code: int = 200, flash: str = "", flash_kind: str = "ok") -> Response:
    web = await get_web(request)
    contents: list[dict[str, Any]] = []
    if session.actor.role == Role.TEAM:
        contents = await backend.optional(backend.all_items(web.services, "intake", "/v1/contents", session.token,
                                                            status="approved"), [])
    return await render(request, "import.html", session, "import", kinds=kinds_for(session), report=report,
                        kind=kind, contents=contents, status_code=status_code, flash=flash or None,
                        flash_kind=flash_kind)


@r.get("/import", include_in_schema=False)
async def import_page(request: Request) -> Response:
    session = await require_session(request)
    if not kinds_for(session):
        return redirect("/", "您的角色没有可导入的表格", "err")
    return await page(request, session)


@r.post("/import", include_in_schema=False)
async def import_sheet(request: Request) -> Response:
    session = await require_session(request)
    form = await request.form()
    check_csrf(session, form)
    web = await get_web(request)
    kind = str(form.get("kind") or "")
    sheet = kinds_for(session).get(kind)
    upload = form.get("file")
    if sheet is None:
        return await page(request, session, status_code=422, flash="请选择要导入的表格类型", flash_kind="err")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await page(request, session, kind=kind, status_code=422, flash="请选择 Excel 或 CSV 文件", flash_kind="err")
    data = await upload.read(MAX_MB * 1024 * 1024 + 1)
    if len(data) > MAX_MB * 1024 * 1024:
        return await page(request, session, kind=kind, status_code=413, flash=f"文件超过 {MAX_MB} MB", flash_kind="err")
    extra = {"content_id": str(form.get("content_id"))} if kind == "problems" and form.get("content_id") else None
    try:
        report = await web.services.upload("intake", sheet[1], session.token, upload.filename, data,
                                           upload.content_type or "application/octet-stream", extra,
                                           idempotency_key=str(form.get("_idem") or "") or None)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return await page(request, session, kind=kind, status_code=exc.status if exc.status < 500 else 200,
                          flash=error_text(exc.status, exc.message), flash_kind="err")
    web.queues.forget(session.actor)
    ok = int(report.get("accepted", 0)) if isinstance(report, dict) else 0
    bad = int(report.get("rejected", 0)) if isinstance(report, dict) else 0
    return await page(request, session, report=report, kind=kind,
                      flash=f"{sheet[0]}表：导入 {ok} 行" + (f"，{bad} 行未导入（见下表）" if bad else ""),
                      flash_kind="err" if bad else "ok")
