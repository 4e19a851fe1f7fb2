"""Browser tests: headless Debian Chromium driven by Playwright against the whole running system.

Each role signs in through the sign-in page; the life of one problem is walked through the pages
(report with a photo → feed back → commit a deadline, with validation messages → progress →
submit with evidence → rejected with reasons → submit again → accepted → written off → revisited);
a unit cannot reach another unit's problem or its files by URL; screenshots of the main pages go to
test-output/screenshots/.

Needs /usr/bin/chromium (Debian packages `chromium` and `fonts-noto-cjk` for Chinese glyphs) and
the PyPI package `playwright` (its own browser download is not used)."""

from __future__ import annotations

import io
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, SCREENSHOTS, System

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="no /usr/bin/chromium: apt-get install chromium fonts-noto-cjk to run the browser tests"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="PyPI package playwright is not installed")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class User:
    """One person's browser session."""

    def __init__(self, browser: Any, system: System, account: str) -> None:
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN",
                                       accept_downloads=True)
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(60_000)  # a loaded CI machine: wait longer, never sleep
        self.base = system.web
        self.page.goto(self.base + "/login")
        self.page.click(f'button[data-account="{account}"]')
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, self.page.content()[:2000]

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def go_until(self, path: str, ready: Callable[[Any], bool], seconds: float = 30.0) -> Any:
        """A person who signs in fresh holds no log sequence to wait for, and another service's
        projection catches up on its own time: look again, as they would, until the page shows it."""
        deadline = time.monotonic() + seconds
        page = self.go(path)
        while not ready(page) and time.monotonic() < deadline:
            page.wait_for_timeout(250)
            page = self.go(path)
        return page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def act(self, action: str, fill: dict[str, str] | None = None, select: dict[str, str] | None = None,
            files: dict[str, list[Path]] | None = None) -> None:
        box = self.page.locator(f'details[data-action="{action}"]')
        assert box.count() == 1, f"action {action} not offered; offered: {self.actions()}"
        if box.get_attribute("open") is None:
            box.locator("summary").click()
        for name, value in (select or {}).items():
            box.locator(f'select[name="{name}"]').select_option(value)
        for name, value in (fill or {}).items():
            box.locator(f'[name="{name}"]').fill(value)
        for name, paths in (files or {}).items():
            box.locator(f'input[name="{name}"]').set_input_files([str(p) for p in paths])
        box.locator('button[type="submit"]').click()
        self.page.wait_for_load_state()

    def actions(self) -> list[str]:
        return [el.get_attribute("data-action") for el in self.page.locator("details[data-action]").all()]

    def flash(self) -> str:
        loc = self.page.locator(".flash")
        return loc.first.inner_text() if loc.count() else ""

    def close(self) -> None:
        self.ctx.close()


def photo(tmp: Path, name: str, color: tuple[int, int, int]) -> Path:
    from PIL import Image

    path = tmp / name
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def test_sign_in_as_each_role_and_main_pages(browser: Any, system: System) -> None:
    for account, home, text in [("P0001", "/dashboard", "领导小组办公室工作台"), ("P0101", "/dashboard", "工作台"),
                                ("P1D01", "/unit", "整改工作"), ("P2H01", "/helper", "帮扶事项"),
                                ("P0003", "/dashboard", "干部监督工作台")]:
        u = User(browser, system, account)
        assert u.page.url.endswith(home), (account, u.page.url)
        assert text in u.page.inner_text("main")
        u.shot(f"home-{account}")
        if account == "P0101":
            assert "第一督查督导组" in u.page.inner_text("h1")
            assert "report" in [el.get_attribute("data-nav") for el in u.page.locator("[data-nav]").all()]
        if account == "P0003":  # cadre supervision: sees every problem and may record accountability
            ledger = u.go("/ledger?status=rectifying")
            ledger.locator('[data-testid="ledger-table"] tbody tr[data-problem] a').first.click()
            ledger.wait_for_load_state()
            assert "decision" in u.actions() and "review" not in u.actions()
            u.shot("problem-cadre")
        if account == "P1D01":
            assert "bulletins" not in [el.get_attribute("data-nav") for el in u.page.locator("[data-nav]").all()]
        if account == "P0001":
            assert int(u.page.inner_text('[data-testid="kpi-red"]')) > 0  # the demo's past weeks: red lights
            u.shot("dashboard")
            if "DUCHA_UPDATE_README_SCREENSHOT" in __import__("os").environ:
                u.page.screenshot(path=str(REPO / "docs" / "workbench-dashboard.png"), full_page=True)
            ledger = u.go("/ledger")
            assert ledger.locator('[data-testid="ledger-table"] tbody tr[data-problem]').count() > 0
            u.shot("ledger")
            ledger.select_option('select[name="light"]', "yellow")
            ledger.click('form[data-testid="ledger-filters"] button[type="submit"]')
            ledger.wait_for_load_state()
            for cell in ledger.locator('[data-testid="ledger-table"] tbody tr[data-problem] td[data-testid="light"]').all():
                assert "黄灯" in cell.inner_text()
            with ledger.expect_download() as dl:
                ledger.click('[data-testid="export"]')
            target = SCREENSHOTS.parent / "ledger-export.xlsx"
            target.parent.mkdir(parents=True, exist_ok=True)
            dl.value.save_as(str(target))
            from openpyxl import load_workbook

            rows = list(load_workbook(target).active.iter_rows(min_row=4, values_only=True))
            shown = ledger.locator('[data-testid="ledger-table"] tbody tr[data-problem]').count()
            assert len(rows) == shown, (len(rows), shown)
            assert all(r[0] == "黄灯" for r in rows)
        u.close()
    public = browser.new_page()
    public.goto(system.web + "/public/bulletins")
    assert "公开通报" in public.inner_text("main")
    public.close()


