"""The bulletins projection: drafts, published bulletins and the problems they made public. Few
events (one per draft or publication): applied one at a time."""

from __future__ import annotations

from typing import Any

from ducha.contracts.notify import BulletinDrafted, BulletinPublished
from ducha.kernel.projection import Projection
from sqlalchemy import Connection, update

from .tables import bulletins, metadata, public_problems


class BulletinsProjection(Projection):
    name = "notify_bulletins"
    version = 1
    subjects = ("ducha.ev.notify._.bulletin.>",)
    metadata = metadata

    @Projection.handles(BulletinDrafted)
    def _drafted(self, conn: Connection, event: Any) -> None:
        p, bid = event.payload, event.aggregate_id
        values = {"round_id": p.content.round_id, "status": "draft", "title": p.content.title,
                  "draft": p.content.model_dump_json(), "sequence": event.sequence}
        if conn.execute(update(bulletins).where(bulletins.c.id == bid).values(**values)).rowcount == 0:
            conn.execute(bulletins.insert().values(id=bid, **values))

    @Projection.handles(BulletinPublished)
    def _published(self, conn: Connection, event: Any) -> None:
        p, bid = event.payload, event.aggregate_id
        conn.execute(update(bulletins).where(bulletins.c.id == bid).values(
            status="published", number=p.number, issued_on=p.issued_on.isoformat(), title=p.content.title,
            published=p.model_dump_json(), sequence=event.sequence))
        for prob in p.content.problems:
            conn.execute(public_problems.delete().where(public_problems.c.problem_id == prob.problem_id))
            conn.execute(public_problems.insert().values(
                problem_id=prob.problem_id, bulletin_id=bid, unit_name=prob.unit_name, title=prob.title,
                category=prob.category, status=prob.status, sequence=event.sequence))
