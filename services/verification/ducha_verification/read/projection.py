"""The verification projection: what this service learns from intake and rectification, and its
own reviews, ledger, revisits, spot checks, re-checks and decisions — and the statistics' counters,
kept in the same transaction. Every value comes from events (times are the events' `occurred_at`),
so a rebuild gives identical rows.

A batch is applied set-based: the problem rows the batch touches are read once, the events change
them in memory (in log order, so the result is the one event-at-a-time application would give),
then every changed row is written back with one statement per kind, and each counter row moves by
the batch's net change."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, TypeAlias

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import intake as i
from ducha.contracts import rectification as r
from ducha.contracts import verification as v
from ducha.kernel.calendar import local_date
from ducha.kernel.projection import Projection, ProjectionError
from ducha.kernel.subjects import context_filter, event_type_filter
from sqlalchemy import Connection, and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..domain import counters, lights
from . import statements as s
from .tables import (
    as_utc,
    ledger,
    metadata,
    problems,
    rounds,
    stat_counts,
    stat_lights,
    teams,
    units,
)

NAME = "verification"
INTAKE_EVENTS = (i.RoundOpened, i.TeamFormed, i.TeamAssignedToUnits, i.UnitRegistered, i.UnitUpdated,
                 i.IssueReported, i.IssueAmended, i.IssueWithdrawn, i.IssueMarkedDuplicate, i.IssueFedBack)
RECTIFICATION_EVENTS = (r.DeadlineSet, r.DeadlineMissed, r.RectificationSubmitted, r.RectificationReopened)
DEFAULT_YELLOW_DAYS = 3  # the round's defaults (intake's RoundOpened) when a round is unknown
DEFAULT_COMMIT_DAYS = 3
IN_CHUNK = 500

Env: TypeAlias = Envelope[Any]
Row: TypeAlias = dict[str, Any]
# events of a problem aggregate, whose row a batch reads first
PROBLEM_EVENTS: frozenset[type[DomainEvent]] = frozenset({
    i.IssueReported, i.IssueAmended, i.IssueWithdrawn, i.IssueMarkedDuplicate, i.IssueFedBack,
    r.DeadlineSet, r.DeadlineMissed, r.RectificationSubmitted, r.RectificationReopened,
    v.ReviewProposed, v.ReviewProposalReturned, v.RectificationVerified, v.RectificationRejected,
    v.ProblemWrittenOff, v.RevisitRecorded,
})


# ------------------------------------------------------------------ statements (built once)
P = problems.c
_COLS = tuple(c.name for c in problems.columns if c.name != "problem_id")
_sel_problems = select(problems).where(P.problem_id.in_(bindparam("pids", expanding=True)))
_ins_problem = problems.insert()
_upd_review = s.upd_review
_upd_ledger_due = update(ledger).where(
    ledger.c.round_id == bindparam("k_round_id"), ledger.c.ledger_no == bindparam("k_ledger_no")
).values(revisit_due_on=bindparam("v_revisit_due_on"))
_upd_ledger_revisit = update(ledger).where(
    ledger.c.problem_id == bindparam("k_problem_id"), ledger.c.ledger_no == bindparam("k_ledger_no")
).values(revisit_outcome=bindparam("v_revisit_outcome"), revisited_on=bindparam("v_revisited_on"),
         revisit_findings=bindparam("v_revisit_findings"))
_sel_policy = select(rounds.c.yellow_days, rounds.c.commit_days).where(rounds.c.round_id == bindparam("rid"))


def _add_statements(dialect: str) -> tuple[Any, Any, Any, Any]:
    """Upserts adding to a counter row (PostgreSQL and SQLite: INSERT .. ON CONFLICT DO UPDATE), and
    deletes of rows that count nothing any more."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    out: list[Any] = []
    for table, cols, keys in ((stat_counts, counters.COLUMNS, counters.GROUP),
                              (stat_lights, ("n",), counters.LIGHT_GROUP)):
        ins = insert(table)
        out.append(ins.on_conflict_do_update(index_elements=[table.c[k] for k in keys],
                                             set_={c: table.c[c] + ins.excluded[c] for c in cols}))
        zero = table.c[cols[0]] == 0
        out.append(table.delete().where(and_(*(table.c[k] == bindparam("k_" + k) for k in keys), zero)))
    return out[0], out[1], out[2], out[3]


