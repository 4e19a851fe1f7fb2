"""The department outbound stream `DUCHA_DEPT` on NATS: its configuration, subjects and the
durable consumers the system makes for each department (departments may not make their own)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, StorageType, StreamConfig

DEPT_STREAM = "DUCHA_DEPT"
DEPT_PREFIX = "ducha.dept"
DEFAULT_CONSUMERS = 2  # per department: e.g. production and a test system


def dept_subject(department: str, event_type: str = ">") -> str:
    return f"{DEPT_PREFIX}.{department}.{event_type}"


def consumer_names(department: str, count: int = DEFAULT_CONSUMERS) -> list[str]:
    """The durable consumers the system creates for a department (and only these may it use)."""
    return [f"dept-{department}-{k}" for k in range(1, count + 1)]


def dept_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=DEPT_STREAM, subjects=[f"{DEPT_PREFIX}.>"], storage=StorageType.FILE, num_replicas=replicas,
        duplicate_window=120.0, deny_delete=True, deny_purge=True, discard=DiscardPolicy.OLD,
        allow_direct=False,
    )


async def ensure_dept_stream(js: Any, replicas: int = 1, update: bool = False) -> None:
    """Create the stream if it is missing; with `update`, bring an existing one's settings back to ours."""
    config = dept_stream_config(replicas)
    try:
        await js.stream_info(DEPT_STREAM)
        if not update:
            return
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:
            pass  # created concurrently by another instance
    await js.update_stream(config)


def consumer_config(department: str, name: str, *, start_sequence: int | None = None,
                    start_time: datetime | None = None) -> ConsumerConfig:
    config = ConsumerConfig(durable_name=name, name=name, filter_subject=dept_subject(department),
                            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0,
                            max_ack_pending=1000, description=f"department {department}")
    if start_sequence is not None:
        config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, max(1, start_sequence)
    elif start_time is not None:
        config.deliver_policy, config.opt_start_time = DeliverPolicy.BY_START_TIME, start_time
    return config


async def reset_consumer(js: Any, department: str, name: str, *, start_sequence: int | None = None,
                         start_time: datetime | None = None) -> None:
    """Re-create a department's consumer to start at a DUCHA_DEPT sequence or a time."""
    try:
        await js.delete_consumer(DEPT_STREAM, name)
    except nats.js.errors.NotFoundError:
        pass
    await js.add_consumer(DEPT_STREAM, consumer_config(department, name, start_sequence=start_sequence,
                                                       start_time=start_time))
