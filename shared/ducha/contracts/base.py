"""The event envelope and the actor who caused it.

Every event Ducha stores is an `Envelope` around one typed `DomainEvent` payload. Envelopes are
immutable; an old payload shape is upcast when read (see `registry`), never rewritten in the log.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

# Subject tokens: no dots, no wildcards, no spaces. Ids become NATS subject tokens, so they are
# restricted to a safe alphabet; Chinese names live in payloads, never in ids.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NO_UNIT = "_"


class Role(StrEnum):
    OFFICE = "office"  # 领导小组办公室
    TEAM = "team"  # 督查督导组
    UNIT = "unit"  # 被督查单位
    HELPER = "helper"  # 市直相关单位
    CADRE = "cadre"  # 干部监督管理部门
    PUBLIC = "public"  # 社会公众
    AUDITOR = "auditor"  # 审计核查 (纪检监察、审计): read-only, city-wide, audit pages
    SYSTEM = "system"  # the services themselves (timers, reactions)


class Actor(BaseModel):
    """Who did it. Units and helper departments carry their organisation id; team members their team."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    name: str = Field(default="", max_length=128)
    role: Role
    unit_id: str | None = None
    team_id: str | None = None
    team_leader: bool = False

    @model_validator(mode="after")
    def _scope_matches_role(self) -> Actor:
        if self.role in (Role.UNIT, Role.HELPER) and not self.unit_id:
            raise ValueError(f"an actor with role '{self.role}' needs unit_id")
        if self.role == Role.TEAM and not self.team_id:
            raise ValueError("an actor with role 'team' needs team_id")
        for value in (self.unit_id, self.team_id):
            if value is not None and not TOKEN_RE.match(value):
                raise ValueError(f"scope id {value!r} must match {TOKEN_RE.pattern}")
        return self


SYSTEM_ACTOR = Actor(id="system", name="系统", role=Role.SYSTEM)


class DomainEvent(BaseModel):
    """Base of every event payload. Subclasses name their type, schema version, context and
    aggregate type; these decide the NATS subject the event is stored under."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    context: ClassVar[str]
    aggregate_type: ClassVar[str]
    label_zh: ClassVar[str]


E = TypeVar("E", bound=DomainEvent)


class EnvelopeHeader(BaseModel):
    """The metadata every stored event carries, independent of its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    event_type: str
    schema_version: int = Field(ge=1)
    context: str
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int = Field(ge=1, description="1-based position of the event in its aggregate")
    unit_id: str | None = Field(default=None, description="the inspected unit the event concerns")
    actor: Actor
    occurred_at: datetime
    command_id: str
    correlation_id: str
    causation_id: str | None = None
    prev_hash: str | None = Field(
        default=None,
        description="sha256 (hex) of the stored bytes of the aggregate's previous event: a hash chain "
        "per aggregate, for tamper evidence (null for an aggregate's first event)",
    )


class WireEnvelope(EnvelopeHeader):
    """An envelope as stored: the payload still a plain JSON object (maybe an old shape)."""

    payload: dict[str, Any]


class Envelope(EnvelopeHeader, Generic[E]):
    """A stored, typed event. `sequence` is the JetStream stream sequence: the global log position."""

    payload: SerializeAsAny[E]
    sequence: int = Field(default=0, exclude=True)

    def to_wire_json(self) -> bytes:
        """The bytes stored in the log (computed once: the hash chain and the append use them)."""
        cached = self.__dict__.get("_wire")
        if cached is None:
            cached = self.model_dump_json().encode()
            self.__dict__["_wire"] = cached
        return cached


def event_hash(stored: bytes) -> str:
    return hashlib.sha256(stored).hexdigest()
