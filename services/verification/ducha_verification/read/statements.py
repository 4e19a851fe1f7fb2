"""Prebuilt SQL statements of the verification projection (built once with bindparam: building a
statement per event costs far more than executing it)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, update
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


ins = {t.name: t.insert() for t in (rounds, teams, team_units, units, problems, submissions, ledger,
                                     spotchecks, spotcheck_items, recheck_items, decisions)}
upd_round = SetStmt(rounds, ["round_id"], ["number", "name", "revisit_after_days", "yellow_days", "commit_days"])
upd_team = SetStmt(teams, ["team_id"], ["round_id", "name", "leader_id", "leader_name"])
del_team_unit = team_units.delete().where(
    team_units.c.team_id == bindparam("t"), team_units.c.unit_id == bindparam("u"))
upd_unit = SetStmt(units, ["unit_id"], ["name", "kind"])
NO_PROPOSAL = {"proposal_submission_no": None, "proposal_outcome": None, "proposed_by": None}
upd_review = SetStmt(submissions, ["problem_id", "submission_no"],
                     ["outcome", "effectiveness", "assessment", "reasons", "reviewed_by", "proposed_by",
                      "reviewed_at"])
upd_finding = SetStmt(spotcheck_items, ["spotcheck_id", "problem_id"], ["confirmed", "findings", "recorded_at"])

PROBLEM_DEFAULTS: dict[str, Any] = {
    "round_id": None, "team_id": None, "title": "", "category": "", "severity": None, "publishable": False,
    "excluded": False, "stage": "reported", "reported_at": None, "fed_back_at": None, "deadline": None,
    "overdue": False, "ever_overdue": False, "latest_submission_no": 0, "submissions": 0,
    "submissions_on_time": 0, "proposal_submission_no": None, "proposal_outcome": None, "proposed_by": None,
    "accepted_count": 0, "rejection_count": 0, "accepted_at": None, "effectiveness": None, "assessment": None,
    "write_off_count": 0, "ledger_no": None, "written_off_at": None, "revisit_due_on": None,
    "rebound_count": 0, "light_status": "reported", "light_deadline": None, "light_yellow_from": None,
    "light_commit_by": None, "last_sequence": 0,
}


def upsert(conn: Connection, table: Table, upd: SetStmt, keys: dict[str, Any], vals: dict[str, Any]) -> None:
    if upd(conn, keys, **vals) == 0:
        conn.execute(ins[table.name], {**keys, **vals})


def jsonl(items: Iterable[Any]) -> str:
    return json.dumps([x.model_dump(mode="json") if hasattr(x, "model_dump") else x for x in items],
                      ensure_ascii=False)

