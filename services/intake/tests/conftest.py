"""Fixtures of the intake tests (helpers: intake_support.py beside this file)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ducha.kernel.clock import ManualClock
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import run_service
from ducha_intake.app import spec
from intake_support import START, Api, World, make_world


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def api(nats_server: NatsServer, tmp_path: Path, keys: KeyPair, clock: ManualClock) -> AsyncIterator[Api]:
    async with run_service(spec(), nats_server.url, tmp_path, keys, clock=clock) as svc:
        yield Api(svc)


@pytest.fixture
async def world(api: Api) -> World:
    return await make_world(api)
