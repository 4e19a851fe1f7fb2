"""One definition of every figure an office publishes (docs/workbench.md, "Figures").

The statistics API (verification), the bulletins (notify), the dashboard and the exports (web) all
count with this module, so the same events give the same numbers on every surface. Pure code: the
facts of one problem are folded from its events (`fold`), counted (`summarize`) and ranked (`ranking`).

Over the problems of a scope that were not withdrawn or marked duplicate:
  整改率 rectification_rate   written_off / fed_back
  按期整改率 on_time_rate      submissions_on_time / submissions (a submission is on time when made on
                               or before the deadline in force, in city time; none in force: on time)
  反弹率 rebound_rate          rebounded / ever_written_off
  days to write-off           mean days from feedback to the write-off that stands
  ranking                     整改率 desc, then 按期整改率 desc (null last), then fewer rebounds,
                              then fewer overdue problems; equal keys share a rank (1, 2, 2, 4);
                              listed by name within a rank
Rates are fractions rounded to 4 places, null when the denominator is 0; `percent` shows them with
one decimal everywhere (20.8%).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from ducha.kernel.calendar import local_date

UNITS_TURN = ("fed_back", "rectifying")
STANDING = ("written_off", "held")
COUNTS = ("reported", "fed_back", "rectifying", "overdue", "ever_overdue", "submitted", "submissions",
          "submissions_on_time", "awaiting_review", "accepted", "rejected", "rejections", "written_off",
          "held", "ever_written_off", "rebounded", "rebounds")
RATES = ("rectification_rate", "on_time_rate", "rebound_rate", "avg_days_to_write_off")
LABELS_ZH = {"rectification_rate": "整改率", "on_time_rate": "按期整改率", "rebound_rate": "反弹率",
             "avg_days_to_write_off": "平均销号天数"}


@dataclass(frozen=True)
class Facts:
    """What the figures need to know about one problem."""

    stage: str = "reported"  # reported | fed_back | rectifying | submitted | accepted | written_off | held
    excluded: bool = False  # withdrawn or duplicate
    fed_back_at: datetime | None = None
    deadline: date | None = None  # the deadline in force
    overdue: bool = False
    ever_overdue: bool = False
    submissions: int = 0
    submissions_on_time: int = 0
    accepted_count: int = 0
    rejection_count: int = 0
    write_off_count: int = 0
    written_off_at: datetime | None = None
    rebound_count: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.isoformat() if isinstance(value, (date, datetime)) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Facts:
        values = dict(data)
        for key in ("fed_back_at", "written_off_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        if values.get("deadline"):
            values["deadline"] = date.fromisoformat(values["deadline"])
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def submission_on_time(submitted_at: datetime, deadline: date | None) -> bool:
    return deadline is None or local_date(submitted_at) <= deadline


def fold(f: Facts, event_type: str, payload: Any, occurred_at: datetime) -> Facts:
    """The facts after one event of the problem (events of other types leave them as they are)."""
    if event_type in ("IssueWithdrawn", "IssueMarkedDuplicate"):
        return replace(f, excluded=True)
    if event_type == "IssueFedBack":
        return replace(f, fed_back_at=payload.fed_back_at, stage="fed_back" if f.stage == "reported" else f.stage)
    if event_type == "DeadlineSet":
        return replace(f, deadline=payload.deadline, overdue=False,
                       stage="rectifying" if f.stage in ("reported", "fed_back") else f.stage)
    if event_type == "DeadlineMissed":
        # Only the deadline in force, and only while it is the unit's turn, makes a problem overdue.
        if f.stage in UNITS_TURN and payload.deadline == f.deadline:
            return replace(f, overdue=True, ever_overdue=True)
        return f
    if event_type == "RectificationSubmitted":
        on_time = submission_on_time(occurred_at, f.deadline)
        return replace(f, stage="submitted", overdue=False, submissions=f.submissions + 1,
                       submissions_on_time=f.submissions_on_time + int(on_time))
    if event_type == "RectificationReopened":
        return replace(f, stage="rectifying")
    if event_type == "RectificationVerified":
        return replace(f, stage="accepted", accepted_count=f.accepted_count + 1)
    if event_type == "RectificationRejected":
        return replace(f, stage="rectifying", rejection_count=f.rejection_count + 1)
    if event_type == "ProblemWrittenOff":
        return replace(f, stage="written_off", write_off_count=f.write_off_count + 1, written_off_at=occurred_at)
    if event_type == "RevisitRecorded":
        if str(getattr(payload.outcome, "value", payload.outcome)) == "held":
            return replace(f, stage="held")
        return replace(f, stage="rectifying", rebound_count=f.rebound_count + 1)
    return f


def rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarize(problems: Iterable[Facts]) -> dict[str, Any]:
    """Every count and rate over the problems (excluded ones are skipped)."""
    c = dict.fromkeys(COUNTS, 0)
    days: list[float] = []
    for f in problems:
        if f.excluded:
            continue
        standing = f.stage in STANDING
        c["reported"] += 1
        c["fed_back"] += f.fed_back_at is not None
        c["rectifying"] += f.stage in UNITS_TURN
        c["overdue"] += f.overdue and f.stage in UNITS_TURN
        c["ever_overdue"] += f.ever_overdue
        c["submitted"] += f.submissions > 0
        c["submissions"] += f.submissions
        c["submissions_on_time"] += f.submissions_on_time
        c["awaiting_review"] += f.stage == "submitted"
        c["accepted"] += f.accepted_count > 0
        c["rejected"] += f.rejection_count > 0
        c["rejections"] += f.rejection_count
        c["written_off"] += standing
        c["held"] += f.stage == "held"
        c["ever_written_off"] += f.write_off_count > 0
        c["rebounded"] += f.rebound_count > 0
        c["rebounds"] += f.rebound_count
        if standing and f.fed_back_at is not None and f.written_off_at is not None:
            days.append((f.written_off_at - f.fed_back_at).total_seconds() / 86400)
    out: dict[str, Any] = {k: int(v) for k, v in c.items()}
    out["rectification_rate"] = rate(out["written_off"], out["fed_back"])
    out["on_time_rate"] = rate(out["submissions_on_time"], out["submissions"])
    out["rebound_rate"] = rate(out["rebounded"], out["ever_written_off"])
    out["avg_days_to_write_off"] = round(sum(days) / len(days), 2) if days else None
    return out


def rank_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    r, on_time = row.get("rectification_rate"), row.get("on_time_rate")
    return (r is None, -(r or 0.0), on_time is None, -(on_time or 0.0), int(row.get("rebounds") or 0),
            int(row.get("overdue") or 0))


def ranking(rows: Iterable[Mapping[str, Any]], id_key: str = "unit_id") -> list[dict[str, Any]]:
    """The rows (each a `summarize` result with a name and an id) in rank order, with `rank`."""
    ordered = sorted(rows, key=lambda r: (rank_key(r), str(r.get("name") or ""), str(r.get(id_key) or "")))
    out: list[dict[str, Any]] = []
    previous: tuple[Any, ...] | None = None
    rank = 0
    for position, row in enumerate(ordered, start=1):
        key = rank_key(row)
        if key != previous:
            rank, previous = position, key
        out.append({**row, "rank": rank})
    return out


def percent(value: float | None) -> str:
    """A rate as people read it: one decimal, the same on every page, bulletin and sheet."""
    return "—" if value is None else f"{value * 100:.1f}%"


__all__ = ["COUNTS", "LABELS_ZH", "RATES", "Facts", "fold", "percent", "rank_key", "ranking", "rate",
           "submission_on_time", "summarize"]