def test_the_life_of_a_problem_through_the_pages(browser: Any, system: System, tmp_path: Path) -> None:
    today = date.today()
    # ---- a team member reports a problem at 城关区 with a photo
    team = User(browser, system, "P0102")
    page = team.go("/problems/new")
    page.click('form[data-testid="report-form"] button[type="submit"]')  # empty: Chinese messages
    page.wait_for_load_state()
    assert "此项必填" in page.inner_text('[data-error="title"]')
    form = page.locator('form[data-testid="report-form"]')
    form.locator('select[name="content_id"]').select_option(index=1)
    form.locator('select[name="unit_id"]').select_option("D01")
    form.locator('[name="title"]').fill("浏览器测试：东关片区道路改造工程进度滞后")
    form.locator('[name="description"]').fill("道路改造工程计划9月完工，目前完成工程量不足一半。")
    category = form.locator('select[name="content_id"] option').nth(1).inner_text().split("（")[-1].rstrip("）")
    form.locator('select[name="category"]').select_option(category)
    form.locator('[name="location"]').fill("城关区东关片区")
    form.locator('input[name="evidence"]').set_input_files([str(photo(tmp_path, "现场照片.png", (178, 34, 34)))])
    form.locator('button[type="submit"]').click()
    page.wait_for_load_state()
    assert "问题已上报" in team.flash(), page.content()[:3000]
    problem_url = page.url.split("?")[0]
    pid = problem_url.rsplit("/", 1)[1]
    assert "feed_back" in team.actions() and "amend" in team.actions()
    number = page.inner_text('[data-testid="supervision-no"] b')
    assert re.fullmatch(r"\d{4}-\d+-\d{4}", number), number  # 督办编号, e.g. 2026-2-0041
    shas = [el.get_attribute("data-evidence") for el in page.locator("[data-evidence]").all()]
    assert shas, "the report's photo is shown"
    team.act("feed_back", fill={"responsible_person": "马强", "requirements": "立行立改，9月底前完成。"})
    assert "已交办" in team.flash()
    team.shot("problem-team")
    # the 交办单 / 督办通知书, printable and as Word, from the problem's events
    notice = team.page.request.get(f"{system.web}/problems/{pid}/notice")
    assert notice.status == 200 and f"督办编号：{number}" in notice.text() and "马强" in notice.text()
    docx = team.page.request.get(f"{system.web}/problems/{pid}/notice.docx")
    assert docx.status == 200 and docx.body()[:2] == b"PK"
    from ducha.officedoc import docx_text

    assert f"督办编号：{number}" in docx_text(docx.body()) and "督办通知书" in docx_text(docx.body())
    page = team.go(f"/ledger?q={number}")  # searchable by its 督办编号
    assert page.locator('[data-testid="ledger-table"] tbody tr[data-problem]').count() == 1
    assert page.locator(f'tr[data-problem="{pid}"]').count() == 1

    # ---- the unit commits a deadline: validation messages in Chinese
    unit = User(browser, system, "P1D01")
    page = unit.go("/unit")
    assert page.locator(f'[data-testid="to-commit"] a[href="/problems/{pid}"]').count() >= 1
    unit.go(f"/problems/{pid}")
    unit.act("deadline", fill={"plan": ""})
    assert "整改时限：此项必填" in page.inner_text('[data-error="deadline"]')
    latest = page.get_attribute('details[data-action="deadline"] input[name="deadline"]', "max")
    assert latest and latest > today.isoformat()  # the picker offers no date beyond the latest allowed
    page.evaluate("document.querySelector('details[data-action=\"deadline\"] input[name=\"deadline\"]')"
                  ".removeAttribute('max')")  # the service still refuses one
    too_late = (today + timedelta(days=400)).isoformat()
    unit.act("deadline", fill={"deadline": too_late, "plan": "成立专班，倒排工期"})
    assert "超过允许的最迟整改时限" in page.inner_text('[data-error="deadline"]'), page.inner_text("main")[:2000]
    deadline = (today + timedelta(days=20)).isoformat()
    unit.act("deadline", fill={"deadline": deadline, "plan": "成立专班，倒排工期，每周调度。"})
    assert "整改时限已设定" in unit.flash()
    assert deadline in page.inner_text('[data-testid="deadline"]')
    # ---- 督帮一体: the unit asks for help, the office assigns a helper department (no department is
    # preselected), the helper opens the problem from its list and reports what it did
    unit.act("help", fill={"difficulty": "资金需市级层面协调。"})
    assert "帮扶申请已提交" in unit.flash()
    office = User(browser, system, "P0001")
    page = office.go("/todo")  # 待办: the help request waits for the office, counted and listed
    assert int(page.inner_text('[data-queue="help"] .n')) >= 1
    assert int(page.inner_text('[data-testid="todo-total"] b')) >= 1
    page.click('[data-queue="help"]')
    page.wait_for_load_state()
    assert page.locator(f'tr[data-problem="{pid}"]').count() == 1
    office.go(f"/problems/{pid}")
    box = office.page.locator('details[data-action="assign"]')
    box.locator("summary").click()
    assert box.locator('select[name="helper"]').input_value() == ""
    office.act("assign", select={"helper": "H01|市财政局"}, fill={"note": "请协助协调资金。"})
    assert "已指派帮扶单位" in office.flash()
    office.close()
    helper = User(browser, system, "P2H01")
    home = helper.go_until("/helper", lambda p: int(p.inner_text('[data-queue="help_report"] .n')) >= 1)
    assert int(home.inner_text('[data-queue="help_report"] .n')) >= 1
    helper.page.locator(f'[data-testid="ledger-table"] a[href="/problems/{pid}"]').first.click()
    helper.page.wait_for_load_state()
    assert "浏览器测试" in helper.page.inner_text("h1"), helper.page.inner_text("main")[:500]
    helper.act("help_report", fill={"text": "已召开协调会，明确资金来源。"})
    assert "帮扶情况已报告" in helper.flash()
    assert "已召开协调会" in helper.page.inner_text('[data-testid="rectification"]')
    waiting = helper.go("/ledger?pending=help_report")  # reported: no longer waiting for the helper
    assert waiting.locator(f'tr[data-problem="{pid}"]').count() == 0
    helper.close()
    page = unit.go(f"/problems/{pid}")
    unit.act("progress", fill={"percent": "60", "text": "主体工程已完成六成。"},
             files={"evidence": [photo(tmp_path, "施工进度.png", (31, 78, 121))]})
    assert "整改进展已报告" in unit.flash()
    unit.act("submit", fill={"description": "已完成整改。"})  # no evidence: refused with a message
    assert "至少" in page.inner_text('[data-error="evidence"]')
    unit.act("submit", fill={"description": "道路改造工程已全部完工并通车。"},
             files={"evidence": [photo(tmp_path, "完工照片.png", (46, 139, 87))]})
    assert "整改材料已提交" in unit.flash()
    unit.shot("problem-unit-submitted")

    # ---- the team rejects with reasons; the unit sees why; submits again; the team accepts
    page = team.go(f"/problems/{pid}")
    team.act("review", select={"outcome": "reject"}, fill={"reasons": "缺少整改前后对比照片"})
    assert "审核意见已提交" in team.flash()
    page = unit.go("/unit")
    assert "缺少整改前后对比照片" in page.inner_text('[data-testid="rejected"]')
    unit.shot("unit-view")
    unit.go(f"/problems/{pid}")
    unit.act("submit", fill={"description": "已补充整改前后对比照片。"},
             files={"evidence": [photo(tmp_path, "对比照片.png", (106, 61, 154))]})
    assert "整改材料已提交" in unit.flash()
    team.go(f"/problems/{pid}")
    team.act("review", select={"outcome": "accept"})  # accepting without an assessment: refused
    assert team.page.locator(".err").count() > 0
    team.act("review", select={"outcome": "accept", "effectiveness": "good"}, fill={"assessment": "整改到位，群众满意。"})
    assert "审核意见已提交" in team.flash()
    team.act("write_off")
    assert "已入账销号" in team.flash()
    team.act("revisit", select={"outcome": "held"}, fill={"findings": "回访未发现反弹。"})
    assert "回访已记录" in team.flash()
    page = team.page
    events = [el.get_attribute("data-event") for el in page.locator("[data-event]").all()]
    for needed in ("IssueReported", "IssueFedBack", "DeadlineSet", "ProgressReported", "RectificationSubmitted",
                   "RectificationRejected", "RectificationVerified", "ProblemWrittenOff", "RevisitRecorded"):
        assert needed in events, (needed, events)
    team.shot("problem-timeline")

    # ---- evidence: the unit can open its photo and thumbnail
    sha = page.locator("[data-evidence]").last.get_attribute("data-evidence")
    resp = unit.page.request.get(f"{system.web}/evidence/{sha}?problem={pid}")
    assert resp.status == 200 and resp.headers["content-type"].startswith("image/")
    resp = unit.page.request.get(f"{system.web}/evidence/{sha}/thumb?problem={pid}")
    assert resp.status == 200 and resp.headers["content-type"] == "image/jpeg"

    # ---- another unit reaches neither the problem nor its files by URL
    other = User(browser, system, "P1D02")
    page = other.go(f"/problems/{pid}")
    assert "未找到" in page.inner_text("main")
    assert "浏览器测试" not in page.content()
    for path in (f"/evidence/{sha}?problem={pid}", f"/evidence/{sha}/thumb?problem={pid}", f"/evidence/{sha}"):
        assert other.page.request.get(system.web + path).status == 404, path
    other.shot("unit-other-denied")
    # ... nor an office action (a unit is not offered, and the service refuses it anyway)
    page = other.go("/dashboard")
    assert page.url.endswith("/unit")
    for u in (team, unit, other):
        u.close()


