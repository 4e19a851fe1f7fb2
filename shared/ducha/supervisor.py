"""The local supervisor behind `ducha run` (`./dev.sh up`): keeps every service process running.

A service process that exits on its own (a crash, a SIGKILL, an out-of-memory kill) is started
again after a backoff of 1, 2, 4, 8 ... (at most 30) seconds, and the output says so; the other
services and nats-server keep running. A service that has stayed up for `STABLE_SECONDS` counts as
healthy again. After `MAX_CRASHES` crashes in a row without such a healthy spell, the supervisor
gives up and stops everything (exit code 1), because restarting would only hide a real fault.
Everything stops on Ctrl-C (SIGINT) or SIGTERM: services first (each gets SIGTERM and its
graceful limit), nats-server last, so requests in flight can still reach the log.

Service processes run in their own session, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops them in that order.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_CRASHES = 5
STABLE_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 30.0
STOP_WAIT_SECONDS = 60.0  # a service's graceful limits (DUCHA_SHUTDOWN_GRACE_SECONDS + append budget) and lifespan


def backoff_seconds(crashes: int) -> float:
    """Wait before the restart that follows the `crashes`-th crash in a row (1-based)."""
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, crashes - 1)))


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class Child:
    """One supervised service: how to start it, its process, and its crash record."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    crashes: int = 0  # in a row, without a healthy spell of STABLE_SECONDS
    restart_at: float | None = None  # set while waiting out a backoff
    stop_last: bool = False  # nats-server: stopped after every service

    def launch(self) -> None:
        self.proc = self.start()
        self.started_at = time.monotonic()
        self.restart_at = None


@dataclass
class Supervisor:
    children: list[Child]
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    poll_seconds: float = 0.25
    stop_requested: bool = False

    def request_stop(self, _sig: int = 0, _frame: object = None) -> None:
        self.stop_requested = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)

    def run(self) -> int:
        """Watch the children until a stop is requested (0) or one crashed too often (1)."""
        while not self.stop_requested:
            code = self.step(time.monotonic())
            if code is not None:
                return code
            time.sleep(self.poll_seconds)
        self.out("stopping ...")
        return 0

    def step(self, now: float) -> int | None:
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.launch()
                    pid = child.proc.pid if child.proc else "?"
                    self.out(f"supervisor: restarted {child.name} (pid {pid})")
                continue
            proc = child.proc
            if proc is None or proc.poll() is None:
                if proc is not None and child.crashes and now - child.started_at >= STABLE_SECONDS:
                    child.crashes = 0
                continue
            child.crashes = child.crashes + 1 if now - child.started_at < STABLE_SECONDS else 1
            how = describe_exit(proc.returncode)
            if child.crashes >= MAX_CRASHES:
                print(
                    f"error: service {child.name} {how}; it crashed {child.crashes} times in a row, "
                    "giving up and stopping everything",
                    file=sys.stderr, flush=True,
                )
                return 1
            wait = backoff_seconds(child.crashes)
            self.out(
                f"supervisor: service {child.name} {how}; restarting in {wait:.0f} s "
                f"(crash {child.crashes} of at most {MAX_CRASHES - 1} in a row)"
            )
            child.restart_at = now + wait
        return None

    def stop_all(self) -> None:
        """Services first, then what must outlive them (nats-server)."""
        self._stop([c for c in self.children if not c.stop_last])
        self._stop([c for c in self.children if c.stop_last])

    @staticmethod
    def _stop(children: list[Child]) -> None:
        """SIGTERM each running child, wait for them (bounded), kill what is left."""
        running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
