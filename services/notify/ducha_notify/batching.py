"""Set-based batch apply for notify's projections (replay speed): a batch's rows are read once,
changed in memory by the projection's `@Projection.handles` methods, and written back with prebuilt
statements executed once per batch (`executemany`), never one query per event.

The pattern, in each projection: `apply_batch` makes the batch's working set (a `Batch` holding
the connection and the rows), runs the kernel's handles dispatch over each event with the batch in
place of the connection, then flushes the batch; `apply` is a batch of one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

IN_CHUNK = 500  # ids per `IN (...)`: well below every database's bound-parameter limit

def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Rows:
    """Rows of one table keyed by id, as a batch changes them: which are new (INSERT) and which
    existing ones changed (UPDATE), each written once at the end of the batch."""

    def __init__(self) -> None:
        self._rows: dict[Any, dict[str, Any]] = {}
        self._new: set[Any] = set()
        self._changed: set[Any] = set()

    def loaded(self, key: Any, row: dict[str, Any]) -> None:
        self._rows[key] = row

    def get(self, key: Any) -> dict[str, Any] | None:
        return self._rows.get(key)

    def insert(self, key: Any, row: dict[str, Any]) -> None:
        self._rows[key] = row
        self._new.add(key)

    def set(self, key: Any, **values: Any) -> None:
        """Change an existing row (a missing one: nothing, as an UPDATE of no row)."""
        row = self._rows.get(key)
        if row is None or not values:
            return
        row.update(values)
        if key not in self._new:
            self._changed.add(key)

    def changes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(rows to insert, rows to update), each in a stable order."""
        return ([self._rows[k] for k in self._rows if k in self._new],
                [self._rows[k] for k in self._rows if k in self._changed])
