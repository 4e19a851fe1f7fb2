"""Fast tests of the backend-for-frontend: the workbench app in-process, the four services replaced
by a fake behind httpx.MockTransport (no NATS, no browser)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ducha.figures import summarize
from ducha.kernel.identity import TokenVerifier, ensure_local_keys
from ducha_web.app import create_web_app
from ducha_web.session import COOKIE
from ducha_web.settings import load_settings
from fastapi.testclient import TestClient

PID = "a" * 32
SHA_OK = "1" * 64


class Fake:
    """Answers like the services; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self.ledger_items = [self.row(i) for i in range(7)]

    @staticmethod
    def row(i: int) -> dict[str, Any]:
        return {"problem_id": f"{i:032x}", "title": f"问题{i}", "category": "招商引资", "severity": "general",
                "unit_id": "D01", "unit_name": "城关区人民政府", "team_id": "t1", "team_name": "第一督查督导组",
                "round_id": "r2", "round_name": "2026年第二轮常态化大督查", "responsible_person": "马强",
                "status": "rectifying", "deadline": "2026-12-01", "commit_deadline_by": None, "max_deadline": None,
                "light": "red" if i % 2 else "green", "days_left": -2 if i % 2 else 5, "overdue_days": 0,
                "progress": 40, "plan": "", "submission_no": 0, "postponements": 0, "deadline_changes": 1,
                "reopen_count": 0, "rebound_count": 0, "last_reopen_cause": None, "last_rejection_reasons": [],
                "commitment_missed": False, "pending_extension_id": None, "open_reminders": 0,
                "dispatch_count": 0, "ledger_no": None, "updated_at": "2026-11-20T10:00:00Z"}

    def on(self, service_port: int, path: str, fn: Callable[[httpx.Request], httpx.Response]) -> None:
        self.routes[(str(service_port), path)] = fn

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (str(request.url.port), request.url.path)
        if key in self.routes:
            return self.routes[key](request)
        port, path = key
        if path == "/openapi.json" and port == "8102":
            params = [{"name": n, "in": "query"} for n in
                      ("unit_id", "team_id", "round_id", "status", "light", "severity", "q", "limit", "offset")]
            return httpx.Response(200, json={"paths": {"/v1/ledger": {"get": {"parameters": params}}}})
        if path == "/v1/ledger":
            q = request.url.params
            items = [r for r in self.ledger_items if not q.get("light") or r["light"] == q["light"]]
            off, lim = int(q.get("offset", 0)), int(q.get("limit", 50))
            return httpx.Response(200, json={"items": items[off:off + lim], "total": len(items), "limit": lim,
                                             "offset": off, "today": "2026-11-27"})
        if path == "/v1/rounds":
            return httpx.Response(200, json={"items": [{"id": "r2", "name": "2026年第二轮常态化大督查", "number": 2,
                                                        "status": "open", "focus_areas": ["招商引资"]}],
                                             "total": 1, "limit": 500, "offset": 0})
        if path == f"/v1/problems/{PID}" and port == "8101":
            return httpx.Response(200, json={"id": PID, "title": "道路改造滞后", "unit_id": "D01", "team_id": "t1",
                                             "status": "fed_back", "severity": "general", "category": "招商引资",
                                             "evidence": [{"ref": f"sha256:{SHA_OK}", "name": "现场.png"}]})
        if path == f"/v1/problems/{PID}" and port == "8102":
            return httpx.Response(200, json={**self.row(1), "problem_id": PID, "status": "awaiting_commitment",
                                             "deadline": None, "timeline": [], "helps": [], "reminders": [],
                                             "extensions": []})
        if path.startswith("/v1/problems/") and request.method == "GET":
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no problem"}})
        if path.startswith("/v1/") and request.method == "GET":
            return httpx.Response(200, json={"items": [], "total": 0, "limit": 50, "offset": 0})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no route"}})


@pytest.fixture
def fake() -> Fake:
    return Fake()


