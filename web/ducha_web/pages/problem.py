"""The problem page: everything about one problem, its timeline, and a form for each action the
signed-in person may take now; and the team's form to report a new problem."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from ducha.contracts.base import Role
from fastapi import Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from .. import backend
from ..actions import BY_KEY, Action, F, available, parse_value, to_body
from ..evidence import owner_scope
from ..labels import SEVERITY_ZH, error_text, field_errors
from ..notice import Notice, from_events
from ..notice import render_docx as render_notice_docx
from ..notice import render_html as render_notice_html
from ..runtime import Web, check_csrf, get_web, render, require_session
from ..services import ApiError
from ..session import Session
from ..timeline import assemble, from_audit
from .common import clear_flash, redirect, router, take_flash

r = router()


async def store_files(web: Web, files: list[Any], owner: str) -> tuple[list[dict[str, str]], str | None]:
    """Uploaded files → EvidenceRef dicts (the files belong to `owner`, the uploader's scope); or
    an error message (too large)."""
    refs = []
    limit = web.settings.evidence_max_mb * 1024 * 1024
    for item in files:
        if not isinstance(item, UploadFile) and not hasattr(item, "read"):
            continue
        name = (getattr(item, "filename", "") or "").strip()
        if not name:
            continue
        data = await item.read(limit + 1)
        if not data:
            continue
        if len(data) > limit:
            return [], f"文件“{name}”超过 {web.settings.evidence_max_mb} MB"
        stored = await web.evidence.put(data, name[-200:], getattr(item, "content_type", "") or "", owner)
        refs.append({"ref": stored.ref, "name": name[-200:]})
    return refs, None


def parse_form(action: Action, form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in action.fields:
        if f.kind == "files":
            continue
        raw = form.get(f.name)
        values[f.name] = parse_value(f, raw if raw is not None else "")
        if f.required and values[f.name] in ("", [], None):
            errors[f.name] = f"{f.label}：此项必填"
    return values, errors


async def helper_options(web: Web, token: str) -> list[tuple[str, str]]:
    # No preselected department: one careless click must not assign the wrong one.
    return [("", "请选择")] + [(f"{h['id']}|{h.get('name', h['id'])}", h.get("name", h["id"]))
                             for h in await backend.helpers(web.services, token)]


async def show(request: Request, session: Session, problem_id: str, seq: int | None = None,
               open_action: str = "", values: dict[str, Any] | None = None,
               errors: dict[str, str] | None = None, status_code: int = 200, **extra: Any) -> Response:
    web = await get_web(request)
    view = await backend.problem(web.services, session.token, problem_id, seq)
    actions = available(session.actor, view)
    options: dict[str, list[tuple[str, str]]] = {}
    if any(a.key == "assign" for a in actions):
        options["helper"] = await helper_options(web, session.token)
    names = {a.id: a.name for a in await web.directory.accounts()}
    audit = await backend.audit_timeline(web.services, session.token, session.actor, web.kernel,
                                         web.settings.audit_url or web.settings.intake_url, problem_id, str(view.intake.get("unit_id", "")))
    if audit:
        view.timeline = from_audit(audit)
    timeline = assemble(view)
    for entry in timeline:
        entry["who"] = names.get(entry.get("who") or "", entry.get("who") or "")
    ctx = take_flash(request)
    resp = await render(
        request, "problem.html", session, "ledger", view=view, p=view.intake, rect=view.rect or {},
        ver=view.ver or {}, status=view.status, actions=actions, timeline=timeline,
        open_action=open_action, values=values or {}, errors=errors or {}, options=options,
        today=web.today().isoformat(), status_code=status_code, seq=seq, **ctx, **extra)
    return clear_flash(resp, ctx)


@r.get("/problems/new", include_in_schema=False)
async def new_problem(request: Request) -> Response:
    session = await require_session(request)
    return await report_form(request, session)


async def report_form(request: Request, session: Session, values: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None, status_code: int = 200, message: str = "") -> Response:
    web = await get_web(request)
    if session.actor.role != Role.TEAM:
        raise ApiError(403, "forbidden", "只有督查督导组成员可以上报问题")
    token = session.token
    contents, rounds, team = await asyncio.gather(
        backend.optional(backend.all_items(web.services, "intake", "/v1/contents", token, status="approved"), []),
        backend.rounds(web.services, token),
        backend.optional(web.services.get("intake", f"/v1/teams/{session.actor.team_id}", token), {}),
    )
    round_ids = {team.get("round_id")} if team.get("round_id") else {rd["id"] for rd in rounds}
    contents = [c for c in contents if c.get("round_id") in round_ids]
    unit_names = {u["id"]: u.get("name", u["id"]) for u in await backend.units(web.services, token)}
    team_units = team.get("unit_ids") or sorted({u for c in contents for u in c.get("unit_ids") or []})
    categories: list[str] = []
    for rd in rounds:
        if rd["id"] in round_ids:
            categories.extend(c for c in rd.get("focus_areas") or [] if c not in categories)
    return await render(
        request, "report.html", session, "report", contents=contents,
        units=[(u, unit_names.get(u, u)) for u in team_units], categories=categories,
        values=values or {"found_on": web.today().isoformat()}, errors=errors or {},
        severities=SEVERITY_ZH, today=web.today().isoformat(), status_code=status_code, flash=message or None,
        flash_kind="err" if message else None)


REPORT_FIELDS = ("content_id", "unit_id", "title", "description", "category", "severity", "location",
                 "found_on", "found_by", "suggested_deadline_days")
REPORT_REQUIRED = {"content_id": "督查内容", "unit_id": "被督查单位", "title": "问题标题",
                   "description": "问题描述", "severity": "严重程度",
                   "found_on": "发现日期", "found_by": "发现方式"}


@r.post("/problems/new", include_in_schema=False)
async def report_problem(request: Request) -> Response:
    session = await require_session(request)
    form = await request.form()
    check_csrf(session, form)
    web = await get_web(request)
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in REPORT_FIELDS}
    values["publishable"] = form.get("publishable") == "on"
    if values["content_id"] and not values["category"]:  # the approved content's focus area, not asked twice
        content = await backend.optional(web.services.get("intake", f"/v1/contents/{values['content_id']}",
                                                          session.token), {})
        values["category"] = str((content or {}).get("focus_area") or "")
    errors = {k: f"{label}：此项必填" for k, label in REPORT_REQUIRED.items() if not values.get(k)}
    if errors:
        return await report_form(request, session, values, errors, 422, "请完善标注的内容")
    refs, too_big = await store_files(web, form.getlist("evidence"), owner_scope(session.actor))
    if too_big:
        return await report_form(request, session, values, {"evidence": too_big}, 422, too_big)
    body: dict[str, Any] = {k: v for k, v in values.items() if v not in ("", None)}
    body["publishable"] = values["publishable"]
    if body.get("suggested_deadline_days"):
        try:
            body["suggested_deadline_days"] = int(body["suggested_deadline_days"])
        except ValueError:
            pass
    body["evidence"] = refs
    try:
        out = await web.services.post("intake", "/v1/problems", session.token, body,
                                      idempotency_key=str(form.get("_idem") or "") or None)
    except ApiError as exc:
        if exc.status == 401:
            raise
        if exc.status == 422:
            return await report_form(request, session, values, field_errors(exc.fields), 422,
                                     error_text(422, exc.message))
        return await report_form(request, session, values, {}, exc.status, error_text(exc.status, exc.message))
    return redirect(f"/problems/{out['id']}?seq={out['sequence']}", "问题已上报")


@r.get("/problems/{problem_id}", include_in_schema=False)
async def problem_page(request: Request, problem_id: str, seq: int | None = None) -> Response:
    session = await require_session(request)
    return await show(request, session, problem_id, seq)


@r.post("/problems/{problem_id}/act/{key}", include_in_schema=False)
async def act(request: Request, problem_id: str, key: str) -> Response:
    session = await require_session(request)
    form = await request.form()
    check_csrf(session, form)
    web = await get_web(request)
    action = BY_KEY.get(key)
    if action is None:
        raise ApiError(404, "not_found", "没有这个操作")
    # The log sequence the page was shown at: the action depends on what the person saw, never on
    # how soon the services catch up with the write before it.
    raw_seq = str(form.get("_seq") or "")
    seen = int(raw_seq) if raw_seq.isdigit() else None
    view = await backend.problem(web.services, session.token, problem_id, seen)
    target = str(form.get("target") or "")
    values, errors = parse_form(action, form)
    if errors:
        return await show(request, session, problem_id, open_action=key, values=values, errors=errors,
                          status_code=422, flash="请完善标注的内容", flash_kind="err")
    refs: list[dict[str, str]] = []
    files_field: F | None = next((f for f in action.fields if f.kind == "files"), None)
    if files_field is not None:
        refs, too_big = await store_files(web, form.getlist(files_field.name), owner_scope(session.actor))
        if too_big:
            return await show(request, session, problem_id, open_action=key, values=values,
                              errors={files_field.name: too_big}, status_code=422, flash=too_big, flash_kind="err")
        if files_field.required and not refs:
            return await show(request, session, problem_id, open_action=key, values=values,
                              errors={files_field.name: f"{files_field.label}：请上传至少一个文件"},
                              status_code=422, flash="请上传佐证材料", flash_kind="err")
        values[files_field.name] = refs
    body = to_body(action, values, view)
    path = action.path.format(id=problem_id, target=target)
    try:
        out = await web.services.post(action.service, path, session.token, body,
                                      idempotency_key=str(form.get("_idem") or "") or None, min_sequence=seen)
    except ApiError as exc:
        if exc.status == 401:
            raise
        if exc.status == 422:
            errs = field_errors(exc.fields) or {"_": error_text(422, exc.message)}
            return await show(request, session, problem_id, open_action=key, values=values, errors=errs,
                              status_code=422, flash=error_text(422, exc.message), flash_kind="err")
        return redirect(f"/problems/{problem_id}", error_text(exc.status, exc.message), "err")
    seq = out.get("sequence") if isinstance(out, dict) else None
    web.queues.forget(session.actor)
    return redirect(f"/problems/{problem_id}" + (f"?seq={seq}" if seq else ""), action.done)


async def notice_of(request: Request, problem_id: str) -> Notice:
    """The problem's 交办单 from its events, for whoever may see the problem (404 otherwise)."""
    session = await require_session(request)
    web = await get_web(request)
    view = await backend.problem(web.services, session.token, problem_id)
    unit_id = str(view.intake.get("unit_id", ""))
    entries = await backend.audit_timeline(web.services, session.token, session.actor, web.kernel,
                                           web.settings.audit_url or web.settings.intake_url, problem_id, unit_id)
    if entries is None:
        raise ApiError(503, "unavailable", "交办单由问题的完整记录生成，当前无法读取该记录，请稍后再试")
    rect = view.rect or {}
    names = {"unit": str(rect.get("unit_name") or unit_id), "team": str(rect.get("team_name") or "督查组"),
             "round": str(rect.get("round_name") or "本轮督查")}
    notice = from_events(entries, problem_id, names, f"{web.settings.city}常态化大督查领导小组办公室")
    if notice is None:
        raise ApiError(404, "not_found", "该问题尚未交办，没有交办单")
    return notice


@r.get("/problems/{problem_id}/notice", include_in_schema=False)
async def notice_page(request: Request, problem_id: str) -> Response:
    """督办通知书, printable (its own page: print it, or save it as PDF from the browser)."""
    return HTMLResponse(render_notice_html(await notice_of(request, problem_id)))


@r.get("/problems/{problem_id}/notice.docx", include_in_schema=False)
async def notice_docx(request: Request, problem_id: str) -> Response:
    n = await notice_of(request, problem_id)
    body = await asyncio.to_thread(render_notice_docx, n)
    name = f"督办通知书-{n.number}.docx"
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    headers={"Content-Disposition": f"attachment; filename=\"notice-{n.number}.docx\"; "
                                                    f"filename*=UTF-8''{quote(name)}"})