def test_bulletin_draft_preview_publish_and_public_page(browser: Any, system: System) -> None:
    office = User(browser, system, "P0001")
    page = office.go("/bulletins")
    page.locator('form[data-testid="draft-form"] [name="intro"]').fill("现将本轮督查问题整改情况通报如下。")
    page.locator('form[data-testid="draft-form"] button[type="submit"]').click()
    page.wait_for_load_state()
    assert "通报草稿已生成" in office.flash(), page.inner_text("main")[:1000]
    frame = page.frame_locator('iframe[data-testid="bulletin"]')
    assert "通报" in frame.locator("body").inner_text()
    office.shot("bulletin-preview")
    page.click('[data-testid="publish"]')
    page.wait_for_load_state()
    assert "通报已发布" in office.flash()
    bid = page.url.split("/public/bulletins/")[1].split("?")[0]
    office.close()
    public = browser.new_context(locale="zh-CN").new_page()  # nobody signed in
    public.goto(system.web + "/public/bulletins")
    assert public.locator(f'a[href="/public/bulletins/{bid}"]').count() == 1
    public.click(f'a[href="/public/bulletins/{bid}"]')
    public.wait_for_load_state()
    assert "通报" in public.frame_locator('iframe[data-testid="bulletin"]').locator("body").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    public.screenshot(path=str(SCREENSHOTS / "bulletin-public.png"), full_page=True)
    docx = public.request.get(f"{system.web}/public/bulletins/{bid}/docx")
    assert docx.status == 200 and docx.body()[:2] == b"PK"
    public.context.close()


