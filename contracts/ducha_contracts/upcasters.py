"""Upcasters of department-visible payloads: when Ducha raises an event's `schema_version`, the
function turning the old payload into the new one goes here too (the same as Ducha's own, written
against plain dicts), so a department reads messages written before the upgrade (still in its
consumer, or replayed after a reset) in the current shape.
`shared/tests/test_public_contracts.py` fails if Ducha gains an upcaster this file lacks.
"""

from __future__ import annotations

from typing import Any

from .envelope import registry


@registry.upcaster("IssueReported", 1)
def _issue_reported_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "supervision_no": ""}  # 督办编号 exist from v2 on
