"""The demo city's past: problems reported over the last weeks, so the demo shows what a running
round looks like — red lights and overdue problems, yellow and green, write-offs spread over time and
a trend chart with history.

The services only act "now", so these events are appended the way the services would append them
(same aggregates, payloads and actors, 督办编号 and ledger numbers from their series), by a
CommandRunner whose clock (`ducha.kernel.clock.ManualClock`) is set to the day each thing happened.
The services' reactions then run on them as on any event (deadlines passed → DeadlineMissed)."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ducha.contracts import registry
from ducha.contracts.base import Actor, DomainEvent
from ducha.contracts.common import EvidenceRef, FoundBy, Severity
from ducha.contracts.intake import IssueFedBack, IssueReported, SupervisionNumberIssued
from ducha.contracts.rectification import (
    DeadlineChange,
    DeadlineSet,
    ProgressReported,
    RectificationSubmitted,
)
from ducha.contracts.verification import (
    Effectiveness,
    LedgerEntryRecorded,
    ProblemWrittenOff,
    RectificationVerified,
)
from ducha.kernel.clock import ManualClock
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.eventstore import EventStore, LoadedAggregate
from ducha.kernel.subjects import AggregateKey

from . import city

log = logging.getLogger("ducha.web.demo")


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)  # 08:00 UTC+h = office hours in Beijing


class Past:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def run(self, day: date, hour: int, actor: Actor, keys: Sequence[AggregateKey],
                  decide: Any) -> None:
        runner = CommandRunner(self.store, ManualClock(_at(day, hour)), "demo")
        await runner.run_multi(list(keys), CommandContext(actor=actor, command_id=uuid.uuid4().hex), decide)


async def history(nats_url: str | None, round_id: str, round_number: int, round_year: int, teams: list[Any],
                  today: date, rng: random.Random, problems: int, unit_actor: Any) -> dict[str, int]:
    """Append `problems` problems' lives over the last five weeks; returns counts by outcome."""
    import nats

    url = nats_url
    if not url:
        log.warning("no DUCHA_NATS_URL: the demo has no history (no red lights, a one-day trend)")
        return {}
    nc = await nats.connect(url)
    past = Past(EventStore(nc, registry))
    series = AggregateKey("intake", "supervisionseries", round_id)
    ledger = AggregateKey("verification", "ledger", round_id)
    counts: dict[str, int] = {}
    try:
        plans = sorted((rng.randint(8, 35), i) for i in range(problems))  # oldest first: numbers in time order
        for age, i in reversed(plans):
            team = teams[i % len(teams)]
            await _life(past, team, i, today, today - timedelta(days=age), rng, series, ledger, round_id,
                        round_number, round_year, unit_actor, counts)
    finally:
        await nc.drain()
    return counts


async def _life(past: Past, team: Any, i: int, today: date, found: date, rng: random.Random,
                series: AggregateKey, ledger: AggregateKey, round_id: str, round_number: int, round_year: int,
                unit_actor: Any, counts: dict[str, int]) -> None:
    from .demo import PLACES, PLANS, PROBLEM_TEMPLATES

    area = rng.choice(city.FOCUS_AREAS)
    unit = rng.choice(team.units)
    reporter = rng.choice(team.members)
    title, desc = rng.choice(PROBLEM_TEMPLATES[area])
    place, n = rng.choice(PLACES), rng.randint(3, 60)
    severity = rng.choices([Severity.GENERAL, Severity.SERIOUS, Severity.SEVERE], [70, 22, 8])[0]
    pid = uuid.uuid4().hex
    pkey = AggregateKey("intake", "problem", pid, unit)
    reported = IssueReported(round_id=round_id, team_id=team.id, content_id=team.contents[area],
                             title=title.format(place=place, n=n)[:100], description=desc.format(place=place, n=n),
                             category=area, severity=severity, location=f"{city.UNIT_NAMES[unit]}{place}",
                             found_on=found, found_by=FoundBy.ON_SITE, publishable=rng.random() < 0.4)

    def numbered(loaded: dict[AggregateKey, LoadedAggregate]) -> dict[AggregateKey, Sequence[DomainEvent]]:
        no = loaded[series].version + 1
        text = f"{round_year}-{round_number}-{no:04d}"
        return {pkey: [reported.model_copy(update={"supervision_no": text})],
                series: [SupervisionNumberIssued(number=no, supervision_no=text, problem_id=pid)]}

    await past.run(found, 2, reporter, [pkey, series], numbered)
    fed_on = found + timedelta(days=1)
    max_days = 30 if severity == Severity.SEVERE else 90
    fed = IssueFedBack(responsible_person=city.PERSON_NAMES.get(f"P1{unit}", "负责人"),
                       responsible_person_title="分管负责同志", requirements="立行立改，按期报送整改情况和佐证材料。",
                       commit_deadline_by=fed_on + timedelta(days=3), max_deadline=fed_on + timedelta(days=max_days),
                       fed_back_at=_at(fed_on, 3))
    await past.run(fed_on, 3, reporter, [pkey], lambda _l: {pkey: [fed]})
    # the unit commits a deadline two days later: some have passed by now (red), some are close
    # (yellow), most are ahead (green); some are rectified and written off along the way
    commit_on = fed_on + timedelta(days=2)
    deadline = commit_on + timedelta(days=rng.randint(5, 40))
    rkey = AggregateKey("rectification", "problem", pid, unit)
    ua = unit_actor(unit)
    await past.run(commit_on, 4, ua, [rkey], lambda _l: {rkey: [
        DeadlineSet(deadline=deadline, change=DeadlineChange.COMMITTED, plan=rng.choice(PLANS)),
        ProgressReported(percent=rng.choice([20, 40, 60]), text="已召开专题会议研究部署，整改方案已印发。")]})
    done_on = commit_on + timedelta(days=rng.randint(3, 30))
    if rng.random() < 0.45 and done_on < today:
        await past.run(done_on, 6, ua, [rkey], lambda _l: {rkey: [RectificationSubmitted(
            submission_no=1, description="已按整改方案完成整改，现申请验收。",
            evidence=(EvidenceRef(ref=f"城整改〔{round_year}〕{rng.randint(10, 99)}号", name="整改报告文件"),))]})
        vkey = AggregateKey("verification", "problem", pid, unit)
        check_on = min(today, done_on + timedelta(days=rng.randint(1, 4)))
        await past.run(check_on, 7, reporter, [vkey], lambda _l: {vkey: [RectificationVerified(
            submission_no=1, effectiveness=Effectiveness.GOOD, assessment="整改措施有力，成效明显。")]})

        def write_off(loaded: dict[AggregateKey, LoadedAggregate]) -> dict[AggregateKey, Sequence[DomainEvent]]:
            no = loaded[ledger].version + 1
            return {ledger: [LedgerEntryRecorded(ledger_no=no, problem_id=pid, unit_id=unit, submission_no=1)],
                    vkey: [ProblemWrittenOff(round_id=round_id, ledger_no=no, submission_no=1,
                                             revisit_due_on=check_on + timedelta(days=30))]}

        await past.run(check_on, 8, reporter, [ledger, vkey], write_off)
        counts["written_off"] = counts.get("written_off", 0) + 1
    else:
        light = "red" if deadline < today else "yellow" if deadline <= today + timedelta(days=3) else "green"
        counts[light] = counts.get(light, 0) + 1
