"""The dashboard's trend over a round (每日上报、交办、提交、销号、超期): a small projection of the
workbench's own, because no service answers "how many per day". Counts per round, day and metric;
exactly once like every projection (the kernel's runner)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from ducha.contracts.base import DomainEvent, Envelope
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import event_type_filter
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    select,
    update,
)

CITY_TZ = ZoneInfo("Asia/Shanghai")
METRICS = {
    "IssueReported": "reported", "IssueFedBack": "fed_back", "RectificationSubmitted": "submitted",
    "RectificationVerified": "accepted", "RectificationRejected": "rejected", "ProblemWrittenOff": "written_off",
    "DeadlineMissed": "overdue",
}
METRIC_ZH = {"reported": "上报", "fed_back": "交办", "submitted": "提交整改", "accepted": "验收通过",
             "rejected": "验收未通过", "written_off": "销号", "overdue": "新增超期"}

metadata = MetaData()
trend = Table(
    "web_trend", metadata,
    Column("round_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("metric", String(20), primary_key=True),
    Column("count", Integer, nullable=False),
)
problem_round = Table(
    "web_problem_round", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("round_id", String(64), nullable=False),
)

_find_round = select(problem_round.c.round_id).where(problem_round.c.problem_id == bindparam("pid"))
_bump = (update(trend).where(trend.c.round_id == bindparam("r"), trend.c.day == bindparam("d"),
                             trend.c.metric == bindparam("m"))
         .values(count=trend.c.count + bindparam("n")))


class TrendProjection(Projection):
    name = "web_trend"
    version = 1
    subjects: ClassVar[Sequence[str]] = [event_type_filter(t) for t in METRICS]
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        self.apply_batch(conn, [event])

    def apply_batch(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> None:
        counts: dict[tuple[str, date, str], int] = defaultdict(int)
        known: dict[str, str] = {}
        new_rounds: list[dict[str, str]] = []
        for ev in events:
            metric = METRICS.get(ev.event_type)
            if metric is None:
                continue
            pid = ev.aggregate_id
            round_id = getattr(ev.payload, "round_id", None)
            if ev.event_type == "IssueReported" and round_id:
                if pid not in known:
                    new_rounds.append({"problem_id": pid, "round_id": round_id})
                known[pid] = round_id
            if not round_id:
                round_id = known.get(pid) or conn.execute(_find_round, {"pid": pid}).scalar()
                if round_id:
                    known[pid] = round_id
            if not round_id:
                continue
            day = ev.occurred_at.astimezone(CITY_TZ).date()
            counts[(round_id, day, metric)] += 1
        if new_rounds:
            existing = set(conn.execute(select(problem_round.c.problem_id).where(
                problem_round.c.problem_id.in_([r["problem_id"] for r in new_rounds]))).scalars())
            fresh = [r for r in new_rounds if r["problem_id"] not in existing]
            if fresh:
                conn.execute(problem_round.insert(), fresh)
        for (r, d, m), n in counts.items():
            if conn.execute(_bump, {"r": r, "d": d, "m": m, "n": n}).rowcount == 0:
                conn.execute(trend.insert().values(round_id=r, day=d, metric=m, count=n))


def read_trend(engine: Engine, round_id: str) -> dict[str, dict[date, int]]:
    """{metric: {day: count}} for one round."""
    out: dict[str, dict[date, int]] = defaultdict(dict)
    with engine.connect() as conn:
        for row in conn.execute(select(trend).where(trend.c.round_id == round_id).order_by(trend.c.day)):
            m = row._mapping
            out[m["metric"]][m["day"]] = int(m["count"])
    return dict(out)


def series(data: dict[str, dict[date, int]], metrics: Sequence[str], cumulative: bool = True
           ) -> tuple[list[date], dict[str, list[int]]]:
    days = sorted({d for m in metrics for d in data.get(m, {})})
    if days:
        from datetime import timedelta

        full = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    else:
        full = []
    out: dict[str, list[int]] = {}
    for m in metrics:
        running, values = 0, []
        for d in full:
            v = data.get(m, {}).get(d, 0)
            running = running + v if cumulative else v
            values.append(running)
        out[m] = values
    return full, out


__all__ = ["METRIC_ZH", "Any", "TrendProjection", "read_trend", "series"]
