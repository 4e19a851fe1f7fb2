"""Pure domain and statistics rules, without NATS or a database."""

from __future__ import annotations

from types import SimpleNamespace

from ducha_verification.domain.spotcheck import draw, seed_from
from ducha_verification.stats import summarize


def test_draw_depends_only_on_population_and_seed() -> None:
    population = [f"P{n:03d}" for n in range(100)]
    sample = draw(population, 10, 42)
    assert sample == draw(list(reversed(population)), 10, 42) == draw(population + population[:5], 10, 42)
    assert len(set(sample)) == 10 and set(sample) <= set(population)
    assert draw(population, 10, 43) != sample
    assert draw(population[:3], 10, 1) == draw(population[:3], 3, 1) and len(draw(population[:3], 10, 1)) == 3
    assert seed_from("command-0001") == seed_from("command-0001") != seed_from("command-0002")


def test_rates_are_null_without_a_denominator() -> None:
    reported_only = SimpleNamespace(
        fed_back_at=None, stage="reported", overdue=False, ever_overdue=False, submissions=0, submissions_on_time=0,
        accepted_count=0, rejection_count=0, rebound_count=0, written_off_at=None, deadline=None,
        write_off_count=0)
    out = summarize([reported_only])
    assert out["reported"] == 1 and out["rectification_rate"] is None and out["on_time_rate"] is None
    assert out["avg_days_to_write_off"] is None and out["rebound_rate"] is None
    assert summarize([])["reported"] == 0
