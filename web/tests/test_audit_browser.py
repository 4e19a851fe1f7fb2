"""The auditor's path without a shell, in Chromium against the whole running system: sign in as
审计核查, see the latest checkpoint hash, verify the log now, download a unit's export and the
standalone verifier, run the verifier (bare Python) on the export: 未发现篡改. A unit may not open
the audit page."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ducha_web.devsystem import System, demo, start

from . import test_browser
from .test_browser import CHROMIUM, User

browser = test_browser.browser  # the browser tests' fixture, shared

pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = start(tmp_path_factory.mktemp("ducha-audit") / "data", {"DUCHA_AUDIT_CHECKPOINT_SECONDS": "0.5"})
    try:
        demo(sys_, problems=12)
        yield sys_
    finally:
        sys_.stop()


def _checkpoint_hash(u: User) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = u.go("/audit")
        found = page.locator('[data-testid="checkpoint-hash"]')
        if found.count():
            return str(found.inner_text()).strip()
        time.sleep(0.5)
    raise AssertionError("no checkpoint shown on the audit page within 60 s")


def test_auditor_verifies_an_export_with_the_downloaded_verifier(browser: Any, system: System, tmp_path: Path) -> None:
    u = User(browser, system, "auditor-1")
    assert u.page.url.endswith("/audit"), u.page.url
    assert [el.get_attribute("data-nav") for el in u.page.locator("[data-nav]").all()] == ["public", "audit"]
    shown = _checkpoint_hash(u)
    assert len(shown) == 64

    u.page.click('[data-testid="verify-now"]')
    u.page.wait_for_load_state()
    assert "未发现篡改" in u.flash(), u.flash()
    assert "未发现篡改" in u.page.inner_text('[data-testid="verification-result"]')

    with u.page.expect_download() as dl:
        u.page.click('form[data-testid="export-unit"] button[type="submit"]')
    export = tmp_path / "export.jsonl"
    dl.value.save_as(str(export))
    with u.page.expect_download() as dl:
        u.page.click('[data-testid="verifier"]')
    verifier = tmp_path / "ducha_verify.py"
    dl.value.save_as(str(verifier))
    u.go("/audit/guide")
    assert "python3 ducha_verify.py" in u.page.inner_text('[data-testid="guide-text"]')
    u.shot("audit")

    run = subprocess.run([sys.executable, "-I", "-S", str(verifier), str(export), "--expect-hash", shown],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "结论: 未发现篡改" in run.stdout and "与本文件的最终哈希或某个检查点哈希一致" in run.stdout
    u.close()

    unit = User(browser, system, "P1D01")
    unit.go("/audit")
    assert "审计核查" not in [el.inner_text() for el in unit.page.locator("[data-nav]").all()]
    assert "只有领导小组办公室和审计核查人员" in unit.page.inner_text("main")
    unit.close()


def _last_sequence(system: System) -> int:
    """The log's last sequence as intake's readiness reports it (playwright's loop owns this thread)."""
    import httpx

    body = httpx.get(f"http://127.0.0.1:{system.ports['intake']}/ready", timeout=30).json()
    return int(body["log_last_sequence"])


def _quiet_sequence(system: System) -> int:
    """The log's last sequence once nothing has been appended for a second."""
    last = _last_sequence(system)
    for _ in range(60):
        time.sleep(1)
        now = _last_sequence(system)
        if now == last:
            return last
        last = now
    raise AssertionError("the log never went quiet")


def _text(u: User, selector: str) -> str:
    return str(u.page.locator(selector).first.inner_text())


def _live(u: User, path: str, selector: str) -> str:
    """A live page's part, once two loads a second apart agree (the figures cache has refreshed)."""
    previous = None
    for _ in range(10):
        u.go(path)
        text = _text(u, selector)
        if text == previous:
            return text
        previous = text
        time.sleep(1)
    raise AssertionError(f"{path} kept changing")


def _as_of(u: User, path: str, selector: str) -> str:
    u.go(path)
    u.page.wait_for_selector(selector, timeout=120_000)  # the progress page refreshes until built
    assert "截至" in _text(u, '[data-testid="as-of"]') and "只读" in _text(u, '[data-testid="as-of"]')
    return _text(u, selector)


def test_dashboard_and_ledger_as_of_a_past_moment_equal_what_they_showed_then(
        browser: Any, system: System, tmp_path: Path) -> None:
    import httpx

    u = User(browser, system, "P0001")
    moment = _quiet_sequence(system)
    dashboard = _live(u, "/dashboard", '[data-testid="kpis"]')
    ranking = _live(u, "/dashboard", "table.list")
    ledger = _live(u, "/ledger", '[data-testid="ledger-table"]')
    rows = u.page.locator('[data-testid="ledger-table"] tbody tr[data-problem]')
    problem = rows.first.get_attribute("data-problem")
    assert _quiet_sequence(system) == moment  # nothing happened while recording

    token = subprocess.run([sys.executable, "-m", "ducha.cli", "--data-dir", str(system.data_dir), "token",
                            "--role", "office", "--name", "督查办"], capture_output=True, text=True,
                           env=system.env, check=True).stdout.strip()
    intake = f"http://127.0.0.1:{system.ports['intake']}"
    r = httpx.post(f"{intake}/v1/problems/{problem}/withdraw", json={"reason": "重复上报，撤回"},
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "asof-test"}, timeout=30)
    assert r.status_code == 200, r.text
    later = _quiet_sequence(system)
    assert later > moment
    assert _live(u, "/ledger", '[data-testid="ledger-table"]') != ledger  # the city moved on

    assert _as_of(u, f"/dashboard?as_of={moment}", '[data-testid="kpis"]') == dashboard
    assert _text(u, "table.list") == ranking
    assert _as_of(u, f"/ledger?as_of={moment}", '[data-testid="ledger-table"]') == ledger
    u.shot("ledger-as-of")
    with u.page.expect_download() as dl:
        u.page.click('[data-testid="export"]')
    from openpyxl import load_workbook

    xlsx = tmp_path / "ledger-as-of.xlsx"
    dl.value.save_as(str(xlsx))
    sheet = load_workbook(xlsx).active
    assert sheet is not None and "截至" in str(sheet["A1"].value)
    u.go("/asof")
    assert u.page.locator('[data-testid="asof-day"]').count() == 1
    u.close()
