"""Fixtures of the workbench tests: the whole system started as `ducha run` does it (nats-server,
the four services and the workbench, on free ports, in a temporary data folder), filled with a
small demo city."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ducha.testing.plugin import assert_no_dead_letters
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
        # the demo city and every browser action went through the projections without a dead letter
        assert_no_dead_letters(f"nats://127.0.0.1:{sys_.ports['nats']}")
    finally:
        sys_.stop()
