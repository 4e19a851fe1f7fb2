"""`DeptPublisher` copies the outbox (`tables.outbox`, written by `projection.DepartmentOutbox`) to
`ducha.dept.<department>.<EventType>` in outbox order, each row once, and makes the departments'
consumers. Every publish carries `Nats-Msg-Id: <department>:<source event id>` and
`Nats-Expected-Last-Sequence` = the stream's last sequence, so a restart, a retry or a second
notify instance never writes a row twice: the loser of a race gets "wrong last sequence", reads
the stream's last message (its `Ducha-Outbox` header says which row it was) and continues after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import nats.errors
import nats.js.errors
from sqlalchemy import (
    Engine,
    and_,
    or_,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from .stream import (
    DEFAULT_CONSUMERS,
    DEPT_STREAM,
    consumer_config,
    consumer_names,
    dept_subject,
    ensure_dept_stream,
)
from .tables import outbox

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

log = logging.getLogger("ducha.notify.dept")


def outbox_rows(engine: Engine, after: tuple[int, int], limit: int = 256) -> list[Any]:
    s, n = after
    query = (select(outbox).where(or_(outbox.c.source_sequence > s, and_(outbox.c.source_sequence == s, outbox.c.n > n)))
             .order_by(outbox.c.source_sequence, outbox.c.n).limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


class DeptPublisher:
    """Copies the outbox to DUCHA_DEPT, in order, each row once; creates department consumers."""

    def __init__(self, kernel: Kernel, consumers_per_department: int = DEFAULT_CONSUMERS, poll: float = 0.2) -> None:
        self.kernel = kernel
        self.count = consumers_per_department
        self.poll = poll
        self.js = kernel.store.js
        self._ensured: set[str] = set()
        self._known: tuple[int, tuple[int, int]] | None = None
        self.wake = asyncio.Event()

    async def position(self) -> tuple[int, tuple[int, int]]:
        """(the stream's last sequence, the outbox row it holds)."""
        info = await self.js.stream_info(DEPT_STREAM)
        last = int(info.state.last_seq or 0)
        if last == 0:
            return 0, (0, -1)
        msg = await self.js.get_msg(DEPT_STREAM, seq=last)
        s, _dot, n = (msg.headers or {}).get("Ducha-Outbox", "0.-1").partition(".")
        return last, (int(s), int(n))

    async def publish_pending(self) -> int:
        """Publish every outbox row not yet in the stream; the number published."""
        # The stream's end as this instance last wrote or read it: asking the server on every
        # wake (twice) cost notify more than the publishing itself. If another instance wrote
        # meanwhile, the expected-last-sequence check refuses our next publish and we read again.
        last, pos = self._known if self._known is not None else await self.position()
        published = 0
        try:
            while True:
                self._known = (last, pos)
                rows = await asyncio.to_thread(outbox_rows, self.kernel.engine, pos)
                if not rows:
                    return published
                for row in rows:
                    headers = {"Nats-Msg-Id": row["msg_id"], "Nats-Expected-Last-Sequence": str(last),
                               "Ducha-Outbox": f"{row['source_sequence']}.{row['n']}",
                               "Ducha-Source-Sequence": str(row["source_sequence"]),
                               "Ducha-Event-Type": row["event_type"]}
                    try:
                        ack = await self.js.publish(dept_subject(row["department"], row["event_type"]),
                                                    row["data"].encode(), headers=headers)
                    except nats.js.errors.BadRequestError as exc:
                        if exc.err_code != 10071:
                            raise
                        last, pos = await self.position()  # another instance wrote meanwhile: after it
                        break
                    last, pos = ack.seq, (int(row["source_sequence"]), int(row["n"]))
                    published += 1
        except BaseException:
            self._known = None  # stored or not, we cannot tell: read the stream's end next time
            raise

    async def ensure_consumers(self, departments: Iterable[str]) -> None:
        for department in departments:
            if department in self._ensured:
                continue
            for name in consumer_names(department, self.count):
                try:
                    await self.js.consumer_info(DEPT_STREAM, name)
                except nats.js.errors.NotFoundError:
                    try:
                        await self.js.add_consumer(DEPT_STREAM, consumer_config(department, name))
                    except nats.js.errors.BadRequestError as exc:
                        log.info("consumer %s not created (%s): another instance may have made it", name, exc)
            self._ensured.add(department)

    async def run(self) -> None:
        from ..directory.tables import helpers, units

        # as many replicas as the log itself (a 3-node cluster in production)
        await ensure_dept_stream(self.js, self.kernel.settings.stream_replicas, update=True)
        while True:
            try:
                with self.kernel.engine.connect() as conn:
                    departments = [*conn.execute(select(units.c.id)).scalars(),
                                   *conn.execute(select(helpers.c.id)).scalars()]
                await self.ensure_consumers(departments)
                await self.publish_pending()
            except (nats.errors.Error, OSError, SQLAlchemyError) as exc:
                # NATS or the database away for a moment: the outbox keeps everything, try again
                log.warning("department stream: %r; retrying", exc)
                await asyncio.sleep(1.0)
            try:
                async with asyncio.timeout(self.poll):
                    await self.wake.wait()
            except TimeoutError:
                pass
            self.wake.clear()
