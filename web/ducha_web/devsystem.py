"""Start the whole system as `ducha run` does (nats-server, the four services and the workbench, on
free ports, in a given data folder) — for the browser tests and the page-load bench."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ducha.kernel.natsserver import free_port

SERVICES = ["intake", "rectification", "verification", "notify", "web"]


@dataclass
class System:
    data_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    proc: subprocess.Popen[str] | None = None

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['nats']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def start(data_dir: Path, extra_env: dict[str, str] | None = None, timeout: float = 120) -> System:
    ports = {name: free_port() for name in [*SERVICES, "nats"]}
    env = dict(os.environ)
    env["DUCHA_DATA_DIR"] = str(data_dir)
    for name, port in ports.items():
        env[f"DUCHA_{name.upper()}_PORT"] = str(port)
        env.pop(f"DUCHA_{name.upper()}_URL", None)
    env.update(extra_env or {})
    proc = subprocess.Popen([sys.executable, "-m", "ducha.cli", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    system = System(data_dir, env, ports, proc)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "Press Ctrl-C" in line or proc.poll() is not None:
            break
    if "Ducha (督查) is running" not in "".join(lines):
        system.stop()
        raise RuntimeError("ducha run did not start:\n" + "".join(lines))
    return system


def demo(system: System, problems: int, seed: int = 7) -> str:
    result = subprocess.run([sys.executable, "-m", "ducha_web.demo", "--problems", str(problems), "--seed", str(seed)],
                            env=system.env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0 or "failures 0" not in result.stdout:
        raise RuntimeError("demo failed:\n" + result.stdout + result.stderr)
    return result.stdout
