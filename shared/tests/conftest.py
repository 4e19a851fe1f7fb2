from __future__ import annotations

import pytest
from nats.aio.client import Client as NATS

from ducha.kernel.eventstore import EventStore
from ducha.testing.sample import test_registry


@pytest.fixture
def store(nc: NATS) -> EventStore:
    return EventStore(nc, test_registry)
