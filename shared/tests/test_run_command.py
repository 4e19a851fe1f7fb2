"""`ducha run` (what `./dev.sh up` calls) brings up nats-server and every service, and says
clearly when a port is taken."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ducha.kernel.natsserver import free_port

SERVICES = ["intake", "rectification", "verification", "notify", "web"]


def _env(tmp_path: Path, ports: dict[str, int]) -> dict[str, str]:
    env = dict(os.environ)
    env["DUCHA_DATA_DIR"] = str(tmp_path / "data")
    for name, port in ports.items():
        env[f"DUCHA_{name.upper()}_PORT"] = str(port)
    return env


def test_run_starts_nats_and_all_services_and_stops_them(tmp_path: Path) -> None:
    ports = {name: free_port() for name in [*SERVICES, "nats"]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ducha.cli", "run"], env=_env(tmp_path, ports),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Press Ctrl-C" in line or proc.poll() is not None:
                break
        out = "".join(lines)
        assert "Ducha (督查) is running" in out, out
        assert f"nats://127.0.0.1:{ports['nats']}" in out
        for name in SERVICES:
            assert f"http://127.0.0.1:{ports[name]}" in out
            with urllib.request.urlopen(f"http://127.0.0.1:{ports[name]}/health", timeout=5) as r:
                assert json.load(r) == {"status": "ok", "service": name}
        assert (tmp_path / "data" / "keys" / "issuer-ed25519.pem").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    with socket.socket() as s:  # nats-server was stopped with it
        assert s.connect_ex(("127.0.0.1", ports["nats"])) != 0


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
