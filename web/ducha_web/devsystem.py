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

from .settings import SERVICE_PORTS, WebSettings, environment, load_settings

SERVICES = ["intake", "rectification", "verification", "notify", "audit", "web"]


@dataclass
class System:
    data_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['nats']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def settings(self, **overrides: object) -> WebSettings:
        """The workbench's settings of this system (its data folder and services), e.g. to mint tokens."""
        urls: dict[str, object] = {f"{name}_url": self.url(name) for name in SERVICE_PORTS}
        return load_settings(**{"data_dir": self.data_dir, "auth": "demo", "nats_url": self.nats_url, **urls,
                                **overrides})

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


def start(data_dir: Path, extra_env: dict[str, str] | None = None, timeout: float = 120,
          base_port: int | None = None) -> System:
    """`ducha run` in `data_dir`, on free ports (or base_port, base_port + 1, ...).

    A port found free may be taken before the service binds it (an outgoing connection gets its
    local port from the same range): on free ports, a start refused for a busy port is tried again
    on new ones."""
    for attempt in range(3):
        try:
            return _start(data_dir, extra_env, timeout, base_port)
        except PortTaken:
            if base_port is not None or attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    pass


def _start(data_dir: Path, extra_env: dict[str, str] | None, timeout: float, base_port: int | None) -> System:
    names = [*SERVICES, "nats"]
    ports = {name: (base_port + i if base_port else free_port()) for i, name in enumerate(names)}
    env = environment()
    env["DUCHA_DATA_DIR"] = str(data_dir)
    env.setdefault("DUCHA_WEB_AUTH", "demo")  # a development system with a demo city
    for name, port in ports.items():
        env[f"DUCHA_{name.upper()}_PORT"] = str(port)
        env.pop(f"DUCHA_{name.upper()}_URL", None)
    env.update(extra_env or {})
    # The system's output goes to a file, never to a pipe nobody reads after start-up: once a pipe's
    # buffer is full every process writing a log line blocks, and the whole system hangs.
    log_path = data_dir.parent / "ducha-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "ducha.cli", "run"], env=env, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    system = System(data_dir, env, ports, proc)
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if "Press Ctrl-C" in text or proc.poll() is not None:
            break
        time.sleep(0.2)  # polling the log for the start-up banner (a condition, with a deadline)
    if "Ducha (督查) is running" not in text:
        system.stop()
        busy = "already in use" in text
        raise (PortTaken if busy else RuntimeError)("ducha run did not start:\n" + text[-5000:])
    return system


def demo(system: System, problems: int, seed: int = 7) -> str:
    # as `ducha run --demo` does: the demo's past weeks are appended to the system's NATS directly
    env = {**system.env, "DUCHA_NATS_URL": system.nats_url}
    result = subprocess.run([sys.executable, "-m", "ducha_web.demo", "--problems", str(problems), "--seed", str(seed)],
                            env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0 or "failures 0" not in result.stdout:
        raise RuntimeError("demo failed:\n" + result.stdout + result.stderr)
    return result.stdout