@pytest.fixture
def client(fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("DUCHA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DUCHA_WEB_AUTH", "demo")
    for name in ("INTAKE", "RECTIFICATION", "VERIFICATION", "NOTIFY"):
        monkeypatch.delenv(f"DUCHA_{name}_URL", raising=False)
        monkeypatch.delenv(f"DUCHA_{name}_PORT", raising=False)
    from ducha_web import backend

    backend._CAPS.clear()
    app = create_web_app(load_settings(), transport=httpx.MockTransport(fake))
    with TestClient(app) as c:
        yield c


def sign_in(client: TestClient, account: str = "P0001") -> None:
    resp = client.post("/login", data={"account": account}, follow_redirects=False)
    assert resp.status_code == 303, resp.text


def csrf(html: str) -> str:
    m = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert m, "no csrf field"
    return m.group(1)


def test_sign_in_sets_a_signed_httponly_cookie_with_a_token_from_the_local_issuer(
        client: TestClient, fake: Fake, tmp_path: Path) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and "督查工作台" in page.text
    assert 'data-account="P1D01"' in page.text  # demo accounts, even with intake unreachable
    resp = client.post("/login", data={"account": "P1D01", "next": "//evil.example/x"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/unit"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    client.get("/unit")
    sent = [r for r in fake.requests if r.url.path == "/v1/ledger"][-1]
    token = sent.headers["authorization"].removeprefix("Bearer ")
    actor = TokenVerifier(ensure_local_keys(tmp_path / "keys").public_pem).verify(token)
    assert (actor.role.value, actor.unit_id, actor.id) == ("unit", "D01", "P1D01")


def test_a_tampered_or_missing_cookie_sends_to_sign_in(client: TestClient) -> None:
    resp = client.get("/ledger?light=red", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=/ledger")
    client.cookies.set(COOKIE, "forged.value.here")
    assert client.get("/dashboard", follow_redirects=False).headers["location"].startswith("/login")


def test_ledger_pages_and_filters_on_the_server(client: TestClient, fake: Fake) -> None:
    sign_in(client)
    page = client.get("/ledger?light=red&category=招商引资&page=2")
    assert page.status_code == 200
    call = [r for r in fake.requests if r.url.path == "/v1/ledger" and r.url.params.get("offset") == "50"][-1]
    assert call.url.params["light"] == "red"
    assert "category" not in call.url.params  # the service cannot filter by it: not sent, and said so
    assert "已忽略该条件" in page.text


def test_export_has_exactly_the_rows_shown(client: TestClient) -> None:
    sign_in(client)
    shown = client.get("/ledger?light=red").text.count('<tr data-problem=')
    resp = client.get("/ledger.xlsx?light=red")
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(resp.content)).active.iter_rows(min_row=4, values_only=True))
    assert len(rows) == shown == 3 and all(r[0] == "红灯" for r in rows)


def test_export_writes_formula_like_text_as_text(client: TestClient, fake: Fake) -> None:
    sign_in(client)
    fake.ledger_items[0]["title"] = '=HYPERLINK("http://x","y")'
    fake.ledger_items[0]["responsible_person"] = "+86 123"
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(client.get("/ledger.xlsx").content)).active
    values = [c for row in ws.iter_rows(min_row=4) for c in row]
    assert not any(c.data_type == "f" for c in values)
    texts = {c.value for c in values}
    assert """'=HYPERLINK("http://x","y")""" in texts and "'+86 123" in texts


def test_a_422_field_becomes_a_chinese_message_under_that_field(client: TestClient, fake: Fake) -> None:
    sign_in(client, "P1D01")
    fake.on(8102, f"/v1/problems/{PID}/deadline", lambda r: httpx.Response(422, json={"error": {
        "code": "invalid", "message": "deadline 2028-01-01 is beyond the latest allowed deadline 2027-02-25",
        "field": "deadline", "details": []}}))
    page = client.get(f"/problems/{PID}")
    assert 'data-action="deadline"' in page.text and 'data-action="review"' not in page.text
    resp = client.post(f"/problems/{PID}/act/deadline",
                       data={"_csrf": csrf(page.text), "deadline": "2028-01-01", "plan": "专班推进"})
    assert resp.status_code == 422
    assert "整改时限：超过允许的最迟整改时限 2027-02-25" in resp.text
    sent = json.loads([r for r in fake.requests if r.url.path.endswith("/deadline")][-1].content)
    assert sent == {"deadline": "2028-01-01", "plan": "专班推进"}


def test_required_fields_are_checked_before_calling_the_service(client: TestClient, fake: Fake) -> None:
    sign_in(client, "P1D01")
    page = client.get(f"/problems/{PID}")
    resp = client.post(f"/problems/{PID}/act/deadline", data={"_csrf": csrf(page.text)})
    assert resp.status_code == 422 and "整改时限：此项必填" in resp.text
    assert not [r for r in fake.requests if r.url.path.endswith("/deadline")]


def test_forms_need_the_session_csrf_token(client: TestClient, fake: Fake) -> None:
    sign_in(client, "P1D01")
    resp = client.post(f"/problems/{PID}/act/deadline", data={"deadline": "2026-12-20", "plan": "x"})
    assert resp.status_code == 403
    assert not [r for r in fake.requests if r.method == "POST"]


def test_another_units_problem_is_not_found(client: TestClient) -> None:
    sign_in(client, "P1D02")
    resp = client.get("/problems/" + "b" * 32)
    assert resp.status_code == 404 and "未找到" in resp.text


def test_an_expired_token_signs_out(client: TestClient, fake: Fake) -> None:
    sign_in(client)
    fake.on(8102, "/v1/ledger", lambda r: httpx.Response(401, json={"error": {"code": "unauthorized",
                                                                               "message": "expired"}}))
    resp = client.get("/ledger", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


def test_evidence_only_through_a_problem_that_refers_to_it(client: TestClient, tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "evidence").mkdir(exist_ok=True)
    sign_in(client, "P1D01")
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(buf, "PNG")
    data = buf.getvalue()
    import asyncio

    from ducha_web.evidence import LocalEvidenceStore

    store = LocalEvidenceStore(tmp_path / "evidence")
    stored = asyncio.run(store.put(data, "现场.png", "image/png", "unit:D01"))
    other = asyncio.run(store.put(b"secret", "其他.txt", "text/plain", "unit:D01"))
    foreign = asyncio.run(store.put(b"another unit's file", "D02.txt", "text/plain", "unit:D02"))
    # the fake problem refers to SHA_OK only: put the photo under that name by patching the refs
    import ducha_web.timeline as tl

    original = tl.evidence_refs
    tl.evidence_refs = lambda view: {stored.sha256, foreign.sha256}  # type: ignore[assignment]
    import ducha_web.pages.evidence as ev

    ev.evidence_refs = tl.evidence_refs
    try:
        ok = client.get(f"/evidence/{stored.sha256}?problem={PID}")
        assert ok.status_code == 200 and ok.content == data and ok.headers["content-type"] == "image/png"
        thumb = client.get(f"/evidence/{stored.sha256}/thumb?problem={PID}")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(thumb.content)).size[0] <= 320
        assert client.get(f"/evidence/{other.sha256}?problem={PID}").status_code == 404  # not this problem's
        assert client.get(f"/evidence/{stored.sha256}?problem={'b' * 32}").status_code == 404  # not visible
        assert client.get(f"/evidence/{stored.sha256}").status_code == 404  # no problem named
        # another unit's file attached to this (D01's) problem by someone who knew its hash: not served
        assert client.get(f"/evidence/{foreign.sha256}?problem={PID}").status_code == 404
        assert client.get(f"/evidence/{foreign.sha256}/thumb?problem={PID}").status_code == 404
    finally:
        tl.evidence_refs = original
        ev.evidence_refs = original


def test_content_addressed_store_writes_once(tmp_path: Path) -> None:
    import asyncio
    import hashlib

    from ducha_web.evidence import LocalEvidenceStore, parse_ref

    store = LocalEvidenceStore(tmp_path)
    a = asyncio.run(store.put(b"same bytes", "a.pdf", "application/pdf", "unit:U1"))
    b = asyncio.run(store.put(b"same bytes", "b.pdf", "application/pdf", "team:T1"))
    assert a.sha256 == b.sha256 == hashlib.sha256(b"same bytes").hexdigest()
    assert a.ref == f"sha256:{a.sha256}" and parse_ref(a.ref) == a.sha256 and parse_ref("sha256:../x") is None
    assert len([p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ""]) == 1
    assert asyncio.run(store.get("../../etc/passwd")) is None
    assert asyncio.run(store.owners(a.sha256)) == {"unit:U1", "team:T1"}  # both uploaders own it


def test_public_bulletins_need_no_sign_in(client: TestClient, fake: Fake) -> None:
    fake.on(8104, "/v1/public/bulletins", lambda r: httpx.Response(200, json=[
        {"id": "b1", "number": 3, "issued_on": "2026-11-20", "title": "关于第二轮督查整改情况的通报"}]))
    fake.on(8104, "/v1/public/bulletins/b1", lambda r: httpx.Response(
        200, text="<html><body><h1>关于第二轮督查整改情况的通报</h1><script>alert(1)</script></body></html>",
        headers={"content-type": "text/html; charset=utf-8"}))
    page = client.get("/public/bulletins")
    assert page.status_code == 200 and "关于第二轮督查整改情况的通报" in page.text and "第 3 期" in page.text
    one = client.get("/public/bulletins/b1")
    assert one.status_code == 200
    assert '<iframe title="通报" data-testid="bulletin" sandbox srcdoc="&lt;html&gt;' in one.text  # escaped, sandboxed
    assert "<script>alert(1)</script>" not in one.text
    assert not any("authorization" in r.headers for r in fake.requests if r.url.path.startswith("/v1/public"))


def test_oidc_settings_are_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUCHA_WEB_AUTH", "oidc")
    with pytest.raises(SystemExit) as exc:
        load_settings()
    assert "DUCHA_WEB_OIDC_ISSUER" in str(exc.value)
    monkeypatch.setenv("DUCHA_WEB_OIDC_ISSUER", "https://sso.example/realms/city")
    monkeypatch.setenv("DUCHA_WEB_OIDC_CLIENT_ID", "ducha-web")
    monkeypatch.setenv("DUCHA_WEB_OIDC_REDIRECT_URI", "https://ducha.example/auth/callback")
    assert load_settings().auth == "oidc"


def test_oidc_claims_map_to_a_ducha_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    from ducha_web.auth import Oidc

    monkeypatch.setenv("DUCHA_WEB_AUTH", "oidc")
    monkeypatch.setenv("DUCHA_WEB_OIDC_ISSUER", "https://sso.example")
    monkeypatch.setenv("DUCHA_WEB_OIDC_CLIENT_ID", "c")
    monkeypatch.setenv("DUCHA_WEB_OIDC_REDIRECT_URI", "https://w/auth/callback")
    oidc = Oidc(load_settings(), httpx.AsyncClient())
    actor = oidc.actor_from_claims({"sub": "u-1", "name": "马强", "ducha_role": "unit", "ducha_unit": "D01"})
    assert (actor.role.value, actor.unit_id, actor.name) == ("unit", "D01", "马强")
    with pytest.raises(PermissionError):
        oidc.actor_from_claims({"sub": "u-2", "ducha_role": "system"})


def test_the_timeline_comes_from_the_audit_api(client: TestClient, fake: Fake) -> None:
    events = [{"sequence": 5, "occurred_at": "2026-11-20T02:00:00+00:00", "event_type": "IssueReported",
               "actor": {"id": "P0102", "name": "张敏", "role": "team"}, "reasons": [], "evidence": [],
               "changes": {"title": "道路改造滞后", "category": "招商引资"}},
              {"sequence": 9, "occurred_at": "2026-11-21T02:00:00+00:00", "event_type": "RectificationRejected",
               "actor": {"id": "P0102", "name": "张敏", "role": "team"}, "reasons": ["缺少对比照片"],
               "evidence": [], "changes": {"submission_no": 1}}]
    fake.on(8105, f"/v1/audit/problems/{PID}/timeline",
            lambda r: httpx.Response(200, json={"problem_id": PID, "unit_id": r.url.params["unit"], "events": events}))
    sign_in(client, "P1D01")
    page = client.get(f"/problems/{PID}")
    assert 'data-event="RectificationRejected"' in page.text and "理由：缺少对比照片" in page.text
    assert "2026-11-21 10:00" in page.text  # the city's time
    call = [r for r in fake.requests if r.url.path.endswith("/timeline")][-1]
    assert call.url.params["unit"] == "D01" and call.headers["authorization"].startswith("Bearer ")


def test_remind_a_selection_sends_one_reminder_per_problem_and_reports_failures(
        client: TestClient, fake: Fake) -> None:
    sign_in(client)
    page = client.get("/ledger")
    assert 'data-testid="remind-selected"' in page.text and 'form="remind-form"' in page.text
    first, second = fake.row(0)["problem_id"], fake.row(1)["problem_id"]
    fake.on(8102, f"/v1/problems/{first}/reminders", lambda r: httpx.Response(201, json={"id": "m1", "sequence": 9}))
    fake.on(8102, f"/v1/problems/{second}/reminders",
            lambda r: httpx.Response(409, json={"error": {"code": "conflict", "message": "problem is written off"}}))
    resp = client.post("/ledger/remind", data={"_csrf": csrf(page.text), "_idem": "k1", "problem": [first, second],
                                               "text": "请加快进度", "back": "/ledger?light=red"},
                       follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/ledger?light=red")
    sent = [r for r in fake.requests if r.url.path.endswith("/reminders") and r.method == "POST"]
    assert {r.url.path.split("/")[3] for r in sent} == {first, second}
    assert all(json.loads(r.content) == {"kind": "reminder", "text": "请加快进度"} for r in sent)
    flash = client.get(resp.headers["location"]).text
    assert "已催办 1 项；1 项未能催办" in flash


def test_an_imported_sheet_shows_intakes_report_row_by_row(client: TestClient, fake: Fake) -> None:
    sign_in(client)
    page = client.get("/import")
    assert page.status_code == 200 and '<option value="units"' in page.text
    assert '<option value="problems"' not in page.text  # the office imports the directory, teams their problems
    report = {"total": 2, "accepted": 1, "rejected": 1, "sequence": 5, "rows": [
        {"row": 2, "status": "accepted", "id": "U009"},
        {"row": 3, "status": "rejected", "reason": "类型：须为 区县/部门/企业", "field": "kind"}]}
    fake.on(8101, "/v1/units/import", lambda r: httpx.Response(200, json=report))
    resp = client.post("/import", data={"_csrf": csrf(page.text), "kind": "units"},
                       files={"file": ("单位.csv", "单位编码,单位名称,类型\nU009,新区,区县\n".encode(), "text/csv")})
    assert resp.status_code == 200
    sent = [r for r in fake.requests if r.url.path == "/v1/units/import"][-1]
    assert b"U009" in sent.content and sent.headers["content-type"].startswith("multipart/form-data")
    assert 'data-status="rejected"' in resp.text and "须为 区县/部门/企业" in resp.text
    assert "导入 1 行，1 行未导入" in resp.text


def test_every_page_forbids_framing_and_sniffing(client: TestClient) -> None:
    pages = [client.get("/login"), client.get("/public/bulletins"), client.get("/no-such-page")]
    sign_in(client, "P1D01")
    pages.append(client.get(f"/problems/{PID}"))
    for resp in pages:
        csp = resp.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, resp.url
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"


def test_back_after_an_action_stays_on_this_site(client: TestClient, fake: Fake) -> None:
    sign_in(client, "P1D01")
    token = csrf(client.get(f"/problems/{PID}").text)
    fake.on(8101, "/v1/suggestions/s1/handle", lambda r: httpx.Response(200, json={"id": "s1", "sequence": 9}))
    for back, lands in (("https://evil.example/x", "/dashboard"), ("//evil.example", "/dashboard"),
                        ("/\t/evil.example", "/dashboard"), ("/\\evil.example", "/dashboard"),
                        ("/ledger?light=red", "/ledger?light=red")):
        resp = client.post("/suggestions/s1/handle", data={"_csrf": token, "decision": "adopted", "back": back},
                           follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == lands, back


def test_uploaded_svg_or_html_is_downloaded_never_rendered() -> None:
    from ducha_web.pages.evidence import served_as

    assert served_as("image/png") == ("image/png", "inline")
    assert served_as("application/pdf") == ("application/pdf", "inline")
    assert served_as("image/svg+xml") == ("application/octet-stream", "attachment")
    assert served_as("text/html; charset=utf-8") == ("application/octet-stream", "attachment")
    assert served_as("application/vnd.openxmlformats-officedocument.wordprocessingml.document")[1] == "attachment"
    assert served_as("") == ("application/octet-stream", "attachment")


def test_the_workbench_refuses_to_start_without_a_sign_in_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUCHA_WEB_AUTH", raising=False)
    with pytest.raises(SystemExit) as exc:
        load_settings()
    message = str(exc.value)
    assert "DUCHA_WEB_AUTH=oidc" in message and "\n" not in message
    with pytest.raises(SystemExit):
        create_web_app()


def test_production_refuses_demo_sign_in_and_local_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DUCHA_PRODUCTION", "true")
    monkeypatch.setenv("DUCHA_WEB_AUTH", "demo")
    with pytest.raises(SystemExit) as exc:
        load_settings()
    for name in ("DUCHA_WEB_AUTH must be oidc", "DUCHA_WEB_SESSION_SECRET", "DUCHA_WEB_ISSUER_KEY_FILE",
                 "DUCHA_WEB_COOKIE_SECURE"):
        assert name in str(exc.value)
    for name, value in {"DUCHA_WEB_AUTH": "oidc", "DUCHA_WEB_OIDC_ISSUER": "https://sso.example",
                        "DUCHA_WEB_OIDC_CLIENT_ID": "c", "DUCHA_WEB_OIDC_REDIRECT_URI": "https://w/auth/callback",
                        "DUCHA_WEB_SESSION_SECRET": "s" * 32, "DUCHA_WEB_ISSUER_KEY_FILE": str(tmp_path / "k.pem"),
                        "DUCHA_WEB_COOKIE_SECURE": "true"}.items():
        monkeypatch.setenv(name, value)
    assert load_settings().production


def test_a_service_in_production_refuses_local_keys_and_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    from ducha.kernel.config import ConfigError, ServiceSettings

    monkeypatch.setenv("DUCHA_PRODUCTION", "true")
    monkeypatch.delenv("DUCHA_DATABASE_URL", raising=False)
    monkeypatch.delenv("DUCHA_JWT_PUBLIC_KEY_FILE", raising=False)
    with pytest.raises(ConfigError) as exc:
        ServiceSettings.for_service("intake", 8101)
    assert "DUCHA_JWT_PUBLIC_KEY_FILE" in str(exc.value) and "postgresql" in str(exc.value)
    assert "DUCHA_METRICS_TOKEN" in str(exc.value)
    ok = ServiceSettings.for_service("intake", 8101, jwt_public_key_file="/run/secrets/k",
                                     database_url="postgresql+psycopg://u@db/ducha", metrics_token="t" * 16)
    assert ok.production


def test_a_large_export_reads_the_ledger_page_by_page_with_cursors_and_streams_the_file(
        client: TestClient, fake: Fake) -> None:
    """1,234 rows in pages of at most 500, each page asked by the previous page's `next_cursor`."""
    fake.ledger_items = [fake.row(i) for i in range(1234)]

    def by_cursor(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        start = int(q.get("cursor", "c0")[1:])
        lim = int(q.get("limit", 50))
        items = fake.ledger_items[start:start + lim]
        more = start + lim < len(fake.ledger_items)
        return httpx.Response(200, json={"items": items, "total": len(fake.ledger_items), "limit": lim,
                                         "next_cursor": f"c{start + lim}" if more else None})

    fake.on(8102, "/v1/ledger", by_cursor)
    sign_in(client)
    with client.stream("GET", "/ledger.xlsx") as resp:
        assert resp.status_code == 200 and int(resp.headers["content-length"]) > 0
        body = b"".join(resp.iter_bytes())
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(min_row=4, values_only=True))
    assert [r[2] for r in rows] == [f"问题{i}" for i in range(1234)]
    calls = [r for r in fake.requests if r.url.path == "/v1/ledger"]
    assert [c.url.params.get("cursor") for c in calls[-3:]] == [None, "c500", "c1000"]
    assert all(int(c.url.params["limit"]) <= 500 for c in calls)


def test_the_dashboard_asks_verification_for_its_figures_with_each_readers_token(client: TestClient,
                                                                                 fake: Fake) -> None:
    """One call (`/v1/figures`, kept incrementally by verification) per load, never a cache shared
    between readers; a verification without it is asked the old way."""
    answers = {"P0001": 17, "P0003": 3}  # the office, cadre supervision

    def figures(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        claims = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "==="))
        red = answers[claims["sub"]]
        return httpx.Response(200, json={"round_id": "r2", "today": "2026-11-27",
                                         "total": {**summarize([]), "fed_back": 40},
                                         "ranking": [], "teams": [], "lights": {"red": red, "yellow": 1, "green": 2}})

    fake.on(8103, "/v1/figures", figures)
    for account, red in answers.items():
        client.cookies.clear()
        sign_in(client, account)
        for _ in range(2):
            page = client.get("/dashboard")
            assert page.status_code == 200 and f'data-testid="kpi-red">{red}<' in page.text
    assert len([r for r in fake.requests if r.url.path == "/v1/figures"]) == 4
    assert not [r for r in fake.requests if r.url.path in ("/v1/ranking", "/v1/stats")]

    del fake.routes[("8103", "/v1/figures")]
    fake.on(8103, "/v1/figures", lambda r: httpx.Response(404, json={"error": {"code": "not_found", "message": "no route"}}))
    assert client.get("/dashboard").status_code == 200
    assert [r for r in fake.requests if r.url.path == "/v1/ranking"]


def test_ledger_pages_follow_the_services_cursors(client: TestClient, fake: Fake) -> None:
    fake.ledger_items = [fake.row(i) for i in range(120)]

    def by_cursor(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        start = int(q.get("cursor", "c0")[1:])
        lim = int(q.get("limit", 50))
        return httpx.Response(200, json={
            "items": fake.ledger_items[start:start + lim], "total": len(fake.ledger_items), "limit": lim,
            "next_cursor": f"c{start + lim}" if start + lim < len(fake.ledger_items) else None,
            "prev_cursor": f"c{max(0, start - lim)}" if start else None})

    fake.on(8102, "/v1/ledger", by_cursor)
    sign_in(client)
    first = client.get("/ledger").text
    nxt = re.search(r'href="([^"]+)" data-testid="next-page"', first)
    assert nxt and "prev-page" not in first
    second = client.get(nxt.group(1).replace("&amp;", "&")).text
    assert "第 2 / 3 页" in second and "问题50" in second and "问题49<" not in second
    prev = re.search(r'href="([^"]+)" data-testid="prev-page"', second)
    assert prev and "cursor=c0" in prev.group(1)
    assert [r.url.params.get("cursor") for r in fake.requests if r.url.path == "/v1/ledger"][-1] == "c50"
