"""Every `ducha` subcommand reads the settings `ducha run` uses (DUCHA_NATS_PORT, the data folder)
and ends an expected failure with one line saying what to do, exit status 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from ducha.cli import main
from ducha.kernel.natsserver import NatsServer, free_port

from .test_audit_cli import _history


@pytest.fixture
def ducha_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("DUCHA_NATS_URL", "DUCHA_DATABASE_URL", "DUCHA_INTAKE_DATABASE_URL", "DUCHA_INTAKE_NATS_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("DUCHA_DATA_DIR", str(data))
    return data


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_audit_and_rebuild_use_the_nats_port_and_data_dir_of_ducha_run(
    nats_server: NatsServer, ducha_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_history(nats_server.url))
    monkeypatch.setenv("DUCHA_NATS_PORT", str(nats_server.port))
    assert main(["audit", "verify"]) == 0
    assert "未发现篡改" in capsys.readouterr().out
    assert main(["audit", "timeline", "P1", "--unit", "U1"]) == 0
    assert "上报问题" in capsys.readouterr().out
    assert main(["rebuild", "intake"]) == 0
    assert '"service": "intake"' in capsys.readouterr().out
    assert (ducha_env / "intake.db").exists()  # the data folder `ducha run` gives the services


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "verify"],
        ["audit", "export", "--unit", "U1", "-o", "u1.jsonl"],
        ["audit", "checkpoint"],
        ["audit", "timeline", "P1", "--unit", "U1"],
        ["audit", "as-of", "intake", "--sequence", "2"],
        ["rebuild", "intake"],
    ],
)
def test_an_unreachable_server_is_one_line_naming_the_setting(
    argv: list[str], ducha_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    monkeypatch.setenv("DUCHA_NATS_PORT", str(port))
    assert main(argv) == 2
    line = _one_line_error(capsys)
    assert f"cannot reach NATS at nats://127.0.0.1:{port}" in line and "DUCHA_NATS_PORT" in line


def test_a_missing_file_is_one_line(ducha_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--file", "missing.jsonl"]) == 2
    assert "file not found: missing.jsonl" in _one_line_error(capsys)


def test_a_file_that_is_not_an_export_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "notes.jsonl"
    other.write_text('{"hello": 1}\n', encoding="utf-8")
    assert main(["audit", "verify", "--file", str(other)]) == 2
    assert "is not a Ducha audit export" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["audit", "export", "--unit", "U1"], "-o/--output"),
        (["audit", "as-of", "intake", "--at", "yesterday"], "2026-03-05T18:00:00+08:00"),
        (["audit", "as-of", "nowhere", "--sequence", "1"], "name one of"),
        (["rebuild", "nowhere"], "name one of"),
        (["token", "--role", "king"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line(
    argv: list[str], says: str, ducha_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        code = main(argv)
        raise SystemExit(code)
    assert exit_.value.code == 2
    assert says in _one_line_error(capsys)
