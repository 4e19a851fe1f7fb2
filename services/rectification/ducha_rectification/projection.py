"""The rectification projection: intake's facts about problems (rounds, teams, units, problems as
reported and fed back), this context's own events (the ledger columns), and verification's outcomes
(accepted, written off). Statements are built once with bindparams; `apply` only executes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import intake as ik
from ducha.contracts import rectification as rc
from ducha.contracts import verification as vf
from ducha.kernel.projection import Projection, ProjectionError
from ducha.kernel.subjects import context_filter
from sqlalchemy import Connection, Text, bindparam, case, select, update

from .domain.facts import DEFAULT_COMMIT_DAYS, DEFAULT_MAX_DAYS, DEFAULT_SEVERE_MAX_DAYS, DEFAULT_YELLOW_DAYS
from .tables import extensions, helps, metadata, problems, reminders, rounds, teams, timeline, units
from .timeutil import add_working_days, local_date

P = problems.c
VERIFICATION_PROBLEMS = "ducha.ev.verification.*.problem.*.*"


def _set(table: Any, key: Any, **values: Any) -> Any:
    """UPDATE table SET ... WHERE key = :k, with values given as bindparams or SQL expressions."""
    return update(table).where(key == bindparam("k")).values(**values)


def _b(*names: str) -> dict[str, Any]:
    return {n: bindparam(f"v_{n}") for n in names}


_round_policy = select(rounds.c.yellow_days, rounds.c.max_days, rounds.c.severe_max_days, rounds.c.commit_days).where(
    rounds.c.round_id == bindparam("k"))
_PLAN = bindparam("v_plan", type_=Text)
_problem_yellow_days = select(P.yellow_days).where(P.problem_id == bindparam("k"))
_insert_problem = problems.insert()
_insert_round, _insert_team, _insert_unit = rounds.insert(), teams.insert(), units.insert()
_insert_extension, _insert_reminder, _insert_help = extensions.insert(), reminders.insert(), helps.insert()
_insert_timeline = timeline.insert()
_amend = {f: _set(problems, P.problem_id, **_b(f, "updated_at")) for f in ("title", "category", "severity",
                                                                         "publishable")}
_intake_closed = _set(problems, P.problem_id, **_b("intake_status", "status", "updated_at"))
_fed_back = _set(
    problems, P.problem_id, fed_back=True,
    status=case((P.status == "reported", "awaiting_commitment"), else_=P.status),
    **_b("responsible_person", "responsible_person_title", "requirements", "commit_deadline_by",
         "max_deadline", "fed_back_at", "updated_at"),
)
_deadline = _set(
    problems, P.problem_id,
    status=case((P.status == "awaiting_commitment", "rectifying"), else_=P.status),
    deadline_changes=P.deadline_changes + 1, postponements=P.postponements + bindparam("v_later"),
    plan=case((_PLAN == "", P.plan), else_=_PLAN),  # an empty plan keeps the previous one
    **_b("deadline", "yellow_from", "updated_at"),
)
_progress = _set(problems, P.problem_id, **_b("progress", "last_progress_at", "updated_at"))
_pending_ext = _set(problems, P.problem_id, **_b("pending_extension_id", "updated_at"))
_reminders_delta = _set(problems, P.problem_id, open_reminders=P.open_reminders + bindparam("v_delta"),
                        **_b("updated_at"))
_dispatch = _set(problems, P.problem_id, dispatch_count=P.dispatch_count + 1,
                 **_b("last_dispatch_on", "updated_at"))
_submitted = _set(problems, P.problem_id, status="submitted", **_b("submission_no", "submitted_at", "updated_at"))
_reopen_basis = select(P.deadline, P.yellow_from, P.commit_deadline_by, P.commitment_missed,
                       P.deadline_commit_days).where(P.problem_id == bindparam("k"))
_reopened = _set(
    problems, P.problem_id, reopen_count=P.reopen_count + 1,
    rebound_count=P.rebound_count + bindparam("v_rebound"),
    **_b("status", "deadline", "yellow_from", "commit_deadline_by", "commitment_missed", "last_reopen_cause",
         "last_rejection_reasons", "last_reopen_seq", "updated_at"),
)
_yellow = _set(problems, P.problem_id, **_b("yellow_for", "updated_at"))
_red = _set(problems, P.problem_id, **_b("red_for", "updated_at"))
_commit_missed = _set(problems, P.problem_id, commitment_missed=True, **_b("updated_at"))
_accepted = _set(problems, P.problem_id, status="accepted", **_b("accepted_seq", "updated_at"))
_written_off = _set(problems, P.problem_id, status="written_off", **_b("written_off_seq", "ledger_no",
                                                                        "updated_at"))
_ext_decided = _set(extensions, extensions.c.request_id, **_b("status", "new_deadline", "decision_note",
                                                              "decided_at"))
_reminder_ack = _set(reminders, reminders.c.reminder_id, **_b("acknowledged_at", "note"))
_helper_assigned = _set(helps, helps.c.help_id, **_b("helper_id", "helper_name", "assigned_at"))
_help_reported = _set(helps, helps.c.help_id, reports=helps.c.reports + 1, **_b("last_report"))
_round_closed = _set(rounds, rounds.c.round_id, closed=True)
_unit_updated = _set(units, units.c.unit_id, **_b("name"))


def _v(**values: Any) -> dict[str, Any]:
    return {f"v_{k}": v for k, v in values.items()}


Handler = Callable[[Connection, Envelope[Any], Any], None]


class RectificationProjection(Projection):
    name = "rectification_ledger"
    version = 2  # 2: supervision_no
    # Whole intake context (rounds, teams, units, problems; the rest is ignored cheaply), our own
    # context, and verification's problem aggregates (verified, rejected, written off, revisits).
    subjects = (context_filter("intake"), context_filter("rectification"), VERIFICATION_PROBLEMS)
    metadata = metadata

    def __init__(self) -> None:
        # Round policies by round id: a round's policy never changes once opened, so reading it
        # once per round instead of once per reported problem is exact (and saves a query per
        # problem on replay). Filled from the round's own event or, on a resumed runner, the table.
        self._policies: dict[str, tuple[int, int, int, int]] = {}
        self._handlers: dict[type[DomainEvent], Handler] = {
            ik.RoundOpened: self._round_opened, ik.RoundClosed: self._round_closed,
            ik.TeamFormed: self._team_formed, ik.UnitRegistered: self._unit_registered,
            ik.UnitUpdated: self._unit_updated, ik.IssueReported: self._reported,
            ik.IssueAmended: self._amended, ik.IssueWithdrawn: self._withdrawn,
            ik.IssueMarkedDuplicate: self._duplicate, ik.IssueFedBack: self._fed_back,
            rc.DeadlineSet: self._deadline_set, rc.ProgressReported: self._progress,
            rc.ExtensionRequested: self._ext_requested, rc.ExtensionGranted: self._ext_granted,
            rc.ExtensionRefused: self._ext_refused, rc.ReminderIssued: self._reminder_issued,
            rc.ReminderAcknowledged: self._reminder_ack, rc.DispatchRecorded: self._dispatch,
            rc.HelpRequested: self._help_requested, rc.HelperAssigned: self._helper_assigned,
            rc.HelpReported: self._help_reported, rc.RectificationSubmitted: self._submitted,
            rc.RectificationReopened: self._reopened, rc.DeadlineApproaching: self._yellow,
            rc.DeadlineMissed: self._red, rc.DeadlineCommitmentMissed: self._commit_missed,
            vf.RectificationVerified: self._verified, vf.ProblemWrittenOff: self._written_off,
        }

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        handler = self._handlers.get(type(event.payload))
        if handler is not None:
            handler(conn, event, event.payload)
        if event.aggregate_type == "problem" and event.context in ("rectification", "verification"):
            conn.execute(_insert_timeline, {
                "sequence": event.sequence, "problem_id": event.aggregate_id, "context": event.context,
                "event_type": event.event_type, "occurred_at": event.occurred_at,
                "actor_id": event.actor.id, "actor_name": event.actor.name, "actor_role": event.actor.role.value,
                "data": event.payload.model_dump(mode="json"),
            })

    # ------------------------------------------------------------ intake
    def _round_opened(self, conn: Connection, e: Envelope[Any], p: ik.RoundOpened) -> None:
        self._policies[e.aggregate_id] = (p.yellow_days, p.max_rectification_days,
                                          p.severe_max_rectification_days, p.deadline_commit_days)
        conn.execute(_insert_round, {
            "round_id": e.aggregate_id, "number": p.number, "name": p.name, "yellow_days": p.yellow_days,
            "max_days": p.max_rectification_days, "severe_max_days": p.severe_max_rectification_days,
            "commit_days": p.deadline_commit_days, "closed": False})

    def _round_closed(self, conn: Connection, e: Envelope[Any], p: Any) -> None:
        conn.execute(_round_closed, {"k": e.aggregate_id})

    def _team_formed(self, conn: Connection, e: Envelope[Any], p: ik.TeamFormed) -> None:
        conn.execute(_insert_team, {"team_id": e.aggregate_id, "round_id": p.round_id, "name": p.name,
                                      "leader_id": p.leader_id, "leader_name": p.leader_name})

    def _unit_registered(self, conn: Connection, e: Envelope[Any], p: ik.UnitRegistered) -> None:
        conn.execute(_insert_unit, {"unit_id": e.aggregate_id, "name": p.name})

    def _unit_updated(self, conn: Connection, e: Envelope[Any], p: ik.UnitUpdated) -> None:
        conn.execute(_unit_updated, {"k": e.aggregate_id, **_v(name=p.name)})

    def _reported(self, conn: Connection, e: Envelope[Any], p: ik.IssueReported) -> None:
        if e.unit_id is None:
            raise ProjectionError(f"problem {e.aggregate_id} has no unit")
        policy = self._policies.get(p.round_id)
        if policy is None:
            row = conn.execute(_round_policy, {"k": p.round_id}).first()
            if row is not None:
                policy = self._policies[p.round_id] = (row[0], row[1], row[2], row[3])
        yellow, most, severe_most, commit_days = policy or (
            DEFAULT_YELLOW_DAYS, DEFAULT_MAX_DAYS, DEFAULT_SEVERE_MAX_DAYS, DEFAULT_COMMIT_DAYS)
        conn.execute(_insert_problem, {
            "problem_id": e.aggregate_id, "unit_id": e.unit_id, "round_id": p.round_id, "team_id": p.team_id,
            "title": p.title, "supervision_no": p.supervision_no or None, "category": p.category,
            "severity": p.severity.value, "publishable": p.publishable, "intake_status": "reported", "fed_back": False,
            "yellow_days": yellow, "max_days": most, "severe_max_days": severe_most,
            "deadline_commit_days": commit_days, "status": "reported",
            "progress": 0, "submission_no": 0, "deadline_changes": 0, "postponements": 0, "reopen_count": 0,
            "rebound_count": 0, "commitment_missed": False, "open_reminders": 0, "dispatch_count": 0,
            "last_reopen_seq": 0, "updated_at": e.occurred_at,
        })

    def _amended(self, conn: Connection, e: Envelope[Any], p: ik.IssueAmended) -> None:
        for name, stmt in _amend.items():
            value = getattr(p, name)
            if value is not None:
                conn.execute(stmt, {"k": e.aggregate_id, **_v(updated_at=e.occurred_at),
                                    f"v_{name}": getattr(value, "value", value)})

    def _withdrawn(self, conn: Connection, e: Envelope[Any], p: Any) -> None:
        conn.execute(_intake_closed, {"k": e.aggregate_id, **_v(intake_status="withdrawn", status="withdrawn",
                                                               updated_at=e.occurred_at)})

    def _duplicate(self, conn: Connection, e: Envelope[Any], p: Any) -> None:
        conn.execute(_intake_closed, {"k": e.aggregate_id, **_v(intake_status="duplicate", status="duplicate",
                                                               updated_at=e.occurred_at)})

    def _fed_back(self, conn: Connection, e: Envelope[Any], p: ik.IssueFedBack) -> None:
        self._must(conn.execute(_fed_back, {"k": e.aggregate_id, **_v(
            responsible_person=p.responsible_person, responsible_person_title=p.responsible_person_title,
            requirements=p.requirements, commit_deadline_by=p.commit_deadline_by, max_deadline=p.max_deadline,
            fed_back_at=p.fed_back_at, updated_at=e.occurred_at)}), e)

    # ------------------------------------------------------ rectification
    @staticmethod
    def _must(result: Any, e: Envelope[Any]) -> None:
        if result.rowcount != 1:
            raise ProjectionError(f"{e.event_type} for unknown problem {e.aggregate_id}")

    def _deadline_set(self, conn: Connection, e: Envelope[Any], p: rc.DeadlineSet) -> None:
        yellow_days = conn.execute(_problem_yellow_days, {"k": e.aggregate_id}).scalar()
        if yellow_days is None:
            raise ProjectionError(f"DeadlineSet for unknown problem {e.aggregate_id}")
        later = int(p.previous_deadline is not None and p.deadline > p.previous_deadline)
        conn.execute(_deadline, {"k": e.aggregate_id, **_v(
            deadline=p.deadline, yellow_from=p.deadline - timedelta(days=yellow_days), later=later,
            plan=p.plan, updated_at=e.occurred_at)})

    def _progress(self, conn: Connection, e: Envelope[Any], p: rc.ProgressReported) -> None:
        self._must(conn.execute(_progress, {"k": e.aggregate_id, **_v(
            progress=p.percent, last_progress_at=e.occurred_at, updated_at=e.occurred_at)}), e)

    def _ext_requested(self, conn: Connection, e: Envelope[Any], p: rc.ExtensionRequested) -> None:
        conn.execute(_insert_extension, {
            "request_id": p.request_id, "problem_id": e.aggregate_id, "requested_deadline": p.requested_deadline,
            "reason": p.reason, "requested_at": e.occurred_at, "status": "pending"})
        conn.execute(_pending_ext, {"k": e.aggregate_id, **_v(pending_extension_id=p.request_id,
                                                             updated_at=e.occurred_at)})

    def _ext_granted(self, conn: Connection, e: Envelope[Any], p: rc.ExtensionGranted) -> None:
        self._ext_decided(conn, e, p.request_id, "granted", p.new_deadline, p.note)

    def _ext_refused(self, conn: Connection, e: Envelope[Any], p: rc.ExtensionRefused) -> None:
        self._ext_decided(conn, e, p.request_id, "refused", None, p.reason)

    def _ext_decided(self, conn: Connection, e: Envelope[Any], request_id: str, status: str,
                     new_deadline: Any, note: str) -> None:
        conn.execute(_ext_decided, {"k": request_id, **_v(status=status, new_deadline=new_deadline,
                                                          decision_note=note, decided_at=e.occurred_at)})
        conn.execute(_pending_ext, {"k": e.aggregate_id, **_v(pending_extension_id=None, updated_at=e.occurred_at)})

    def _reminder_issued(self, conn: Connection, e: Envelope[Any], p: rc.ReminderIssued) -> None:
        conn.execute(_insert_reminder, {
            "reminder_id": p.reminder_id, "problem_id": e.aggregate_id, "kind": p.kind.value, "text": p.text,
            "issued_by": e.actor.name or e.actor.id, "issued_at": e.occurred_at})
        conn.execute(_reminders_delta, {"k": e.aggregate_id, **_v(delta=1, updated_at=e.occurred_at)})

    def _reminder_ack(self, conn: Connection, e: Envelope[Any], p: rc.ReminderAcknowledged) -> None:
        conn.execute(_reminder_ack, {"k": p.reminder_id, **_v(acknowledged_at=e.occurred_at, note=p.note)})
        conn.execute(_reminders_delta, {"k": e.aggregate_id, **_v(delta=-1, updated_at=e.occurred_at)})

    def _dispatch(self, conn: Connection, e: Envelope[Any], p: rc.DispatchRecorded) -> None:
        conn.execute(_dispatch, {"k": e.aggregate_id, **_v(last_dispatch_on=p.visited_on, updated_at=e.occurred_at)})

    def _help_requested(self, conn: Connection, e: Envelope[Any], p: rc.HelpRequested) -> None:
        conn.execute(_insert_help, {
            "help_id": p.help_id, "problem_id": e.aggregate_id, "unit_id": e.unit_id, "difficulty": p.difficulty,
            "requested_at": e.occurred_at, "reports": 0})

    def _helper_assigned(self, conn: Connection, e: Envelope[Any], p: rc.HelperAssigned) -> None:
        conn.execute(_helper_assigned, {"k": p.help_id, **_v(helper_id=p.helper_id, helper_name=p.helper_name,
                                                             assigned_at=e.occurred_at)})

    def _help_reported(self, conn: Connection, e: Envelope[Any], p: rc.HelpReported) -> None:
        conn.execute(_help_reported, {"k": p.help_id, **_v(last_report=p.text)})

    def _submitted(self, conn: Connection, e: Envelope[Any], p: rc.RectificationSubmitted) -> None:
        self._must(conn.execute(_submitted, {"k": e.aggregate_id, **_v(
            submission_no=p.submission_no, submitted_at=e.occurred_at, updated_at=e.occurred_at)}), e)

    def _reopened(self, conn: Connection, e: Envelope[Any], p: rc.RectificationReopened) -> None:
        row = conn.execute(_reopen_basis, {"k": e.aggregate_id}).first()
        if row is None:
            raise ProjectionError(f"RectificationReopened for unknown problem {e.aggregate_id}")
        reopened_on = local_date(e.occurred_at)
        keep = {"status": "rectifying", "deadline": row.deadline, "yellow_from": row.yellow_from,
                "commit_deadline_by": row.commit_deadline_by, "commitment_missed": row.commitment_missed}
        if row.deadline is not None and row.deadline < reopened_on:
            # Same rule as ProblemState: an expired deadline is not in force; a new one is due.
            keep = {"status": "awaiting_commitment", "deadline": None, "yellow_from": None,
                    "commit_deadline_by": add_working_days(reopened_on, row.deadline_commit_days),
                    "commitment_missed": False}
        conn.execute(_reopened, {"k": e.aggregate_id, **_v(
            rebound=int(p.cause == rc.ReopenCause.REBOUNDED), last_reopen_cause=p.cause.value,
            last_rejection_reasons=list(p.reasons), last_reopen_seq=e.sequence, updated_at=e.occurred_at,
            **keep)})

    def _yellow(self, conn: Connection, e: Envelope[Any], p: rc.DeadlineApproaching) -> None:
        conn.execute(_yellow, {"k": e.aggregate_id, **_v(yellow_for=p.deadline, updated_at=e.occurred_at)})

    def _red(self, conn: Connection, e: Envelope[Any], p: rc.DeadlineMissed) -> None:
        conn.execute(_red, {"k": e.aggregate_id, **_v(red_for=p.deadline, updated_at=e.occurred_at)})

    def _commit_missed(self, conn: Connection, e: Envelope[Any], p: Any) -> None:
        conn.execute(_commit_missed, {"k": e.aggregate_id, **_v(updated_at=e.occurred_at)})

    # ------------------------------------------------------- verification
    # Unknown problems are ignored here: another context's event is not ours to dead-letter.
    def _verified(self, conn: Connection, e: Envelope[Any], p: Any) -> None:
        conn.execute(_accepted, {"k": e.aggregate_id, **_v(accepted_seq=e.sequence, updated_at=e.occurred_at)})

    def _written_off(self, conn: Connection, e: Envelope[Any], p: vf.ProblemWrittenOff) -> None:
        conn.execute(_written_off, {"k": e.aggregate_id, **_v(written_off_seq=e.sequence, ledger_no=p.ledger_no,
                                                             updated_at=e.occurred_at)})