_ADD: dict[str, tuple[Any, Any, Any, Any]] = {}


class Batch:
    """The rows a batch of events changes, in memory until `flush`."""

    def __init__(self, conn: Connection, policies: dict[str, tuple[int, int]]) -> None:
        self.conn = conn
        self.policies = policies
        self.problems: dict[str, Row] = {}
        self.stored: dict[str, Any] = {}  # loaded rows as read
        self.before: dict[str, tuple[Any, Any]] = {}  # loaded rows: (contribution, light key) as read
        self.new: set[str] = set()
        self.dirty: set[str] = set()
        self.subs_new: dict[tuple[str, int], Row] = {}
        self.ledger_new: dict[tuple[str, int], Row] = {}
        self.ledger_by_problem: dict[tuple[str, int], Row] = {}
        self.ledger_due: list[Row] = []
        self.ledger_revisit: list[Row] = []

    # -------------------------------------------------------------- problems
    def load(self, ids: Iterable[str]) -> None:
        wanted = sorted(set(ids) - self.problems.keys())
        for start in range(0, len(wanted), IN_CHUNK):
            for row in self.conn.execute(_sel_problems, {"pids": wanted[start:start + IN_CHUNK]}).mappings().all():
                data = dict(row)
                self.problems[data["problem_id"]] = data
                self.stored[data["problem_id"]] = row
                self.before[data["problem_id"]] = (counters.contribution(data), counters.light_key(data))

    def find(self, problem_id: str | None) -> Row | None:
        return self.problems.get(problem_id) if problem_id else None

    def problem(self, e: Env, **values: Any) -> Row:
        """The event's problem row (a problem not yet known — not in log order — gets one), with
        `values` set and the event's sequence as its last."""
        row = self.problems.get(e.aggregate_id)
        if row is None:
            row = {**s.PROBLEM_DEFAULTS, "problem_id": e.aggregate_id, "unit_id": e.unit_id or "_"}
            self.problems[e.aggregate_id] = row
            self.new.add(e.aggregate_id)
        row.update(values)
        row["last_sequence"] = e.sequence
        self.dirty.add(e.aggregate_id)
        return row

    def policy(self, round_id: str | None) -> tuple[int, int]:
        """(yellow_days, commit_days) of a round: fixed once the round is opened."""
        if round_id is None:
            return DEFAULT_YELLOW_DAYS, DEFAULT_COMMIT_DAYS
        if round_id not in self.policies:
            row = self.conn.execute(_sel_policy, {"rid": round_id}).first()
            if row is None:
                return DEFAULT_YELLOW_DAYS, DEFAULT_COMMIT_DAYS
            self.policies[round_id] = (row.yellow_days if row.yellow_days is not None else DEFAULT_YELLOW_DAYS,
                                       row.commit_days if row.commit_days is not None else DEFAULT_COMMIT_DAYS)
        return self.policies[round_id]

    # ----------------------------------------------------------------- flush
    def flush(self) -> None:
        conn = self.conn
        if self.new:
            conn.execute(_ins_problem, [self.problems[k] for k in sorted(self.new)])
        # each changed row writes only its changed columns: one statement per set of columns
        by_columns: dict[tuple[str, ...], list[Row]] = defaultdict(list)
        for pid in sorted(self.dirty - self.new):
            row, stored = self.problems[pid], self.stored[pid]
            cols = tuple(c for c in _COLS if row[c] != stored[c])
            if cols:
                params = {"v_" + c: row[c] for c in cols}
                params["k_problem_id"] = pid
                by_columns[cols].append(params)
        for cols, rows in by_columns.items():
            conn.execute(_update_of(cols), rows)
        if self.subs_new:
            conn.execute(s.ins["ver_submissions"], list(self.subs_new.values()))
        if self.ledger_new:
            conn.execute(s.ins["ver_ledger"], list(self.ledger_new.values()))
        if self.ledger_due:
            conn.execute(_upd_ledger_due, self.ledger_due)
        if self.ledger_revisit:
            conn.execute(_upd_ledger_revisit, self.ledger_revisit)
        self._counters()

    def _counters(self) -> None:
        counts: dict[Any, list[int]] = defaultdict(lambda: [0] * len(counters.COLUMNS))
        lit: dict[Any, int] = defaultdict(int)
        for pid in self.dirty:
            old_c, old_l = self.before.get(pid, (None, None))
            row = self.problems[pid]
            new_c, new_l = counters.contribution(row), counters.light_key(row)
            if old_c != new_c:
                for sign, c in ((-1, old_c), (1, new_c)):
                    if c is not None:
                        acc = counts[c[0]]
                        for n, x in enumerate(c[1]):
                            acc[n] += sign * x
            if old_l != new_l:
                if old_l is not None:
                    lit[old_l] -= 1
                if new_l is not None:
                    lit[new_l] += 1
        add_counts, drop_counts, add_lights, drop_lights = _ADD.setdefault(
            self.conn.dialect.name, _add_statements(self.conn.dialect.name))
        rows = [{**dict(zip(counters.GROUP, k, strict=True)), **dict(zip(counters.COLUMNS, d, strict=True))}
                for k, d in sorted(counts.items()) if any(d)]
        if rows:
            self.conn.execute(add_counts, rows)
            gone = [{"k_" + g: row[g] for g in counters.GROUP} for row in rows if row["reported"] < 0]
            if gone:
                self.conn.execute(drop_counts, gone)
        lrows = [{**dict(zip(counters.LIGHT_GROUP, k, strict=True)), "n": n} for k, n in sorted(lit.items()) if n]
        if lrows:
            self.conn.execute(add_lights, lrows)
            gone = [{"k_" + g: row[g] for g in counters.LIGHT_GROUP} for row in lrows if row["n"] < 0]
            if gone:
                self.conn.execute(drop_lights, gone)


