"""The public contracts package (contracts/, `ducha_contracts`) is Ducha's own contracts as a
department receives them: generated, current, the same schemas, and it reads what the disclosure
policy produces (redacted fields absent), old versions upcast."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import ducha_contracts
import pytest
from ducha.contracts import Actor, Envelope, Role, registry
from ducha.contracts import intake as i
from ducha.contracts import verification as v
from ducha.contracts.common import FoundBy, Severity
from ducha.contracts.publicgen import department_events, render
from ducha.disclosure import ProblemFacts, Stage, Viewer, decide, public_shape
from ducha_contracts import DisclosedEvent, PublicEvent, Registry, TooNew, UnknownEventType

ROOT = Path(__file__).resolve().parents[2]


def test_generated_public_events_are_current() -> None:
    current = (ROOT / "contracts" / "ducha_contracts" / "events.py").read_text(encoding="utf-8")
    assert current == render(), "run: python -m ducha.contracts.publicgen > contracts/ducha_contracts/events.py"


def test_exactly_the_department_visible_events_are_public() -> None:
    visible = department_events()
    assert set(ducha_contracts.registry.types()) == set(visible) == set(ducha_contracts.DEPARTMENT_EVENTS)
    # team-internal steps and other contexts' bookkeeping never reach a department
    assert not {"ReviewProposed", "ReviewProposalReturned", "TeamFormed", "NotificationRequested"} & set(visible)
    assert {"IssueFedBack", "DeadlineSet", "RectificationVerified", "ProblemWrittenOff"} <= set(visible)


def _schema(cls: Any) -> dict[str, Any]:
    s = json.loads(json.dumps(cls.model_json_schema()))
    s.pop("additionalProperties", None)  # internal contracts forbid extra fields, public ones ignore them
    for d in s.get("$defs", {}).values():
        d.pop("description", None)
        d.pop("additionalProperties", None)
    return s


def test_public_schemas_equal_the_internal_ones_except_redactable_fields() -> None:
    for event_type, redactable in department_events().items():
        public, internal = ducha_contracts.registry.get(event_type), registry.get(event_type)
        assert public.schema_version == internal.schema_version and public.context == internal.context
        ps, is_ = _schema(public), _schema(internal)
        assert set(ps["properties"]) == set(is_["properties"]), event_type
        for name, prop in is_["properties"].items():
            if name not in redactable:
                assert ps["properties"][name] == prop, (event_type, name)
        assert set(ps.get("required", [])) == set(is_.get("required", [])) - redactable, event_type
        assert ps.get("$defs", {}) == is_.get("$defs", {}), event_type


def test_the_public_roles_are_duchas_roles() -> None:
    assert [r.value for r in ducha_contracts.Role] == [r.value for r in Role]


def test_every_internal_upcaster_of_a_public_event_has_a_public_twin_with_the_same_result() -> None:
    visible = department_events()
    internal = {key for key in registry._upcasters if key[0] in visible}
    assert internal <= set(ducha_contracts.registry._upcasters)
    old = {"round_id": "R1", "team_id": "T1", "content_id": "C1", "title": "旧问题", "description": "说明",
           "category": "营商环境", "severity": "general", "found_on": "2025-06-01", "found_by": "on_site",
           "publishable": False}
    assert ("IssueReported", 1) in internal
    assert ducha_contracts.registry.upcast("IssueReported", 1, dict(old)) == registry.upcast("IssueReported", 1, dict(old))


def _envelope(payload: Any, actor: Actor) -> dict[str, Any]:
    env = Envelope[type(payload)](  # type: ignore[misc]
        event_id=uuid.uuid4(), event_type=payload.event_type, schema_version=payload.schema_version,
        context=payload.context, aggregate_type=payload.aggregate_type, aggregate_id="P1", aggregate_version=3,
        unit_id="U1", actor=actor, occurred_at=datetime(2026, 3, 2, 1, tzinfo=UTC), command_id="c",
        correlation_id="c", payload=payload)
    return env.model_dump(mode="json")


def test_a_redacted_event_reads_as_its_public_class_without_the_redacted_fields() -> None:
    member = Actor(id="p-t1", name="赵组长", role=Role.TEAM, team_id="T1")
    facts = ProblemFacts("P1", "U1", "T1", stage=Stage.RECTIFYING, fed_back=True, unannounced=True)
    for payload in (v.RectificationVerified(submission_no=1, effectiveness=v.Effectiveness.GOOD, assessment="好",
                                            proposed_by="p-t2"),
                    i.IssueReported(round_id="R2", team_id="T1", content_id="C1", title="暗访问题", description="说明",
                                    category="重大项目建设", severity=Severity.SEVERE, found_on=date(2026, 1, 6),
                                    found_by=FoundBy.UNANNOUNCED, publishable=True)):
        wire = _envelope(payload, member)
        decision = decide(Viewer(Role.UNIT, unit_id="U1"), payload.event_type, facts, sequence=7, payload=wire["payload"])
        shaped = public_shape(wire, decision, facts, 7)
        event = ducha_contracts.registry.decode(json.dumps(shaped, ensure_ascii=False).encode())
        assert type(event.payload) is ducha_contracts.registry.get(payload.event_type)
        assert event.actor.name == "督查组" and "actor" in event.redacted and event.sequence == 7
        if payload.event_type == "RectificationVerified":
            assert event.payload.proposed_by is None and "payload.proposed_by" in event.redacted  # type: ignore[attr-defined]
        strict = ducha_contracts.registry.envelope(payload.event_type)
        strict.model_validate(shaped)  # the AsyncAPI message shape accepts what is sent


class _Noted(PublicEvent):
    event_type: ClassVar[str] = "Noted"
    schema_version: ClassVar[int] = 3
    context: ClassVar[str] = "test"
    aggregate_type: ClassVar[str] = "problem"
    text: str
    urgent: bool


def _message(version: int, payload: dict[str, Any], event_type: str = "Noted") -> bytes:
    return json.dumps({"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": version,
                       "context": "test", "aggregate_type": "problem", "aggregate_id": "P1", "aggregate_version": 1,
                       "unit_id": "U1", "actor": {"id": "system", "role": "system"},
                       "occurred_at": "2026-03-02T01:00:00Z", "payload": payload, "sequence": 5,
                       "redacted": []}).encode()


def test_old_versions_are_upcast_and_newer_ones_refused() -> None:
    reg = Registry()
    reg.register(_Noted)

    @reg.upcaster("Noted", 1)
    def _v1(p: dict[str, Any]) -> dict[str, Any]:
        return {"text": p.pop("note")}

    @reg.upcaster("Noted", 2)
    def _v2(p: dict[str, Any]) -> dict[str, Any]:
        return {**p, "urgent": False}

    event: DisclosedEvent[Any] = reg.decode(_message(1, {"note": "旧格式"}))
    assert event.payload == _Noted(text="旧格式", urgent=False) and event.schema_version == 3
    assert reg.decode(_message(3, {"text": "新", "urgent": True, "added_later": 1})).payload.urgent is True  # type: ignore[attr-defined]
    with pytest.raises(TooNew):
        reg.decode(_message(4, {"text": "更新"}))
    with pytest.raises(UnknownEventType):
        reg.decode(_message(1, {}, event_type="SomethingNew"))
