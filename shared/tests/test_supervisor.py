"""The `ducha run` supervisor's restart policy: backoff, a healthy spell resets the count, and
repeated crashes stop everything."""

from __future__ import annotations

import subprocess
import sys

from ducha.supervisor import MAX_CRASHES, STABLE_SECONDS, Child, Supervisor, backoff_seconds


def _crashing() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    return proc


def test_backoff_doubles_up_to_thirty_seconds() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_service_crashing_repeatedly_is_restarted_with_backoff_then_everything_stops() -> None:
    said: list[str] = []
    child = Child("intake", _crashing)
    supervisor = Supervisor([child], out=said.append)
    child.launch()
    now = child.started_at
    for crash in range(1, MAX_CRASHES):
        assert supervisor.step(now) is None
        assert f"intake exited with code 3; restarting in {backoff_seconds(crash):.0f} s" in said[-1]
        assert supervisor.step(now + backoff_seconds(crash) - 0.01) is None  # still waiting
        now += backoff_seconds(crash)
        assert supervisor.step(now) is None
        assert said[-1].startswith("supervisor: restarted intake (pid ")
        now = child.started_at
    assert supervisor.step(now) == 1


def test_a_healthy_spell_resets_the_crash_count() -> None:
    said: list[str] = []
    child = Child("notify", _crashing)
    supervisor = Supervisor([child], out=said.append)
    child.launch()
    child.crashes = MAX_CRASHES - 1
    assert supervisor.step(child.started_at + STABLE_SECONDS + 1) is None  # ran long enough
    assert child.crashes == 1 and "restarting in 1 s" in said[-1]
