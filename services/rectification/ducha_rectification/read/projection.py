"""The rectification projection: intake's facts about problems (rounds, teams, units, problems as
reported and fed back), this context's own events (the ledger columns), and verification's outcomes
(accepted, written off, and the return path: a rejection or a rebound reopens the problem's row).

Dispatch by `@Projection.handles`; the handlers take the batch (rows in memory) instead of the
connection. Set-based: a batch of events is applied to the problems' rows in memory (one SELECT for the rows the
batch touches), then each row is written once (one executemany per shape of change); the other
tables' statements are queued in log order and sent in runs of the same statement. Every statement
is built once at import, so the kernel's fast path (`ducha.kernel.fastsql`) compiles it once.

A rejection (RectificationRejected) or a rebound (RevisitRecorded, rebounded) reopens the row at the
verification event's own sequence: a client holding the rejection's sequence reads the reopened
problem with `?min_sequence=`. The reaction's RectificationReopened that follows (same source event)
changes nothing more on the row, except when it falls on a later city day than the verification
event: then the row follows the reopen's own date, as the aggregate does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import intake as ik
from ducha.contracts import rectification as rc
from ducha.contracts import verification as vf
from ducha.kernel.calendar import add_working_days, local_date
from ducha.kernel.projection import Projection, ProjectionError
from ducha.kernel.subjects import context_filter
from sqlalchemy import Connection, bindparam, select, update

from ..domain.facts import DEFAULT_COMMIT_DAYS, DEFAULT_MAX_DAYS, DEFAULT_SEVERE_MAX_DAYS, DEFAULT_YELLOW_DAYS
from .tables import extensions, helps, metadata, problems, reminders, rounds, teams, timeline, units

P = problems.c
VERIFICATION_PROBLEMS = "ducha.ev.verification.*.problem.*.*"
COLUMNS = tuple(c.key for c in problems.columns)
Row = dict[str, Any]
# What the handlers read of a stored row (they write only the columns they change).
READ = ("problem_id", "status", "yellow_days", "deadline", "deadline_commit_days", "plan", "deadline_changes",
        "postponements", "open_reminders", "dispatch_count", "reopen_count", "rebound_count", "reopen_source",
        "reopened_on")

# ------------------------------------------------------------------ statements, built once
_rows_of = select(*(problems.c[name] for name in READ)).where(P.problem_id.in_(bindparam("ids", expanding=True)))
_round_policies = select(rounds.c.round_id, rounds.c.yellow_days, rounds.c.max_days, rounds.c.severe_max_days,
                         rounds.c.commit_days).where(rounds.c.round_id.in_(bindparam("ids", expanding=True)))
_insert_problem = problems.insert()
_insert_timeline = timeline.insert()
_insert_round, _insert_team, _insert_unit = rounds.insert(), teams.insert(), units.insert()
_insert_extension, _insert_reminder, _insert_help = extensions.insert(), reminders.insert(), helps.insert()


def _set(table: Any, key: Any, *names: str, **values: Any) -> Any:
    """UPDATE table SET name = :v_name ..., plus SQL expressions, WHERE key = :k."""
    return update(table).where(key == bindparam("k")).values(
        **{n: bindparam(f"v_{n}") for n in names}, **values)


_ext_decided = _set(extensions, extensions.c.request_id, "status", "new_deadline", "decision_note", "decided_at")
_reminder_ack = _set(reminders, reminders.c.reminder_id, "acknowledged_at", "note")
_helper_assigned = _set(helps, helps.c.help_id, "helper_id", "helper_name", "assigned_at")
_help_reported = _set(helps, helps.c.help_id, "last_report", reports=helps.c.reports + 1)
_round_closed = _set(rounds, rounds.c.round_id, closed=True)
_unit_updated = _set(units, units.c.unit_id, "name")

# A problem row is written with the columns a batch changed; one statement per set of columns.
_row_updates: dict[frozenset[str], Any] = {}


def _row_update(columns: frozenset[str]) -> Any:
    stmt = _row_updates.get(columns)
    if stmt is None:
        stmt = _row_updates[columns] = _set(problems, P.problem_id, *sorted(columns))
    return stmt


def _new_row(problem_id: str) -> Row:
    return {name: None for name in COLUMNS} | {"problem_id": problem_id}


class _Batch:
    """One batch's changes, in memory until `flush`."""

    def __init__(self, conn: Connection, events: Sequence[Envelope[Any]],
                 policies: dict[str, tuple[int, int, int, int]]) -> None:
        self.conn = conn
        # Every problem row the batch touches that exists: the READ columns of a stored one, all
        # columns of one reported in this batch.
        self.rows: dict[str, Row] = {}
        self.created: set[str] = set()
        self.dirty: dict[str, set[str]] = {}  # changed columns of stored rows
        self.ops: list[tuple[Any, dict[str, Any]]] = []  # other tables, in log order
        self.timeline: list[dict[str, Any]] = []
        ids = sorted({e.aggregate_id for e in events if e.aggregate_type == "problem"})
        for start in range(0, len(ids), 500):
            for r in conn.execute(_rows_of, {"ids": ids[start:start + 500]}):
                self.rows[r.problem_id] = dict(r._mapping)
        wanted = sorted({e.payload.round_id for e in events if isinstance(e.payload, ik.IssueReported)} - set(policies))
        self.stored_policies = {
            r.round_id: (r.yellow_days, r.max_days, r.severe_max_days, r.commit_days)
            for r in (conn.execute(_round_policies, {"ids": wanted}) if wanted else ())}

    def row(self, e: Envelope[Any], required: bool = False) -> Row | None:
        row = self.rows.get(e.aggregate_id)
        if row is None and required:
            raise ProjectionError(f"{e.event_type} for unknown problem {e.aggregate_id}")
        return row

    def change(self, e: Envelope[Any], row: Row, **values: Any) -> None:
        row.update(values, updated_at=e.occurred_at)
        if e.aggregate_id not in self.created:
            self.dirty.setdefault(e.aggregate_id, set()).update(values, ("updated_at",))

    def flush(self) -> None:
        conn = self.conn
        run: list[dict[str, Any]] = []
        for i, (stmt, params) in enumerate(self.ops):  # runs of one statement, in log order
            run.append(params)
            if i + 1 == len(self.ops) or self.ops[i + 1][0] is not stmt:
                conn.execute(stmt, run)
                run = []
        if self.created:
            conn.execute(_insert_problem, [self.rows[pid] for pid in sorted(self.created)])
        by_shape: dict[frozenset[str], list[dict[str, Any]]] = {}
        for pid, columns in self.dirty.items():
            row = self.rows[pid]
            by_shape.setdefault(frozenset(columns), []).append(
                {"k": pid, **{f"v_{c}": row[c] for c in columns}})
        for shape, rows in by_shape.items():
            conn.execute(_row_update(shape), rows)
        if self.timeline:
            conn.execute(_insert_timeline, self.timeline)


