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

from .test_browser import CHROMIUM, User, browser  # noqa: F401 - the module's browser fixture

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
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "结论: 未发现篡改" in run.stdout and "与本文件的最终哈希或某个检查点哈希一致" in run.stdout
    u.close()

    unit = User(browser, system, "P1D01")
    unit.go("/audit")
    assert "审计核查" not in [el.inner_text() for el in unit.page.locator("[data-nav]").all()]
    assert "只有领导小组办公室和审计核查人员" in unit.page.inner_text("main")
    unit.close()
