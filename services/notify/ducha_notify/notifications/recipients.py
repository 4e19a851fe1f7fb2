"""Who gets which reminder (pure selection over directory rows)."""

from __future__ import annotations

import json
from typing import Any

from ducha.contracts.notify import Recipient
from sqlalchemy import Connection, select

from ..directory.tables import helpers, persons, teams, units

# kind -> the groups told
GROUPS: dict[str, tuple[str, ...]] = {
    "feedback_received": ("unit",),
    "deadline_to_set": ("unit", "team"),
    "deadline_approaching": ("unit",),
    "deadline_missed": ("unit", "team"),
    "escalation": ("office", "cadre"),
    "review_verified": ("unit", "team"),
    "review_rejected": ("unit", "team"),
    "helper_assigned": ("helper", "unit"),
    "revisit_due": ("team",),
    "digest_unit": ("unit",),
    "digest_team": ("team",),
}


def _person(row: Any, role: str) -> Recipient:
    return Recipient(person_id=row["id"], name=row["name"], role=role, org_id=row["org_id"], email=row["email"] or "")


def select_recipients(conn: Connection, kind: str, unit_id: str | None, team_id: str | None,
                      helper_id: str | None = None) -> list[Recipient]:
    out: list[Recipient] = []
    for group in GROUPS[kind]:
        if group == "unit" and unit_id:
            unit = conn.execute(select(units).where(units.c.id == unit_id)).mappings().first()
            if unit is not None and unit["contact_email"]:
                out.append(Recipient(name=unit["contact_name"] or unit["name"], role="unit", org_id=unit_id,
                                     email=unit["contact_email"]))
            for row in conn.execute(select(persons).where(persons.c.role == "unit", persons.c.org_id == unit_id)
                                    .order_by(persons.c.id)).mappings():
                out.append(_person(row, "unit"))
        elif group == "team" and team_id:
            members = conn.execute(select(teams.c.member_ids).where(teams.c.id == team_id)).scalar_one_or_none()
            ids = json.loads(members) if members else []
            for row in conn.execute(select(persons).where(persons.c.id.in_(ids)).order_by(persons.c.id)).mappings():
                out.append(_person(row, "team"))
        elif group in ("office", "cadre"):
            for row in conn.execute(select(persons).where(persons.c.role == group).order_by(persons.c.id)).mappings():
                out.append(_person(row, group))
        elif group == "helper" and helper_id:
            helper = conn.execute(select(helpers).where(helpers.c.id == helper_id)).mappings().first()
            if helper is not None and helper["contact_email"]:
                out.append(Recipient(name=helper["contact_name"] or helper["name"], role="helper", org_id=helper_id,
                                     email=helper["contact_email"]))
            for row in conn.execute(select(persons).where(persons.c.org_id == helper_id,
                                                            persons.c.role == "helper").order_by(persons.c.id)).mappings():
                out.append(_person(row, "helper"))
    return out
