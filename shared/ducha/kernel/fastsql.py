"""A projection's prebuilt INSERT/UPDATE/DELETE statements executed straight on the DBAPI cursor.

Why: replaying a projection runs a handful of prebuilt statements hundreds of thousands of times.
SQLAlchemy's execution path (events, execution context, result set-up) cost ~5x the database's own
work per statement in the profile of rectification's replay. Here each (statement, parameter names)
is compiled once with the connection's dialect, the way SQLAlchemy itself would compile it, and
executed with the same bind processors (dates, JSON, booleans) on the same DBAPI connection, inside
the runner's transaction. Anything this does not cover exactly — statements with RETURNING,
callable defaults, expanding IN lists, schema translation, one-off statements — goes through
SQLAlchemy unchanged, so results are identical either way (the replay-equals-live tests compare).
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase

_MISSING = object()


class _Done:
    """The result of a fast DML statement: only its row count (what projections look at)."""

    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


class _Plan:
    """One compiled statement and how to build its DBAPI parameters from the caller's."""

    __slots__ = ("_get", "_procs", "names", "positional", "sql")

    def __init__(self, sql: str, positional: bool,
                 slots: list[tuple[str, str, Any, Callable[[Any], Any] | None]]) -> None:
        self.sql = sql
        self.positional = positional
        self.names = [name for name, _k, _f, _p in slots]
        # One C-level getter per slot (fixed values and defaults via dict.get's default), then the
        # bind processors where the type has one: ~1 µs per parameter instead of ~5.
        getters = [(operator.itemgetter(key) if fixed is _MISSING else _getter_with_default(key, fixed))
                   for _n, key, fixed, _p in slots]
        self._get = getters
        self._procs = [(i, proc) for i, (_n, _k, _f, proc) in enumerate(slots) if proc is not None]

    def params(self, given: Mapping[str, Any]) -> Any:
        values = [get(given) for get in self._get]
        for i, proc in self._procs:
            values[i] = proc(values[i])
        if self.positional:
            return values
        return dict(zip(self.names, values))


def _getter_with_default(key: str, default: Any) -> Callable[[Mapping[str, Any]], Any]:
    return lambda given: given.get(key, default)


def _plan(stmt: UpdateBase, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    """Compile like SQLAlchemy's execute would, or None when the fast path would not be exact."""
    if getattr(stmt, "_returning", ()) or getattr(stmt, "_multi_values", ()):
        return None
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys))
    if compiled.escaped_bind_names or compiled.literal_execute_params or compiled.post_compile_params:
        return None
    defaults: dict[str, Any] = {}
    for col in [*compiled.insert_prefetch, *compiled.update_prefetch]:
        default = col.default if col in compiled.insert_prefetch else col.onupdate
        if default is None or not default.is_scalar:
            return None  # computed per row by SQLAlchemy
        defaults[compiled.bind_names.get(col, col.key)] = default.arg
    processors = compiled._bind_processors
    by_name = {name: bp for bp, name in compiled.bind_names.items()}
    names = compiled.positiontup if compiled.positional else list(by_name)
    slots = []
    for name in names:
        bp = by_name.get(name)
        if bp is None or bp.callable is not None or bp.expanding:
            return None
        if bp.key in keys:
            key, fixed = bp.key, _MISSING
        elif name in keys:
            key, fixed = name, _MISSING
        elif name in defaults:
            key, fixed = name, defaults[name]
        elif bp.required:
            return None  # let SQLAlchemy raise its own error
        else:
            key, fixed = name, bp.value
        slots.append((name, key, fixed, processors.get(name)))
    return _Plan(compiled.string, bool(compiled.positional), slots)


class PlanCache:
    """Compiled plans per statement object; a statement is compiled here on its second use, so
    statements built per call (one-offs) keep SQLAlchemy's own cache and cost nothing extra."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._plans: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], _Plan | None]] = (
            weakref.WeakKeyDictionary())
        self._seen: weakref.WeakSet[Any] = weakref.WeakSet()

    def get(self, stmt: UpdateBase, keys: tuple[str, ...]) -> _Plan | None:
        per = self._plans.get(stmt)
        if per is None:
            if stmt not in self._seen:
                self._seen.add(stmt)
                return None
            per = self._plans[stmt] = {}
        if keys not in per:
            per[keys] = _plan(stmt, keys, self.dialect)
        return per[keys]


class FastConnection:
    """Wraps the runner's connection for `Projection.apply`/`apply_batch`: fast DML, the rest
    (queries, DDL, unusual statements) delegated to SQLAlchemy on the same transaction."""

    def __init__(self, conn: Connection, plans: PlanCache) -> None:
        self._conn = conn
        self._plans = plans
        self._cursor: Any = None
        self._usable = not conn.get_execution_options().get("schema_translate_map")

    def execute(self, stmt: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self._usable and not args and not kwargs and isinstance(stmt, UpdateBase) and params:
            if isinstance(params, Mapping):
                plan = self._plans.get(stmt, tuple(sorted(params)))
                if plan is not None:
                    cur = self._cur()
                    cur.execute(plan.sql, plan.params(params))
                    return _Done(cur.rowcount)
            elif isinstance(params, Sequence):
                rows = cast(Sequence[Mapping[str, Any]], params)
                keys = tuple(sorted(rows[0]))
                if all(len(r) == len(keys) for r in rows):
                    plan = self._plans.get(stmt, keys)
                    if plan is not None and all(tuple(sorted(r)) == keys for r in rows):
                        cur = self._cur()
                        cur.executemany(plan.sql, [plan.params(r) for r in rows])
                        return _Done(cur.rowcount)
        return self._conn.execute(stmt, params, *args, **kwargs)

    def _cur(self) -> Any:
        if self._cursor is None:
            dbapi = self._conn.connection.dbapi_connection
            assert dbapi is not None
            self._cursor = dbapi.cursor()
        return self._cursor

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class PlannerStatistics:
    """Keeps PostgreSQL's planner statistics of a projection's tables current while it is built.

    A table created by a rebuild has none until autovacuum gets to it, which it does late: the
    planner then reads a batch's rows by primary key with a sequential scan, and a prepared
    statement keeps that plan. Seen replaying rectification (30,000 problems): half of the commit
    thread's time waiting on its batch's `SELECT ... WHERE problem_id IN (...)`, rows growing
    slower with every batch. So the runner analyzes its tables as they grow: after 2,000 events,
    then each time the count has grown fourfold (a few times per rebuild; ANALYZE samples a bounded
    number of rows, reads and writes go on meanwhile, and it invalidates the stale plans)."""

    first, factor = 2000, 4

    def __init__(self, engine: Engine, metadata: MetaData) -> None:
        self._engine = engine
        self._tables = list(metadata.sorted_tables) if engine.dialect.name == "postgresql" else []
        self._next = self.first

    def grown(self, applied: int) -> None:
        if not self._tables or applied < self._next:
            return
        self._next = applied * self.factor
        with self._engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.format_table
            for table in self._tables:
                conn.exec_driver_sql(f"ANALYZE {quote(table)}")
