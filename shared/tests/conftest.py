from __future__ import annotations

import pytest
from ducha.kernel.eventstore import EventStore
from ducha.testing.sample import test_registry
from nats.aio.client import Client as NATS


@pytest.fixture
def store(nc: NATS) -> EventStore:
    return EventStore(nc, test_registry)
