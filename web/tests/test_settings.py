"""The workbench's typed settings: the only place that reads the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from ducha_web.settings import WebSettings

WEB = Path(__file__).resolve().parents[1] / "ducha_web"


def test_service_urls_from_explicit_urls_else_host_and_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUCHA_INTAKE_PORT", "9611")
    monkeypatch.setenv("DUCHA_NOTIFY_URL", "http://notify.internal:80/")
    monkeypatch.setenv("DUCHA_WEB_SERVICES_HOST", "services")
    monkeypatch.setenv("DUCHA_NATS_URL", "nats://log:4222")
    s = WebSettings(auth="demo")
    assert s.service_urls() == {"intake": "http://services:9611", "rectification": "http://services:8102",
                                "verification": "http://services:8103", "notify": "http://notify.internal:80",
                                "audit": "http://services:8105"}
    assert s.nats_url == "nats://log:4222"
    assert WebSettings(auth="demo", intake_url="http://i:1/").intake_url == "http://i:1"


def test_no_module_but_settings_reads_the_environment() -> None:
    readers = [p.name for p in WEB.rglob("*.py") if "os.environ" in p.read_text(encoding="utf-8") or
               "getenv(" in p.read_text(encoding="utf-8")]
    assert readers == ["settings.py"]
