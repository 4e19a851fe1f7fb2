"""The one definition of every figure (ducha.figures): folding a problem's events, the rates, the
ranking order and its tie-break, and how a rate reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from ducha import figures
from ducha.figures import Facts, fold, percent, ranking, summarize
from ducha.kernel.calendar import city_minute

T0 = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)


def life(*steps: tuple[str, object], at: datetime = T0) -> Facts:
    f = Facts()
    for event_type, payload in steps:
        f = fold(f, event_type, payload, at)
    return f


def test_a_rebound_counts_against_the_rebound_rate_and_the_rectification_rate() -> None:
    fed = ("IssueFedBack", SimpleNamespace(fed_back_at=T0))
    deadline = ("DeadlineSet", SimpleNamespace(deadline=date(2026, 1, 20)))
    submitted = ("RectificationSubmitted", None)
    written_off = ("ProblemWrittenOff", None)
    held = life(fed, deadline, submitted, ("RectificationVerified", None), written_off,
                ("RevisitRecorded", SimpleNamespace(outcome="held")))
    rebounded = life(fed, deadline, submitted, ("RectificationVerified", None), written_off,
                     ("RevisitRecorded", SimpleNamespace(outcome="rebounded")))
    out = summarize([held, rebounded, life(fed)])
    assert (out["fed_back"], out["written_off"], out["ever_written_off"], out["rebounded"]) == (3, 1, 2, 1)
    assert out["rectification_rate"] == 0.3333 and out["rebound_rate"] == 0.5 and out["on_time_rate"] == 1.0


def test_a_submission_after_the_deadline_in_city_time_is_late() -> None:
    # 2026-01-20 17:00 UTC is already 2026-01-21 in Beijing
    late = fold(Facts(deadline=date(2026, 1, 20)), "RectificationSubmitted", None,
                datetime(2026, 1, 20, 17, 0, tzinfo=UTC))
    assert (late.submissions, late.submissions_on_time) == (1, 0)


def test_an_old_deadline_missed_does_not_make_a_problem_overdue() -> None:
    f = Facts(stage="rectifying", deadline=date(2026, 2, 1))
    assert not fold(f, "DeadlineMissed", SimpleNamespace(deadline=date(2026, 1, 20)), T0).overdue
    assert fold(f, "DeadlineMissed", SimpleNamespace(deadline=date(2026, 2, 1)), T0).overdue


def test_ranking_is_sorted_with_shared_ranks_and_a_stable_tie_break() -> None:
    rows = [{"unit_id": "B", "name": "乙", "rectification_rate": 0.5, "on_time_rate": None, "rebounds": 0},
            {"unit_id": "A", "name": "甲", "rectification_rate": 0.5, "on_time_rate": None, "rebounds": 0},
            {"unit_id": "C", "name": "丙", "rectification_rate": None, "on_time_rate": None, "rebounds": 0},
            {"unit_id": "D", "name": "丁", "rectification_rate": 0.8, "on_time_rate": 0.5, "rebounds": 1},
            {"unit_id": "E", "name": "戊", "rectification_rate": 0.8, "on_time_rate": 0.5, "rebounds": 0}]
    out = ranking(rows)
    # equal keys share rank 3 and are listed by name (code point order: 乙 before 甲); no rate: last
    assert [(r["unit_id"], r["rank"]) for r in out] == [("E", 1), ("D", 2), ("B", 3), ("A", 3), ("C", 5)]
    assert [r["rank"] for r in ranking(rows)] == [r["rank"] for r in ranking(list(reversed(rows)))]
    assert [r["unit_id"] for r in ranking(rows)] == [r["unit_id"] for r in ranking(list(reversed(rows)))]


def test_rates_read_the_same_everywhere() -> None:
    assert percent(0.2083) == "20.8%" and percent(None) == "—" and percent(1.0) == "100.0%"
    assert figures.rate(5, 24) == 0.2083 and figures.rate(1, 0) is None
    assert Facts.from_json(life(("IssueFedBack", SimpleNamespace(fed_back_at=T0))).to_json()).fed_back_at == T0


def test_times_are_shown_in_beijing_time() -> None:
    assert city_minute(datetime(2026, 1, 6, 8, 4, tzinfo=UTC)) == "2026-01-06 16:04"
    assert city_minute("2026-01-06T08:04:00") == "2026-01-06 16:04"  # naive = UTC, as the services store it
    assert city_minute(None) == ""
