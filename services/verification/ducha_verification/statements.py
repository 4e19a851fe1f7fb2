"""Prebuilt SQL statements of the verification projection (built once with bindparam: building a
statement per event costs far more than executing it)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ducha.contracts import DomainEvent, Envelope
from sqlalchemy import Connection, Table, and_, bindparam, case, func, select, update
from sqlalchemy.sql.dml import Update

from .tables import (
    decisions,
    ledger,
    problems,
    recheck_items,
    rounds,
    spotcheck_items,
    spotchecks,
    submissions,
    team_units,
    teams,
    units,
)


class SetStmt:
    """A prebuilt UPDATE: key columns bound as k_<col>, set columns as v_<col>, plus fixed expressions
    (whose own bind parameters are passed by name)."""

    def __init__(self, table: Table, keys: Iterable[str], cols: Iterable[str] = (), **exprs: Any) -> None:
        self.keys, self.cols = tuple(keys), tuple(cols)
        values: dict[Any, Any] = {table.c[c]: bindparam("v_" + c) for c in self.cols}
        values.update({table.c[c]: e for c, e in exprs.items()})
        self.stmt: Update = (
            update(table).where(and_(*(table.c[k] == bindparam("k_" + k) for k in self.keys))).values(values)
        )

    def __call__(self, conn: Connection, keys: Mapping[str, Any], **vals: Any) -> int:
        params = {"k_" + k: keys[k] for k in self.keys}
        params.update({("v_" + c if c in self.cols else c): x for c, x in vals.items()})
        return int(conn.execute(self.stmt, params).rowcount)


P = problems.c
ins = {t.name: t.insert() for t in (rounds, teams, team_units, units, problems, submissions, ledger,
                                     spotchecks, spotcheck_items, recheck_items, decisions)}
upd_round = SetStmt(rounds, ["round_id"], ["number", "name", "revisit_after_days"])
upd_team = SetStmt(teams, ["team_id"], ["round_id", "name", "leader_id", "leader_name"])
del_team_unit = team_units.delete().where(
    team_units.c.team_id == bindparam("t"), team_units.c.unit_id == bindparam("u"))
upd_unit = SetStmt(units, ["unit_id"], ["name", "kind"])
REPORTED = ["unit_id", "round_id", "team_id", "title", "category", "severity", "publishable", "reported_at"]
upd_reported = SetStmt(problems, ["problem_id"], REPORTED + ["last_sequence"])
upd_amended = SetStmt(problems, ["problem_id"], ["last_sequence"], **{
    c: func.coalesce(bindparam("v_" + c), P[c]) for c in ("title", "category", "severity", "publishable")})
upd_excluded = SetStmt(problems, ["problem_id"], ["last_sequence"], excluded=True)
upd_fed_back = SetStmt(problems, ["problem_id"], ["fed_back_at", "last_sequence"],
                     stage=case((P.stage == "reported", "fed_back"), else_=P.stage))
upd_deadline = SetStmt(problems, ["problem_id"], ["deadline", "last_sequence"], overdue=False,
                     stage=case((P.stage.in_(["reported", "fed_back"]), "rectifying"), else_=P.stage))
upd_missed = SetStmt(problems, ["problem_id", "deadline"], ["last_sequence"], overdue=True, ever_overdue=True)
sel_problem = select(P.unit_id, P.round_id, P.team_id, P.deadline, P.stage).where(
    P.problem_id == bindparam("pid"))
sel_units_of = select(P.problem_id, P.unit_id).where(P.problem_id.in_(bindparam("pids", expanding=True)))
upd_submitted = SetStmt(problems, ["problem_id"], ["latest_submission_no", "last_sequence"], stage="submitted",
                      overdue=False, submissions=P.submissions + 1,
                      submissions_on_time=P.submissions_on_time + bindparam("on_time_inc"))
NO_PROPOSAL = {"proposal_submission_no": None, "proposal_outcome": None, "proposed_by": None}
upd_reopened = SetStmt(problems, ["problem_id"], ["last_sequence"], stage="rectifying", **NO_PROPOSAL)
upd_proposed = SetStmt(problems, ["problem_id"],
                     ["proposal_submission_no", "proposal_outcome", "proposed_by", "last_sequence"])
upd_returned = SetStmt(problems, ["problem_id"], ["last_sequence"], **NO_PROPOSAL)
upd_verified = SetStmt(problems, ["problem_id"], ["accepted_at", "effectiveness", "assessment", "last_sequence"],
                     stage="accepted", accepted_count=P.accepted_count + 1, **NO_PROPOSAL)
upd_rejected = SetStmt(problems, ["problem_id"], ["last_sequence"], stage="rectifying",
                     rejection_count=P.rejection_count + 1, **NO_PROPOSAL)
upd_review = SetStmt(submissions, ["problem_id", "submission_no"],
                   ["outcome", "effectiveness", "assessment", "reasons", "reviewed_by", "proposed_by",
                    "reviewed_at"])
upd_written_off = SetStmt(problems, ["problem_id"], ["ledger_no", "written_off_at", "revisit_due_on", "last_sequence"],
                        stage="written_off", write_off_count=P.write_off_count + 1)
upd_ledger_due = SetStmt(ledger, ["round_id", "ledger_no"], ["revisit_due_on"])
upd_held = SetStmt(problems, ["problem_id"], ["last_sequence"], stage="held")
upd_rebounded = SetStmt(problems, ["problem_id"], ["last_sequence"], stage="rectifying",
                      rebound_count=P.rebound_count + 1)
upd_ledger_revisit = SetStmt(ledger, ["problem_id", "ledger_no"],
                           ["revisit_outcome", "revisited_on", "revisit_findings"])
upd_finding = SetStmt(spotcheck_items, ["spotcheck_id", "problem_id"], ["confirmed", "findings", "recorded_at"])

PROBLEM_DEFAULTS: dict[str, Any] = {
    "round_id": None, "team_id": None, "title": "", "category": "", "severity": None, "publishable": False,
    "excluded": False, "stage": "reported", "reported_at": None, "fed_back_at": None, "deadline": None,
    "overdue": False, "ever_overdue": False, "latest_submission_no": 0, "submissions": 0,
    "submissions_on_time": 0, "proposal_submission_no": None, "proposal_outcome": None, "proposed_by": None,
    "accepted_count": 0, "rejection_count": 0, "accepted_at": None, "effectiveness": None, "assessment": None,
    "write_off_count": 0, "ledger_no": None, "written_off_at": None, "revisit_due_on": None,
    "rebound_count": 0, "last_sequence": 0,
}


def upsert(conn: Connection, table: Table, upd: SetStmt, keys: dict[str, Any], vals: dict[str, Any]) -> None:
    if upd(conn, keys, **vals) == 0:
        conn.execute(ins[table.name], {**keys, **vals})


def on_problem(conn: Connection, upd: SetStmt, e: Envelope[DomainEvent], **vals: Any) -> None:
    """Update a problem's row; a problem not yet known (should not happen in log order) gets a row."""
    keys = {"problem_id": e.aggregate_id}
    vals = {**vals, "last_sequence": e.sequence} if "last_sequence" in upd.cols else vals
    if upd(conn, keys, **vals) == 0:
        conn.execute(ins["ver_problems"], {**PROBLEM_DEFAULTS, "problem_id": e.aggregate_id,
                                            "unit_id": e.unit_id or "_"})
        upd(conn, keys, **vals)


def jsonl(items: Iterable[Any]) -> str:
    return json.dumps([x.model_dump(mode="json") if hasattr(x, "model_dump") else x for x in items],
                      ensure_ascii=False)


sel_ledger_no = select(P.ledger_no).where(P.problem_id == bindparam("pid"))