_UPDATES: dict[tuple[str, ...], Any] = {}


def _update_of(cols: tuple[str, ...]) -> Any:
    """UPDATE of these columns of a problem row (built once per set of columns)."""
    stmt = _UPDATES.get(cols)
    if stmt is None:
        stmt = _UPDATES[cols] = update(problems).where(P.problem_id == bindparam("k_problem_id")).values(
            {c: bindparam("v_" + c) for c in cols})
    return stmt


def _problem_ids(events: Sequence[Env]) -> set[str]:
    ids: set[str] = set()
    for e in events:
        t = type(e.payload)
        if t in PROBLEM_EVENTS:
            ids.add(e.aggregate_id)
        elif t is v.SpotCheckDrawn:
            ids.update(e.payload.selected_ids)
        elif t in (v.RecheckRecorded, v.AccountabilityDecided) and e.payload.problem_id:
            ids.add(e.payload.problem_id)
    return ids


def _review(b: Batch, e: Env, outcome: str, **vals: Any) -> None:
    values = {"effectiveness": None, "assessment": None, "reasons": None, **vals, "outcome": outcome,
              "reviewed_by": e.actor.id, "proposed_by": e.payload.proposed_by,
              "reviewed_at": as_utc(e.occurred_at)}
    fresh = b.subs_new.get((e.aggregate_id, e.payload.submission_no))
    if fresh is not None:
        fresh.update(values)
        return
    n = _upd_review(b.conn, {"problem_id": e.aggregate_id, "submission_no": e.payload.submission_no}, **values)
    if n != 1:
        raise ProjectionError(f"no submission {e.payload.submission_no} of {e.aggregate_id} to review")