def test_the_same_figures_on_dashboard_bulletin_export_and_api(browser: Any, system: System) -> None:
    """整改率 and the ranking (ducha.figures) read the same on every surface for the same data."""
    import time

    import httpx
    from ducha.contracts.base import Actor, Role
    from ducha.figures import percent
    from ducha_web.auth import TokenMinter
    from ducha_web.settings import load_settings
    from openpyxl import load_workbook

    started = time.time()
    office = User(browser, system, "P0001")
    office.page.set_default_timeout(60_000)  # the figures of a round are computed while the reader waits
    page = office.go("/dashboard")
    deadline = time.monotonic() + 180
    while float(page.get_attribute("[data-computed-at]", "data-computed-at") or 0) < started:
        assert time.monotonic() < deadline, "the dashboard's figures were not refreshed"
        page.wait_for_timeout(1000)  # the cache refreshes in the background; poll its stamp
        page = office.go("/dashboard")
    kpi = page.inner_text('[data-testid="kpi-rate"]')
    shown = [(row.locator("td").nth(1).text_content(), row.locator("td").nth(5).text_content())
             for row in page.locator('[data-testid="ranking-table"] tbody tr').all()]
    # the statistics API, as any client reads it
    token = TokenMinter(load_settings(data_dir=system.data_dir, auth="demo")).mint(
        Actor(id="P0001", name="王志强", role=Role.OFFICE))
    api = httpx.get(system.url("verification") + "/v1/ranking", headers={"Authorization": f"Bearer {token}"},
                    timeout=30).json()["ranking"]
    stats = httpx.get(system.url("verification") + "/v1/stats", params={"by": "round"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["total"]
    assert percent(stats["rectification_rate"]) == kpi
    assert [(r["name"], percent(r["rectification_rate"])) for r in api] == shown
    assert [r["rank"] for r in api] == sorted(r["rank"] for r in api)
    # the ranking export
    with page.expect_download() as dl:
        page.click('[data-testid="ranking-export"]')
    target = SCREENSHOTS.parent / "ranking.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    dl.value.save_as(str(target))
    rows = list(load_workbook(target).active.iter_rows(min_row=4, values_only=True))
    assert [(r[1], r[5]) for r in rows] == shown
    # the bulletin drafted from the same data: its ranking lists the units with problems fed back
    page = office.go("/bulletins")
    page.locator('form[data-testid="draft-form"] button[type="submit"]').click()
    page.wait_for_load_state()
    frame = page.frame_locator('iframe[data-testid="bulletin"]')
    assert f"整改率{kpi}" in frame.locator("body").inner_text()
    drafted = [(row.locator("td").nth(1).inner_text(), row.locator("td").nth(5).inner_text())
               for row in frame.locator("table tr").all()[1:]]
    with_problems = {r["name"] for r in api if r["fed_back"]}
    assert drafted == [row for row in shown if row[0] in with_problems]
    office.close()


HOMES = [("office", "P0001"), ("team", "P0101"), ("unit", "P1D01"), ("helper", "P2H01"), ("cadre", "P0003")]


def test_every_home_fits_a_phone_at_390px(browser: Any, system: System) -> None:
    """Unit staff work on phones: at 390 px no page scrolls sideways, tables become cards."""
    docs = "DUCHA_UPDATE_README_SCREENSHOT" in __import__("os").environ
    for role, account in HOMES:
        u = User(browser, system, account)
        if docs:
            u.page.screenshot(path=str(REPO / "docs" / "screenshots" / f"home-{role}-desktop.png"))
        u.page.set_viewport_size({"width": 390, "height": 844})
        pages = [u.page.url]
        if role in ("unit", "helper"):
            link = u.page.locator('[data-testid="ledger-table"] tbody tr[data-problem] a').first
            pages.append(system.web + str(link.get_attribute("href")))
        for url in pages:
            u.page.goto(url)
            u.page.wait_for_load_state()
            wide = u.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 0, (role, url, wide)
        u.page.goto(pages[0])
        assert u.page.locator("table.list thead").first.is_hidden()  # rows read as cards
        if docs:
            u.page.screenshot(path=str(REPO / "docs" / "screenshots" / f"home-{role}-phone.png"))
        u.shot(f"phone-{role}")
        u.close()


def test_signed_out_pages_redirect_to_sign_in(browser: Any, system: System) -> None:
    page = browser.new_page()
    page.goto(system.web + "/ledger?light=red")
    assert "/login" in page.url and "next=" in page.url
    page.click('button[data-account="P0001"]')
    page.wait_for_load_state()
    assert re.search(r"/ledger\?light=red$", page.url), page.url
    page.close()


def test_chromium_found() -> None:
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
