"""Upcasters of department-visible payloads: when Ducha raises an event's `schema_version`, the
function turning the old payload into the new one goes here too (the same as Ducha's own, written
against plain dicts), so a department's mirror reads messages written before the upgrade:

    @registry.upcaster("IssueReported", 1)
    def _issue_reported_1_to_2(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "new_field": "default"}

Every department-visible event is at version 1 today, so there are none yet;
`shared/tests/test_public_contracts.py` fails if Ducha gains an upcaster this file lacks.
"""

from __future__ import annotations