class VerificationProjection(Projection):
    name = NAME
    version = 2  # 2: statistics' counters, the light's dates
    subjects = (
        *(event_type_filter(c.event_type, "intake") for c in INTAKE_EVENTS),
        *(event_type_filter(c.event_type, "rectification") for c in RECTIFICATION_EVENTS),
        context_filter("verification"),
    )
    metadata = metadata

    # ------------------------------------------------------------------ intake
    @Projection.handles(i.RoundOpened)
    def _round(self, b: Batch, e: Env) -> None:
        p: i.RoundOpened = e.payload
        b.policies[e.aggregate_id] = (p.yellow_days, p.deadline_commit_days)
        s.upsert(b.conn, rounds, s.upd_round, {"round_id": e.aggregate_id},
                 {"number": p.number, "name": p.name, "revisit_after_days": p.revisit_after_days,
                  "yellow_days": p.yellow_days, "commit_days": p.deadline_commit_days})


    @Projection.handles(i.TeamFormed)
    def _team(self, b: Batch, e: Env) -> None:
        p: i.TeamFormed = e.payload
        s.upsert(b.conn, teams, s.upd_team, {"team_id": e.aggregate_id},
                 {"round_id": p.round_id, "name": p.name, "leader_id": p.leader_id, "leader_name": p.leader_name})


    @Projection.handles(i.TeamAssignedToUnits)
    def _team_units(self, b: Batch, e: Env) -> None:
        for unit in e.payload.unit_ids:
            b.conn.execute(s.del_team_unit, {"t": e.aggregate_id, "u": unit})
            b.conn.execute(s.ins["ver_team_units"], {"team_id": e.aggregate_id, "unit_id": unit})


    @Projection.handles(i.UnitRegistered, i.UnitUpdated)
    def _unit(self, b: Batch, e: Env) -> None:
        s.upsert(b.conn, units, s.upd_unit, {"unit_id": e.aggregate_id},
                 {"name": e.payload.name, "kind": e.payload.kind.value})


    @Projection.handles(i.IssueReported)
    def _reported(self, b: Batch, e: Env) -> None:
        p: i.IssueReported = e.payload
        b.problem(e, unit_id=e.unit_id or "_", round_id=p.round_id, team_id=p.team_id, title=p.title,
                  category=p.category, severity=p.severity.value, publishable=p.publishable,
                  reported_at=as_utc(e.occurred_at))


    @Projection.handles(i.IssueAmended)
    def _amended(self, b: Batch, e: Env) -> None:
        p: i.IssueAmended = e.payload
        row = b.problem(e)  # a field whose new value is None is kept
        for name, value in (("title", p.title), ("category", p.category),
                            ("severity", p.severity.value if p.severity else None), ("publishable", p.publishable)):
            if value is not None:
                row[name] = value


    @Projection.handles(i.IssueWithdrawn, i.IssueMarkedDuplicate)
    def _excluded(self, b: Batch, e: Env) -> None:
        b.problem(e, excluded=True, light_status="withdrawn")


    @Projection.handles(i.IssueFedBack)
    def _fed_back(self, b: Batch, e: Env) -> None:
        row = b.problem(e, fed_back_at=as_utc(e.payload.fed_back_at), light_commit_by=e.payload.commit_deadline_by)
        if row["stage"] == "reported":
            row["stage"] = "fed_back"
        if row["light_status"] == "reported":
            row["light_status"] = lights.AWAITING


    # ------------------------------------------------------------ rectification
    @Projection.handles(r.DeadlineSet)
    def _deadline(self, b: Batch, e: Env) -> None:
        deadline: date = e.payload.deadline
        row = b.problem(e, deadline=deadline, overdue=False, light_deadline=deadline)
        row["light_yellow_from"] = lights.yellow_from(deadline, b.policy(row["round_id"])[0])
        if row["stage"] in ("reported", "fed_back"):
            row["stage"] = "rectifying"
        if row["light_status"] == lights.AWAITING:
            row["light_status"] = lights.RECTIFYING


    @Projection.handles(r.DeadlineMissed)
    def _missed(self, b: Batch, e: Env) -> None:
        # Only the deadline in force, and only while it is the unit's turn, makes the problem overdue.
        row = b.find(e.aggregate_id)
        if row is not None and row["stage"] in counters.UNITS_TURN and row["deadline"] == e.payload.deadline:
            b.problem(e, overdue=True, ever_overdue=True)


    @Projection.handles(r.RectificationSubmitted)
    def _submitted(self, b: Batch, e: Env) -> None:
        p: r.RectificationSubmitted = e.payload
        known = b.find(e.aggregate_id)
        deadline = known["deadline"] if known is not None else None
        on_time = deadline is None or local_date(e.occurred_at) <= deadline
        b.subs_new[(e.aggregate_id, p.submission_no)] = {
            "problem_id": e.aggregate_id, "submission_no": p.submission_no, "submitted_at": as_utc(e.occurred_at),
            "deadline": deadline, "on_time": on_time, "description": p.description, "evidence": s.jsonl(p.evidence),
            "outcome": None, "effectiveness": None, "assessment": None, "reasons": None, "reviewed_by": None,
            "proposed_by": None, "reviewed_at": None,
        }
        row = b.problem(e, latest_submission_no=p.submission_no, stage="submitted", overdue=False,
                        light_status="submitted")
        row["submissions"] += 1
        row["submissions_on_time"] += int(on_time)


    @Projection.handles(r.RectificationReopened)
    def _reopened(self, b: Batch, e: Env) -> None:
        row = b.problem(e, stage="rectifying", **s.NO_PROPOSAL)
        status, deadline, commit_by = lights.after_reopen(row["light_deadline"], local_date(e.occurred_at),
                                                          b.policy(row["round_id"])[1])
        row["light_status"] = status
        if deadline is None and commit_by is not None:
            row.update(light_deadline=None, light_yellow_from=None, light_commit_by=commit_by)


    # ------------------------------------------------------------- verification
    @Projection.handles(v.ReviewProposed)
    def _proposed(self, b: Batch, e: Env) -> None:
        p: v.ReviewProposed = e.payload
        b.problem(e, proposal_submission_no=p.submission_no, proposal_outcome=p.outcome.value, proposed_by=e.actor.id)


    @Projection.handles(v.ReviewProposalReturned)
    def _returned(self, b: Batch, e: Env) -> None:
        b.problem(e, **s.NO_PROPOSAL)




    @Projection.handles(v.RectificationVerified)
    def _verified(self, b: Batch, e: Env) -> None:
        p: v.RectificationVerified = e.payload
        _review(b, e, "accepted", effectiveness=p.effectiveness.value, assessment=p.assessment)
        row = b.problem(e, accepted_at=as_utc(e.occurred_at), effectiveness=p.effectiveness.value,
                        assessment=p.assessment, stage="accepted", light_status="accepted", **s.NO_PROPOSAL)
        row["accepted_count"] += 1


    @Projection.handles(v.RectificationRejected)
    def _rejected(self, b: Batch, e: Env) -> None:
        _review(b, e, "rejected", reasons=json.dumps(list(e.payload.reasons), ensure_ascii=False))
        row = b.problem(e, stage="rectifying", **s.NO_PROPOSAL)
        row["rejection_count"] += 1


    @Projection.handles(v.LedgerEntryRecorded)
    def _ledger_line(self, b: Batch, e: Env) -> None:
        p: v.LedgerEntryRecorded = e.payload
        line = {
            "round_id": e.aggregate_id, "ledger_no": p.ledger_no, "problem_id": p.problem_id, "unit_id": p.unit_id,
            "submission_no": p.submission_no, "written_off_at": as_utc(e.occurred_at), "written_off_by": e.actor.id,
            "revisit_due_on": None, "revisit_outcome": None, "revisited_on": None, "revisit_findings": None,
        }
        b.ledger_new[(e.aggregate_id, p.ledger_no)] = line
        b.ledger_by_problem[(p.problem_id, p.ledger_no)] = line


    @Projection.handles(v.ProblemWrittenOff)
    def _written_off(self, b: Batch, e: Env) -> None:
        p: v.ProblemWrittenOff = e.payload
        row = b.problem(e, ledger_no=p.ledger_no, written_off_at=as_utc(e.occurred_at), revisit_due_on=p.revisit_due_on,
                        stage="written_off", light_status="written_off")
        row["write_off_count"] += 1
        line = b.ledger_new.get((p.round_id, p.ledger_no))
        if line is not None:
            line["revisit_due_on"] = p.revisit_due_on
        else:
            b.ledger_due.append({"k_round_id": p.round_id, "k_ledger_no": p.ledger_no,
                                 "v_revisit_due_on": p.revisit_due_on})


    @Projection.handles(v.RevisitRecorded)
    def _revisit(self, b: Batch, e: Env) -> None:
        p: v.RevisitRecorded = e.payload
        if p.outcome == v.RevisitOutcome.HELD:
            row = b.problem(e, stage="held")
        else:
            row = b.problem(e, stage="rectifying")
            row["rebound_count"] += 1
        ledger_no = p.ledger_no if p.ledger_no is not None else row["ledger_no"]
        values = {"revisit_outcome": p.outcome.value, "revisited_on": p.visited_on, "revisit_findings": p.findings}
        line = b.ledger_by_problem.get((e.aggregate_id, ledger_no)) if ledger_no is not None else None
        if line is not None:
            line.update(values)
        else:
            b.ledger_revisit.append({"k_problem_id": e.aggregate_id, "k_ledger_no": ledger_no,
                                     **{"v_" + k: x for k, x in values.items()}})


    @Projection.handles(v.SpotCheckDrawn)
    def _drawn(self, b: Batch, e: Env) -> None:
        p: v.SpotCheckDrawn = e.payload
        b.conn.execute(s.ins["ver_spotchecks"], {
            "spotcheck_id": e.aggregate_id, "round_id": p.round_id, "population": p.population, "seed": str(p.seed),
            "sample_size": p.sample_size, "population_ids": json.dumps(list(p.population_ids)),
            "drawn_at": as_utc(e.occurred_at), "drawn_by": e.actor.id, "sequence": e.sequence,
        })
        items = []
        for n, pid in enumerate(p.selected_ids, start=1):
            row = b.find(pid)
            items.append({"spotcheck_id": e.aggregate_id, "problem_id": pid, "position": n,
                          "unit_id": row["unit_id"] if row else None, "confirmed": None, "findings": None,
                          "recorded_at": None})
        if items:
            b.conn.execute(s.ins["ver_spotcheck_items"], items)


    @Projection.handles(v.SpotCheckFindingRecorded)
    def _finding(self, b: Batch, e: Env) -> None:
        p: v.SpotCheckFindingRecorded = e.payload
        s.upd_finding(b.conn, {"spotcheck_id": e.aggregate_id, "problem_id": p.problem_id},
                      confirmed=p.confirmed, findings=p.findings, recorded_at=as_utc(e.occurred_at))


    @Projection.handles(v.RecheckRecorded)
    def _recheck(self, b: Batch, e: Env) -> None:
        p: v.RecheckRecorded = e.payload
        row = b.find(p.problem_id)
        b.conn.execute(s.ins["ver_recheck_items"], {
            "recheck_id": e.aggregate_id, "problem_id": p.problem_id, "round_id": p.round_id, "subject": p.subject,
            "unit_id": row["unit_id"] if row else None, "team_id": row["team_id"] if row else None,
            "status": p.status.value, "detail": p.detail, "means": json.dumps(list(p.means), ensure_ascii=False),
            "recorded_at": as_utc(e.occurred_at), "sequence": e.sequence,
        })


    @Projection.handles(v.AccountabilityDecided)
    def _decision(self, b: Batch, e: Env) -> None:
        p: v.AccountabilityDecided = e.payload
        row = b.find(p.problem_id)
        b.conn.execute(s.ins["ver_decisions"], {
            "decision_id": e.aggregate_id, "kind": p.kind.value, "problem_id": p.problem_id, "unit_id": p.unit_id,
            "round_id": p.round_id, "team_id": row["team_id"] if row else None, "person_name": p.person_name,
            "basis": p.basis, "decision": p.decision, "decided_at": as_utc(e.occurred_at), "decided_by": e.actor.id,
            "sequence": e.sequence,
        })

    def __init__(self) -> None:
        # Round policies (yellow days, commit days) by round id: fixed once a round is opened.
        self._policies: dict[str, tuple[int, int]] = {}

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        self.apply_batch(conn, [event])

    def apply_batch(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> None:
        batch = Batch(conn, self._policies)
        batch.load(_problem_ids(events))
        for event in events:
            handler = self._kernel_dispatch.get(type(event.payload))
            if handler is not None:
                handler(self, batch, event)
        batch.flush()
