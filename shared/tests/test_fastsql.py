"""The projection runner's fast DML path writes exactly what SQLAlchemy's own execute writes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ducha.kernel.fastsql import FastConnection, PlanCache
from ducha.kernel.natsfast import parse_header_lines
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    select,
    update,
)

meta = MetaData()
rows = Table(
    "fast_rows", meta,
    Column("id", String(16), primary_key=True),
    Column("n", Integer, nullable=False, default=0),
    Column("day", Date),
    Column("at", DateTime(timezone=True)),
    Column("data", JSON),
    Column("flag", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False, default="new"),
)
R = rows.c
_insert = rows.insert()
_bump = update(rows).where(R.id == bindparam("k")).values(
    n=R.n + bindparam("v_n"), flag=True,
    status=case((R.status == "new", "open"), else_=R.status), day=bindparam("v_day"))
_set_data = update(rows).where(R.id == bindparam("k")).values(data=bindparam("v_data"))

WRITES: list[tuple[Any, Any]] = [
    (_insert, {"id": "a", "day": date(2026, 3, 2), "at": datetime(2026, 3, 2, 1, 2, 3, tzinfo=UTC),
               "data": {"城": ["关", 1]}}),
    (_insert, {"id": "b", "day": None, "at": None, "data": None, "n": 5, "flag": True}),
    (_insert, [{"id": "c", "data": [1, 2]}, {"id": "d", "data": {"x": None}}]),
    (_bump, {"k": "a", "v_n": 2, "v_day": date(2026, 4, 1)}),
    (_bump, {"k": "b", "v_n": -1, "v_day": None}),
    (_bump, [{"k": "c", "v_n": 1, "v_day": None}, {"k": "d", "v_n": 3, "v_day": date(2027, 1, 1)}]),
    (_set_data, {"k": "a", "v_data": None}),
]


def _write(engine: Engine, fast: bool) -> tuple[list[tuple[Any, ...]], list[int]]:
    meta.drop_all(engine)
    meta.create_all(engine)
    counts = []
    plans = PlanCache(engine.dialect)
    with engine.begin() as conn:
        target: Any = FastConnection(conn, plans) if fast else conn
        for _round in range(2):  # a statement takes the fast path from its second use on
            for stmt, params in WRITES:
                if stmt is _insert and _round:
                    params = ([{**p, "id": p["id"] + "2"} for p in params] if isinstance(params, list)
                              else {**params, "id": params["id"] + "2"})
                result = target.execute(stmt, params)
                if stmt is not _insert:  # INSERT row counts differ by driver (-1 on psycopg's)
                    counts.append(result.rowcount)
        if fast:
            target.close()
    with engine.connect() as conn:
        out = [tuple(r) for r in conn.execute(select(rows).order_by(R.id))]
    meta.drop_all(engine)
    return out, counts


def test_fast_path_writes_the_same_rows_and_counts_as_sqlalchemy(engine: Engine) -> None:
    plain = _write(engine, fast=False)
    fast = _write(engine, fast=True)
    assert fast == plain
    assert len(plain[0]) == 8
    assert plain[1] == [1, 1, 2, 1] * 2


def test_fast_path_compiles_a_statement_on_its_second_use_only(engine: Engine) -> None:
    plans = PlanCache(engine.dialect)
    keys = ("k", "v_day", "v_n")
    assert plans.get(_bump, keys) is None
    plan = plans.get(_bump, keys)
    assert plan is not None and "UPDATE" in plan.sql


def test_header_parser_keeps_nats_rules() -> None:
    raw = (b"Nats-Msg-Id: abc\r\nBad Name: x\r\nno colon\r\n\xe4: y\r\nKey:  v\xc3\xa4l \r\n"
           b"Tab\tName: z\r\nSep:\r\n")
    assert parse_header_lines(raw) == {"Nats-Msg-Id": "abc", "Key": "väl", "Sep": ""}