class RectificationProjection(Projection):
    name = "rectification_ledger"
    version = 3  # 2: supervision_no; 3: reopen at the verification event (reopen_source, reopened_on)
    # Whole intake context (rounds, teams, units, problems; the rest is ignored cheaply), our own
    # context, and verification's problem aggregates (verified, rejected, written off, revisits).
    subjects = (context_filter("intake"), context_filter("rectification"), VERIFICATION_PROBLEMS)
    metadata = metadata

    def __init__(self) -> None:
        # Round policies by round id: a round's policy never changes once opened, so it is read once
        # per round (from the round's own event, or the table on a resumed runner).
        self._policies: dict[str, tuple[int, int, int, int]] = {}

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        self.apply_batch(conn, [event])

    def apply_batch(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> None:
        batch = _Batch(conn, events, self._policies)
        for e in events:
            handler = self._kernel_dispatch.get(type(e.payload))  # @Projection.handles
            if handler is not None:
                handler(self, batch, e, e.payload)
            if e.aggregate_type == "problem" and e.context in ("rectification", "verification"):
                batch.timeline.append({
                    "sequence": e.sequence, "problem_id": e.aggregate_id, "context": e.context,
                    "event_type": e.event_type, "occurred_at": e.occurred_at, "actor_id": e.actor.id,
                    "actor_name": e.actor.name, "actor_role": e.actor.role.value,
                    "data": e.payload.model_dump(mode="json"),
                })
        batch.flush()

    # ------------------------------------------------------------ intake
    @Projection.handles(ik.RoundOpened)
    def _round_opened(self, b: _Batch, e: Envelope[Any], p: ik.RoundOpened) -> None:
        self._policies[e.aggregate_id] = (p.yellow_days, p.max_rectification_days,
                                          p.severe_max_rectification_days, p.deadline_commit_days)
        b.ops.append((_insert_round, {
            "round_id": e.aggregate_id, "number": p.number, "name": p.name, "yellow_days": p.yellow_days,
            "max_days": p.max_rectification_days, "severe_max_days": p.severe_max_rectification_days,
            "commit_days": p.deadline_commit_days, "closed": False}))

    @Projection.handles(ik.RoundClosed)
    def _round_closed(self, b: _Batch, e: Envelope[Any], p: Any) -> None:
        b.ops.append((_round_closed, {"k": e.aggregate_id}))

    @Projection.handles(ik.TeamFormed)
    def _team_formed(self, b: _Batch, e: Envelope[Any], p: ik.TeamFormed) -> None:
        b.ops.append((_insert_team, {"team_id": e.aggregate_id, "round_id": p.round_id, "name": p.name,
                                     "leader_id": p.leader_id, "leader_name": p.leader_name}))

    @Projection.handles(ik.UnitRegistered)
    def _unit_registered(self, b: _Batch, e: Envelope[Any], p: ik.UnitRegistered) -> None:
        b.ops.append((_insert_unit, {"unit_id": e.aggregate_id, "name": p.name}))

    @Projection.handles(ik.UnitUpdated)
    def _unit_updated(self, b: _Batch, e: Envelope[Any], p: ik.UnitUpdated) -> None:
        b.ops.append((_unit_updated, {"k": e.aggregate_id, "v_name": p.name}))

    @Projection.handles(ik.IssueReported)
    def _reported(self, b: _Batch, e: Envelope[Any], p: ik.IssueReported) -> None:
        if e.unit_id is None:
            raise ProjectionError(f"problem {e.aggregate_id} has no unit")
        if e.aggregate_id in b.rows:
            raise ProjectionError(f"problem {e.aggregate_id} was reported already")
        policy = self._policies.get(p.round_id)
        if policy is None:
            policy = b.stored_policies.get(p.round_id)
            if policy is not None:
                self._policies[p.round_id] = policy
        yellow, most, severe_most, commit_days = policy or (
            DEFAULT_YELLOW_DAYS, DEFAULT_MAX_DAYS, DEFAULT_SEVERE_MAX_DAYS, DEFAULT_COMMIT_DAYS)
        b.rows[e.aggregate_id] = _new_row(e.aggregate_id) | {
            "unit_id": e.unit_id, "round_id": p.round_id, "team_id": p.team_id,
            "title": p.title, "supervision_no": p.supervision_no or None, "category": p.category,
            "severity": p.severity.value, "publishable": p.publishable, "intake_status": "reported",
            "fed_back": False, "yellow_days": yellow, "max_days": most, "severe_max_days": severe_most,
            "deadline_commit_days": commit_days, "status": "reported",
            "progress": 0, "submission_no": 0, "deadline_changes": 0, "postponements": 0, "reopen_count": 0,
            "rebound_count": 0, "commitment_missed": False, "open_reminders": 0, "dispatch_count": 0,
            "last_reopen_seq": 0, "updated_at": e.occurred_at,
        }
        b.created.add(e.aggregate_id)

    @Projection.handles(ik.IssueAmended)
    def _amended(self, b: _Batch, e: Envelope[Any], p: ik.IssueAmended) -> None:
        row = b.row(e)
        if row is None:
            return
        for name in ("title", "category", "severity", "publishable"):
            value = getattr(p, name)
            if value is not None:
                b.change(e, row, **{name: getattr(value, "value", value)})

    @Projection.handles(ik.IssueWithdrawn)
    def _withdrawn(self, b: _Batch, e: Envelope[Any], p: Any) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, intake_status="withdrawn", status="withdrawn")

    @Projection.handles(ik.IssueMarkedDuplicate)
    def _duplicate(self, b: _Batch, e: Envelope[Any], p: Any) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, intake_status="duplicate", status="duplicate")

    @Projection.handles(ik.IssueFedBack)
    def _fed_back(self, b: _Batch, e: Envelope[Any], p: ik.IssueFedBack) -> None:
        row = b.row(e, required=True)
        assert row is not None
        b.change(e, row, fed_back=True,
                 status="awaiting_commitment" if row["status"] == "reported" else row["status"],
                 responsible_person=p.responsible_person, responsible_person_title=p.responsible_person_title,
                 requirements=p.requirements, commit_deadline_by=p.commit_deadline_by,
                 max_deadline=p.max_deadline, fed_back_at=p.fed_back_at)

    # ------------------------------------------------------ rectification
    @Projection.handles(rc.DeadlineSet)
    def _deadline_set(self, b: _Batch, e: Envelope[Any], p: rc.DeadlineSet) -> None:
        row = b.row(e, required=True)
        assert row is not None
        later = int(p.previous_deadline is not None and p.deadline > p.previous_deadline)
        b.change(e, row, deadline=p.deadline, yellow_from=p.deadline - timedelta(days=row["yellow_days"]),
                 status="rectifying" if row["status"] == "awaiting_commitment" else row["status"],
                 deadline_changes=row["deadline_changes"] + 1, postponements=row["postponements"] + later,
                 plan=row["plan"] if p.plan == "" else p.plan)  # an empty plan keeps the previous one

    @Projection.handles(rc.ProgressReported)
    def _progress(self, b: _Batch, e: Envelope[Any], p: rc.ProgressReported) -> None:
        row = b.row(e, required=True)
        assert row is not None
        b.change(e, row, progress=p.percent, last_progress_at=e.occurred_at)

    @Projection.handles(rc.ExtensionRequested)
    def _ext_requested(self, b: _Batch, e: Envelope[Any], p: rc.ExtensionRequested) -> None:
        b.ops.append((_insert_extension, {
            "request_id": p.request_id, "problem_id": e.aggregate_id, "requested_deadline": p.requested_deadline,
            "reason": p.reason, "requested_at": e.occurred_at, "status": "pending"}))
        if (row := b.row(e)) is not None:
            b.change(e, row, pending_extension_id=p.request_id)

    @Projection.handles(rc.ExtensionGranted)
    def _ext_granted(self, b: _Batch, e: Envelope[Any], p: rc.ExtensionGranted) -> None:
        self._ext_decided(b, e, p.request_id, "granted", p.new_deadline, p.note)

    @Projection.handles(rc.ExtensionRefused)
    def _ext_refused(self, b: _Batch, e: Envelope[Any], p: rc.ExtensionRefused) -> None:
        self._ext_decided(b, e, p.request_id, "refused", None, p.reason)

    @staticmethod
    def _ext_decided(b: _Batch, e: Envelope[Any], request_id: str, status: str, new_deadline: date | None,
                     note: str) -> None:
        b.ops.append((_ext_decided, {"k": request_id, "v_status": status, "v_new_deadline": new_deadline,
                                     "v_decision_note": note, "v_decided_at": e.occurred_at}))
        if (row := b.row(e)) is not None:
            b.change(e, row, pending_extension_id=None)

    @Projection.handles(rc.ReminderIssued)
    def _reminder_issued(self, b: _Batch, e: Envelope[Any], p: rc.ReminderIssued) -> None:
        b.ops.append((_insert_reminder, {
            "reminder_id": p.reminder_id, "problem_id": e.aggregate_id, "kind": p.kind.value, "text": p.text,
            "issued_by": e.actor.name or e.actor.id, "issued_at": e.occurred_at}))
        if (row := b.row(e)) is not None:
            b.change(e, row, open_reminders=row["open_reminders"] + 1)

    @Projection.handles(rc.ReminderAcknowledged)
    def _reminder_ack(self, b: _Batch, e: Envelope[Any], p: rc.ReminderAcknowledged) -> None:
        b.ops.append((_reminder_ack, {"k": p.reminder_id, "v_acknowledged_at": e.occurred_at, "v_note": p.note}))
        if (row := b.row(e)) is not None:
            b.change(e, row, open_reminders=row["open_reminders"] - 1)

    @Projection.handles(rc.DispatchRecorded)
    def _dispatch(self, b: _Batch, e: Envelope[Any], p: rc.DispatchRecorded) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, dispatch_count=row["dispatch_count"] + 1, last_dispatch_on=p.visited_on)

    @Projection.handles(rc.HelpRequested)
    def _help_requested(self, b: _Batch, e: Envelope[Any], p: rc.HelpRequested) -> None:
        if e.unit_id is None:
            raise ProjectionError(f"help request {p.help_id} has no unit")
        b.ops.append((_insert_help, {
            "help_id": p.help_id, "problem_id": e.aggregate_id, "unit_id": e.unit_id, "difficulty": p.difficulty,
            "requested_at": e.occurred_at, "reports": 0}))

    @Projection.handles(rc.HelperAssigned)
    def _helper_assigned(self, b: _Batch, e: Envelope[Any], p: rc.HelperAssigned) -> None:
        b.ops.append((_helper_assigned, {"k": p.help_id, "v_helper_id": p.helper_id,
                                         "v_helper_name": p.helper_name, "v_assigned_at": e.occurred_at}))

    @Projection.handles(rc.HelpReported)
    def _help_reported(self, b: _Batch, e: Envelope[Any], p: rc.HelpReported) -> None:
        b.ops.append((_help_reported, {"k": p.help_id, "v_last_report": p.text}))

    @Projection.handles(rc.RectificationSubmitted)
    def _submitted(self, b: _Batch, e: Envelope[Any], p: rc.RectificationSubmitted) -> None:
        row = b.row(e, required=True)
        assert row is not None
        b.change(e, row, status="submitted", submission_no=p.submission_no, submitted_at=e.occurred_at)

    @Projection.handles(rc.RectificationReopened)
    def _reopened(self, b: _Batch, e: Envelope[Any], p: rc.RectificationReopened) -> None:
        row = b.row(e, required=True)
        assert row is not None
        if p.source_event_id and row["reopen_source"] == p.source_event_id:
            # The reaction's echo of a reopen this row already shows (from the verification event).
            on = local_date(e.occurred_at)
            if on != row["reopened_on"]:
                self._redate(b, e, row, on)
            return
        self._reopen(b, e, row, p.cause, tuple(p.reasons), None)

    @Projection.handles(rc.DeadlineApproaching)
    def _yellow(self, b: _Batch, e: Envelope[Any], p: rc.DeadlineApproaching) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, yellow_for=p.deadline)

    @Projection.handles(rc.DeadlineMissed)
    def _red(self, b: _Batch, e: Envelope[Any], p: rc.DeadlineMissed) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, red_for=p.deadline)

    @Projection.handles(rc.DeadlineCommitmentMissed)
    def _commit_missed(self, b: _Batch, e: Envelope[Any], p: Any) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, commitment_missed=True)

    # ------------------------------------------------------- verification
    # Unknown problems are ignored here: another context's event is not ours to dead-letter.
    @Projection.handles(vf.RectificationVerified)
    def _verified(self, b: _Batch, e: Envelope[Any], p: Any) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, status="accepted", accepted_seq=e.sequence)

    @Projection.handles(vf.ProblemWrittenOff)
    def _written_off(self, b: _Batch, e: Envelope[Any], p: vf.ProblemWrittenOff) -> None:
        if (row := b.row(e)) is not None:
            b.change(e, row, status="written_off", written_off_seq=e.sequence, ledger_no=p.ledger_no)

    @Projection.handles(vf.RectificationRejected)
    def _rejected(self, b: _Batch, e: Envelope[Any], p: vf.RectificationRejected) -> None:
        self._verification_reopen(b, e, rc.ReopenCause.REJECTED, tuple(p.reasons))

    @Projection.handles(vf.RevisitRecorded)
    def _revisited(self, b: _Batch, e: Envelope[Any], p: vf.RevisitRecorded) -> None:
        if p.outcome == vf.RevisitOutcome.REBOUNDED:
            self._verification_reopen(b, e, rc.ReopenCause.REBOUNDED, (p.findings,))

    def _verification_reopen(self, b: _Batch, e: Envelope[Any], cause: rc.ReopenCause,
                             reasons: tuple[str, ...]) -> None:
        """What the reaction will do (ReopenOnRejectionOrRebound), shown here at once: the problem's
        rectification is under review or closed by verification, so it is reopened."""
        row = b.row(e)
        if row is None or e.unit_id is None or row["status"] not in ("submitted", "accepted", "written_off"):
            return  # the reaction reopens nothing either (or its own event will say so)
        self._reopen(b, e, row, cause, reasons, str(e.event_id))

    @staticmethod
    def _reopen(b: _Batch, e: Envelope[Any], row: Row, cause: rc.ReopenCause, reasons: tuple[str, ...],
                source: str | None) -> None:
        on = local_date(e.occurred_at)
        b.change(e, row, status="rectifying", reopen_count=row["reopen_count"] + 1,
                 rebound_count=row["rebound_count"] + int(cause == rc.ReopenCause.REBOUNDED),
                 last_reopen_cause=cause.value, last_rejection_reasons=list(reasons or ("(未说明原因)",)),
                 last_reopen_seq=e.sequence, reopen_source=source, reopened_on=on)
        RectificationProjection._expire(b, e, row, on)

    @staticmethod
    def _expire(b: _Batch, e: Envelope[Any], row: Row, on: date) -> None:
        # Same rule as ProblemState: a deadline already passed on the day of the reopen is not in
        # force; a new one is due within the round's commitment days.
        if row["deadline"] is not None and row["deadline"] < on:
            b.change(e, row, status="awaiting_commitment", deadline=None, yellow_from=None,
                     commit_deadline_by=add_working_days(on, row["deadline_commit_days"]), commitment_missed=False)

    @staticmethod
    def _redate(b: _Batch, e: Envelope[Any], row: Row, on: date) -> None:
        """The reopen event fell on a later city day than the verification event: the row follows it."""
        b.change(e, row, reopened_on=on)
        if row["status"] == "awaiting_commitment" and row["deadline"] is None:
            b.change(e, row, commit_deadline_by=add_working_days(on, row["deadline_commit_days"]))
        else:
            RectificationProjection._expire(b, e, row, on)
