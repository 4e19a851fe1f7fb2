import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

# Tests import their shared helpers by name (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from ducha.testing.plugin import run_service
from ducha_rectification.app import spec
from rect_support import Client, Upstream, clock


@pytest.fixture
async def svc(nats_server: Any, tmp_path: Path, keys: Any) -> AsyncIterator[Any]:
    async with run_service(spec(), nats_server.url, tmp_path, keys, clock=clock()) as service:
        yield service


@pytest.fixture
async def up(svc: Any) -> Upstream:
    upstream = Upstream(svc)
    await upstream.world()
    return upstream


@pytest.fixture
def http(svc: Any) -> Client:
    return Client(svc)
