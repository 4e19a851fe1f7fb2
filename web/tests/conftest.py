"""Fixtures of the workbench tests: the whole system started as `ducha run` does it (nats-server,
the four services and the workbench, on free ports, in a temporary data folder), filled with a
small demo city."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ducha_web.devsystem import System, demo, start

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"

__all__ = ["REPO", "SCREENSHOTS", "System"]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = start(tmp_path_factory.mktemp("ducha") / "data")
    try:
        demo(sys_, problems=40)
        yield sys_
    finally:
        sys_.stop()
