"""The development system the benchmarks and browser tests start: a port found free but taken before
a service binds it is not a failed start."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from ducha.kernel.natsserver import free_port
from ducha_web import devsystem


def test_a_port_taken_between_choosing_and_binding_is_chosen_again(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        handed_out: list[int] = []

        def first_one_taken() -> int:
            port = taken if not handed_out else free_port()
            handed_out.append(port)
            return port

        monkeypatch.setattr(devsystem, "free_port", first_one_taken)
        system = devsystem.start(tmp_path / "data")
        try:
            assert taken not in system.ports.values()
            assert len(handed_out) == 2 * len(system.ports)  # two starts, the second on new ports
            assert httpx.get(system.url("intake") + "/health", timeout=10).json()["status"] == "ok"
        finally:
            system.stop()
