"""Pure domain and statistics rules, without NATS or a database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ducha import figures
from ducha_verification.domain import counters, lights
from ducha_verification.domain.spotcheck import draw, seed_from
from ducha_verification.read.figures import finish


def test_draw_depends_only_on_population_and_seed() -> None:
    population = [f"P{n:03d}" for n in range(100)]
    sample = draw(population, 10, 42)
    assert sample == draw(list(reversed(population)), 10, 42) == draw(population + population[:5], 10, 42)
    assert len(set(sample)) == 10 and set(sample) <= set(population)
    assert draw(population, 10, 43) != sample
    assert draw(population[:3], 10, 1) == draw(population[:3], 3, 1) and len(draw(population[:3], 10, 1)) == 3
    assert seed_from("command-0001") == seed_from("command-0001") != seed_from("command-0002")


def _row(rng: random.Random) -> dict[str, Any]:
    fed = rng.random() < 0.8
    stage = rng.choice(["reported", "fed_back", "rectifying", "submitted", "accepted", "written_off", "held"])
    t0 = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**6))
    return {"round_id": "R1", "team_id": "T1", "unit_id": "U1", "excluded": rng.random() < 0.1, "stage": stage,
            "fed_back_at": t0 if fed else None, "deadline": None, "overdue": rng.random() < 0.3,
            "ever_overdue": rng.random() < 0.4, "submissions": (n := rng.randrange(4)),
            "submissions_on_time": rng.randrange(n + 1), "accepted_count": rng.randrange(3),
            "rejection_count": rng.randrange(3), "write_off_count": rng.randrange(3),
            "written_off_at": t0 + timedelta(seconds=rng.randrange(10**7)) if rng.random() < 0.7 else None,
            "rebound_count": rng.randrange(2)}


def test_counters_give_the_figures_of_ducha_figures() -> None:
    rng = random.Random(7)
    rows = [_row(rng) for _ in range(500)]
    sums = [0] * len(counters.COLUMNS)
    for row in rows:
        c = counters.contribution(row)
        if c is not None:
            sums = [a + b for a, b in zip(sums, c[1], strict=True)]
    facts = [figures.Facts(**{k: v for k, v in row.items() if k in figures.Facts.__dataclass_fields__})
             for row in rows]
    assert finish(dict(zip(counters.COLUMNS, sums, strict=True))) == figures.summarize(facts)


def test_rates_are_null_without_a_denominator() -> None:
    out = finish({"reported": 1})
    assert out["reported"] == 1 and out["rectification_rate"] is None and out["on_time_rate"] is None
    assert out["avg_days_to_write_off"] is None and out["rebound_rate"] is None
    assert finish({})["reported"] == 0


def test_lights() -> None:
    today = date(2026, 1, 10)
    due = lights.due(lights.RECTIFYING, date(2026, 1, 12), lights.yellow_from(date(2026, 1, 12), 3), None)
    assert lights.light(due, today) == lights.YELLOW
    assert lights.light(due, date(2026, 1, 8)) == lights.GREEN
    assert lights.light(due, date(2026, 1, 12)) == lights.YELLOW
    assert lights.light(due, date(2026, 1, 13)) == lights.RED
    waiting = lights.due(lights.AWAITING, None, None, date(2026, 1, 9))
    assert lights.light(waiting, today) == lights.RED and lights.light(waiting, date(2026, 1, 9)) == lights.GREEN
    assert lights.due("submitted", date(2026, 1, 1), None, None) is None
    # reopened after the deadline passed: no deadline in force, three working days to commit one
    assert lights.after_reopen(date(2026, 1, 9), today, 3) == (lights.AWAITING, None, date(2026, 1, 14))
    assert lights.after_reopen(date(2026, 1, 12), today, 3) == (lights.RECTIFYING, date(2026, 1, 12), None)
