"""The verification projection: what this service learns from intake and rectification, and its
own reviews, ledger, revisits, spot checks, re-checks and decisions. Every value comes from events
(times are the events' `occurred_at`), so a rebuild gives identical rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeAlias

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import intake as i
from ducha.contracts import rectification as r
from ducha.contracts import verification as v
from ducha.kernel.projection import Projection, ProjectionError
from ducha.kernel.subjects import context_filter, event_type_filter
from sqlalchemy import Connection

from . import statements as s
from .config import as_utc, local_date
from .tables import metadata, rounds, teams, units

NAME = "verification"
INTAKE_EVENTS = (i.RoundOpened, i.TeamFormed, i.TeamAssignedToUnits, i.UnitRegistered, i.UnitUpdated,
                 i.IssueReported, i.IssueAmended, i.IssueWithdrawn, i.IssueMarkedDuplicate, i.IssueFedBack)
RECTIFICATION_EVENTS = (r.DeadlineSet, r.DeadlineMissed, r.RectificationSubmitted, r.RectificationReopened)

Env: TypeAlias = Envelope[Any]
HANDLERS: dict[type[DomainEvent], Callable[[Connection, Env], None]] = {}


def on(*types: type[DomainEvent]) -> Callable[[Callable[[Connection, Env], None]], Callable[[Connection, Env], None]]:
    def deco(fn: Callable[[Connection, Env], None]) -> Callable[[Connection, Env], None]:
        for t in types:
            HANDLERS[t] = fn
        return fn
    return deco


def _problem_row(conn: Connection, problem_id: str) -> Any:
    return conn.execute(s.sel_problem, {"pid": problem_id}).first()


# ------------------------------------------------------------------ intake
@on(i.RoundOpened)
def _round(conn: Connection, e: Env) -> None:
    p: i.RoundOpened = e.payload
    s.upsert(conn, rounds, s.upd_round, {"round_id": e.aggregate_id},
             {"number": p.number, "name": p.name, "revisit_after_days": p.revisit_after_days})


@on(i.TeamFormed)
def _team(conn: Connection, e: Env) -> None:
    p: i.TeamFormed = e.payload
    s.upsert(conn, teams, s.upd_team, {"team_id": e.aggregate_id},
             {"round_id": p.round_id, "name": p.name, "leader_id": p.leader_id, "leader_name": p.leader_name})


@on(i.TeamAssignedToUnits)
def _team_units(conn: Connection, e: Env) -> None:
    for unit in e.payload.unit_ids:
        conn.execute(s.del_team_unit, {"t": e.aggregate_id, "u": unit})
        conn.execute(s.ins["ver_team_units"], {"team_id": e.aggregate_id, "unit_id": unit})


@on(i.UnitRegistered, i.UnitUpdated)
def _unit(conn: Connection, e: Env) -> None:
    s.upsert(conn, units, s.upd_unit, {"unit_id": e.aggregate_id},
             {"name": e.payload.name, "kind": e.payload.kind.value})


@on(i.IssueReported)
def _reported(conn: Connection, e: Env) -> None:
    p: i.IssueReported = e.payload
    vals = {"unit_id": e.unit_id or "_", "round_id": p.round_id, "team_id": p.team_id, "title": p.title,
            "category": p.category, "severity": p.severity.value, "publishable": p.publishable,
            "reported_at": as_utc(e.occurred_at)}
    s.on_problem(conn, s.upd_reported, e, **vals)


@on(i.IssueAmended)
def _amended(conn: Connection, e: Env) -> None:
    p: i.IssueAmended = e.payload
    # upd_amended keeps a field whose new value is None (coalesce): its parameters are named v_<col>
    s.on_problem(conn, s.upd_amended, e, v_title=p.title, v_category=p.category,
                 v_severity=p.severity.value if p.severity else None, v_publishable=p.publishable)


@on(i.IssueWithdrawn, i.IssueMarkedDuplicate)
def _excluded(conn: Connection, e: Env) -> None:
    s.on_problem(conn, s.upd_excluded, e)


@on(i.IssueFedBack)
def _fed_back(conn: Connection, e: Env) -> None:
    s.on_problem(conn, s.upd_fed_back, e, fed_back_at=as_utc(e.payload.fed_back_at))


# ------------------------------------------------------------ rectification
@on(r.DeadlineSet)
def _deadline(conn: Connection, e: Env) -> None:
    s.on_problem(conn, s.upd_deadline, e, deadline=e.payload.deadline)


@on(r.DeadlineMissed)
def _missed(conn: Connection, e: Env) -> None:
    # Only the deadline in force, and only while it is the unit's turn, makes the problem overdue.
    row = _problem_row(conn, e.aggregate_id)
    if row is not None and row.stage in ("fed_back", "rectifying"):
        s.upd_missed(conn, {"problem_id": e.aggregate_id, "deadline": e.payload.deadline},
                     last_sequence=e.sequence)


@on(r.RectificationSubmitted)
def _submitted(conn: Connection, e: Env) -> None:
    p: r.RectificationSubmitted = e.payload
    row = _problem_row(conn, e.aggregate_id)
    deadline = row.deadline if row is not None else None
    on_time = deadline is None or local_date(e.occurred_at) <= deadline
    conn.execute(s.ins["ver_submissions"], {
        "problem_id": e.aggregate_id, "submission_no": p.submission_no, "submitted_at": as_utc(e.occurred_at),
        "deadline": deadline, "on_time": on_time, "description": p.description, "evidence": s.jsonl(p.evidence),
        "outcome": None, "effectiveness": None, "assessment": None, "reasons": None, "reviewed_by": None,
        "proposed_by": None, "reviewed_at": None,
    })
    s.on_problem(conn, s.upd_submitted, e, latest_submission_no=p.submission_no, on_time_inc=int(on_time))


@on(r.RectificationReopened)
def _reopened(conn: Connection, e: Env) -> None:
    s.on_problem(conn, s.upd_reopened, e)


# ------------------------------------------------------------- verification
@on(v.ReviewProposed)
def _proposed(conn: Connection, e: Env) -> None:
    p: v.ReviewProposed = e.payload
    s.on_problem(conn, s.upd_proposed, e, proposal_submission_no=p.submission_no,
                 proposal_outcome=p.outcome.value, proposed_by=e.actor.id)


@on(v.ReviewProposalReturned)
def _returned(conn: Connection, e: Env) -> None:
    s.on_problem(conn, s.upd_returned, e)


def _review(conn: Connection, e: Env, outcome: str, **vals: Any) -> None:
    base = {"effectiveness": None, "assessment": None, "reasons": None}
    n = s.upd_review(conn, {"problem_id": e.aggregate_id, "submission_no": e.payload.submission_no},
                     **{**base, **vals}, outcome=outcome, reviewed_by=e.actor.id,
                     proposed_by=e.payload.proposed_by, reviewed_at=as_utc(e.occurred_at))
    if n != 1:
        raise ProjectionError(f"no submission {e.payload.submission_no} of {e.aggregate_id} to review")


@on(v.RectificationVerified)
def _verified(conn: Connection, e: Env) -> None:
    p: v.RectificationVerified = e.payload
    _review(conn, e, "accepted", effectiveness=p.effectiveness.value, assessment=p.assessment)
    s.on_problem(conn, s.upd_verified, e, accepted_at=as_utc(e.occurred_at), effectiveness=p.effectiveness.value,
                 assessment=p.assessment)


@on(v.RectificationRejected)
def _rejected(conn: Connection, e: Env) -> None:
    _review(conn, e, "rejected", reasons=json.dumps(list(e.payload.reasons), ensure_ascii=False))
    s.on_problem(conn, s.upd_rejected, e)


@on(v.LedgerEntryRecorded)
def _ledger_line(conn: Connection, e: Env) -> None:
    p: v.LedgerEntryRecorded = e.payload
    conn.execute(s.ins["ver_ledger"], {
        "round_id": e.aggregate_id, "ledger_no": p.ledger_no, "problem_id": p.problem_id, "unit_id": p.unit_id,
        "submission_no": p.submission_no, "written_off_at": as_utc(e.occurred_at), "written_off_by": e.actor.id,
        "revisit_due_on": None, "revisit_outcome": None, "revisited_on": None, "revisit_findings": None,
    })


@on(v.ProblemWrittenOff)
def _written_off(conn: Connection, e: Env) -> None:
    p: v.ProblemWrittenOff = e.payload
    s.on_problem(conn, s.upd_written_off, e, ledger_no=p.ledger_no, written_off_at=as_utc(e.occurred_at),
                 revisit_due_on=p.revisit_due_on)
    s.upd_ledger_due(conn, {"round_id": p.round_id, "ledger_no": p.ledger_no}, revisit_due_on=p.revisit_due_on)


@on(v.RevisitRecorded)
def _revisit(conn: Connection, e: Env) -> None:
    p: v.RevisitRecorded = e.payload
    held = p.outcome == v.RevisitOutcome.HELD
    s.on_problem(conn, s.upd_held if held else s.upd_rebounded, e)
    ledger_no = p.ledger_no
    if ledger_no is None:
        row = conn.execute(s.sel_ledger_no, {"pid": e.aggregate_id}).first()
        ledger_no = row.ledger_no if row else None
    s.upd_ledger_revisit(conn, {"problem_id": e.aggregate_id, "ledger_no": ledger_no},
                         revisit_outcome=p.outcome.value, revisited_on=p.visited_on, revisit_findings=p.findings)


@on(v.SpotCheckDrawn)
def _drawn(conn: Connection, e: Env) -> None:
    p: v.SpotCheckDrawn = e.payload
    conn.execute(s.ins["ver_spotchecks"], {
        "spotcheck_id": e.aggregate_id, "round_id": p.round_id, "population": p.population, "seed": str(p.seed),
        "sample_size": p.sample_size, "population_ids": json.dumps(list(p.population_ids)),
        "drawn_at": as_utc(e.occurred_at), "drawn_by": e.actor.id, "sequence": e.sequence,
    })
    unit_of = dict(conn.execute(s.sel_units_of, {"pids": list(p.selected_ids)}).all()) if p.selected_ids else {}
    for n, pid in enumerate(p.selected_ids, start=1):
        conn.execute(s.ins["ver_spotcheck_items"], {
            "spotcheck_id": e.aggregate_id, "problem_id": pid, "position": n, "unit_id": unit_of.get(pid),
            "confirmed": None, "findings": None, "recorded_at": None,
        })


@on(v.SpotCheckFindingRecorded)
def _finding(conn: Connection, e: Env) -> None:
    p: v.SpotCheckFindingRecorded = e.payload
    s.upd_finding(conn, {"spotcheck_id": e.aggregate_id, "problem_id": p.problem_id},
                  confirmed=p.confirmed, findings=p.findings, recorded_at=as_utc(e.occurred_at))


@on(v.RecheckRecorded)
def _recheck(conn: Connection, e: Env) -> None:
    p: v.RecheckRecorded = e.payload
    row = _problem_row(conn, p.problem_id)
    conn.execute(s.ins["ver_recheck_items"], {
        "recheck_id": e.aggregate_id, "problem_id": p.problem_id, "round_id": p.round_id, "subject": p.subject,
        "unit_id": row.unit_id if row else None, "team_id": row.team_id if row else None,
        "status": p.status.value, "detail": p.detail, "means": json.dumps(list(p.means), ensure_ascii=False),
        "recorded_at": as_utc(e.occurred_at), "sequence": e.sequence,
    })


@on(v.AccountabilityDecided)
def _decision(conn: Connection, e: Env) -> None:
    p: v.AccountabilityDecided = e.payload
    row = _problem_row(conn, p.problem_id) if p.problem_id else None
    conn.execute(s.ins["ver_decisions"], {
        "decision_id": e.aggregate_id, "kind": p.kind.value, "problem_id": p.problem_id, "unit_id": p.unit_id,
        "round_id": p.round_id, "team_id": row.team_id if row else None, "person_name": p.person_name,
        "basis": p.basis, "decision": p.decision, "decided_at": as_utc(e.occurred_at), "decided_by": e.actor.id,
        "sequence": e.sequence,
    })


class VerificationProjection(Projection):
    name = NAME
    version = 1
    subjects = (
        *(event_type_filter(c.event_type, "intake") for c in INTAKE_EVENTS),
        *(event_type_filter(c.event_type, "rectification") for c in RECTIFICATION_EVENTS),
        context_filter("verification"),
    )
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        handler = HANDLERS.get(type(event.payload))
        if handler is not None:
            handler(conn, event)
