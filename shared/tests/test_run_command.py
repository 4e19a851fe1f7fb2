"""`ducha run` (what `./dev.sh up` calls) brings up nats-server and every service, and says
clearly when a port is taken."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ducha.cli import service_specs
from ducha.kernel.natsserver import free_port

SERVICES = list(service_specs())  # every service `ducha run` starts, each on a port of its own


def _env(tmp_path: Path, ports: dict[str, int], web_auth: str | None = "demo") -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DUCHA_WEB_AUTH", None)
    if web_auth:
        env["DUCHA_WEB_AUTH"] = web_auth
    env["DUCHA_DATA_DIR"] = str(tmp_path / "data")
    for name, port in ports.items():
        env[f"DUCHA_{name.upper()}_PORT"] = str(port)
    return env


def _read_until(proc: subprocess.Popen[str], lines: list[str], marker: str, timeout: float) -> str:
    """Collect the supervisor's output until a line contains `marker` (or it exits)."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if marker in line or proc.poll() is not None:
            break
    return "".join(lines)


def _health(port: int) -> dict[str, str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            body: dict[str, str] = json.load(r)
            return body
    except OSError:
        return None


def test_run_starts_everything_restarts_a_killed_service_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in [*SERVICES, "nats"]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ducha.cli", "run"], env=_env(tmp_path, ports),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    try:
        out = _read_until(proc, lines, "Press Ctrl-C", 90)
        assert "Ducha (督查) is running" in out, out
        assert f"nats://127.0.0.1:{ports['nats']}" in out
        pids = {}
        for name in SERVICES:
            assert f"http://127.0.0.1:{ports[name]}" in out
            assert _health(ports[name]) == {"status": "ok", "service": name}
            match = re.search(rf"^  {name} .*pid (\d+)\)$", out, re.MULTILINE)
            assert match, out
            pids[name] = int(match.group(1))
        assert (tmp_path / "data" / "keys" / "issuer-ed25519.pem").exists()

        os.kill(pids["intake"], signal.SIGKILL)  # a crash, as the OOM killer would do it
        out = _read_until(proc, lines, "restarted intake", 60)
        assert "service intake killed by SIGKILL; restarting in 1 s" in out, out
        assert proc.poll() is None, out
        deadline = time.monotonic() + 60
        while _health(ports["intake"]) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(ports["intake"]) == {"status": "ok", "service": "intake"}
        for name in SERVICES:  # the others (and their pids) were never touched
            assert _health(ports[name]) == {"status": "ok", "service": name}
            if name != "intake":
                os.kill(pids[name], 0)
        with socket.create_connection(("127.0.0.1", ports["nats"]), timeout=5):
            pass
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    with socket.socket() as s:  # nats-server was stopped with it
        assert s.connect_ex(("127.0.0.1", ports["nats"])) != 0
    for name in SERVICES:
        assert _health(ports[name]) is None


def test_plain_run_starts_no_passwordless_workbench(tmp_path: Path) -> None:
    ports = {name: free_port() for name in [*SERVICES, "nats"]}
    proc = subprocess.Popen([sys.executable, "-m", "ducha.cli", "run"], env=_env(tmp_path, ports, web_auth=None),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out = _read_until(proc, [], "Press Ctrl-C", 90)
        assert "Ducha (督查) is running" in out, out
        assert "web           not started: no sign-in configured" in out
        assert f"http://127.0.0.1:{ports['web']}" not in out and _health(ports["web"]) is None
        assert _health(ports["intake"]) == {"status": "ok", "service": "intake"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_run_refuses_a_busy_port_with_a_clear_message(tmp_path: Path) -> None:
    ports = {name: free_port() for name in [*SERVICES, "nats"]}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports["nats"]))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "-m", "ducha.cli", "run"], env=_env(tmp_path, ports),
            capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 2
    assert f"port {ports['nats']}" in result.stderr and "DUCHA_NATS_PORT" in result.stderr
