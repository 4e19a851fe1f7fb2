"""Ledger paging: keyset (cursor) pages give the same lines as offset pages, in the ledger's order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rect_support import OFFICE, Client, Upstream


async def test_cursor_pages_walk_the_ledger_like_offset_pages(svc: Any, up: Upstream, http: Client) -> None:
    for i in range(7):
        await up.problem(f"P{i}")
    today = up.today()
    for i, days in enumerate((1, 30, 2, 30, 45)):  # P5, P6 stay without a deadline
        assert (await http.commit(f"P{i}", today + timedelta(days=days))).status_code == 200
    seq = await up.problem("P7", unit="U2", team="T2")
    whole = await http.ledger(OFFICE, min_sequence=seq, limit=100)
    assert whole["total"] == 8 and whole["next_cursor"] is None
    order = [r["problem_id"] for r in whole["items"]]

    walked, cursor, offsets = [], None, []
    while True:
        page = await http.ledger(OFFICE, limit=3, **({"cursor": cursor} if cursor else {}))
        assert page["total"] == 8
        walked += [r["problem_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    for offset in range(0, 8, 3):
        offsets += [r["problem_id"] for r in (await http.ledger(OFFICE, limit=3, offset=offset))["items"]]
    assert walked == offsets == order
    assert order[:2] == ["P0", "P2"]  # yellow (due in 1 and 2 days) before green

    bad = await http.get(OFFICE, "/v1/ledger", cursor="not-a-cursor")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"
