"""The disclosed event as a department receives it, and the registry that reads it.

A department's part of `DUCHA_DEPT` carries JSON objects of the shape `DisclosedEvent`: the
envelope Ducha stores minus its internal bookkeeping, with the disclosure policy's redactions
applied (`redacted` lists them: `payload.<field>` removed, `actor` replaced by the team). The
payload classes are in `ducha_contracts.events` (generated from Ducha's own contracts).

Payloads are versioned. A message written by an older Ducha (e.g. still in the stream after an
upgrade) is upcast on read by the functions registered with `registry.upcaster`, exactly as Ducha
does internally; a message from a newer Ducha than this package raises `TooNew` (upgrade the
package; never skip it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Role(StrEnum):
    # Kept equal to Ducha's own roles by shared/tests/test_public_contracts.py.
    OFFICE = "office"  # 领导小组办公室
    TEAM = "team"  # 督查督导组
    UNIT = "unit"  # 被督查单位
    HELPER = "helper"  # 市直相关单位
    CADRE = "cadre"  # 干部监督管理部门
    PUBLIC = "public"  # 社会公众
    AUDITOR = "auditor"  # 审计核查 (read-only)
    SYSTEM = "system"  # Ducha itself (timers, reactions)


class PublicModel(BaseModel):
    # Unknown fields are ignored: a newer Ducha may add optional fields without breaking this reader.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Actor(PublicModel):
    """Who did it. For an unannounced visit (暗访) the team replaces the person (`redacted: ["actor"]`)."""

    id: str
    name: str = ""
    role: Role
    unit_id: str | None = None
    team_id: str | None = None
    team_leader: bool = False


class PublicEvent(PublicModel):
    """Base of every payload a department may receive. `label_zh` is the event's Chinese name as
    Ducha's own pages show it (e.g. 审核验收未通过)."""

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    context: ClassVar[str]
    aggregate_type: ClassVar[str]
    label_zh: ClassVar[str] = ""


P = TypeVar("P", bound=PublicEvent)


class DisclosedEvent(PublicModel, Generic[P]):
    """One message of a department's part of `DUCHA_DEPT`."""

    event_id: UUID
    event_type: str
    schema_version: int = Field(ge=1)
    context: str
    aggregate_type: str
    aggregate_id: str = Field(description="e.g. the problem id")
    aggregate_version: int = Field(ge=1)
    unit_id: str | None = Field(default=None, description="the inspected unit the event concerns")
    actor: Actor
    occurred_at: datetime
    payload: P
    sequence: int = Field(description="position in Ducha's internal log (the same on pages and timelines)")
    redacted: list[str] = Field(default_factory=list, description="what the disclosure policy removed or replaced")


class UnknownEventType(ValueError):
    """An event type this package does not know (a newer Ducha): upgrade ducha-contracts."""


class TooNew(ValueError):
    """A payload version newer than this package's: upgrade ducha-contracts."""


class Registry:
    def __init__(self) -> None:
        self._classes: dict[str, type[PublicEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._envelopes: dict[str, type[DisclosedEvent[Any]]] = {}

    def register(self, cls: type[P]) -> type[P]:
        if cls.event_type in self._classes and self._classes[cls.event_type] is not cls:
            raise ValueError(f"event type {cls.event_type!r} registered twice")
        self._classes[cls.event_type] = cls
        return cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning payload version `from_version` into `from_version + 1`."""

        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return deco

    def types(self) -> dict[str, type[PublicEvent]]:
        return dict(self._classes)

    def get(self, event_type: str) -> type[PublicEvent]:
        try:
            return self._classes[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown event type {event_type!r}: upgrade ducha-contracts") from None

    def envelope(self, event_type: str) -> type[DisclosedEvent[Any]]:
        """The message model of one event type, its `event_type` and `schema_version` fixed
        (used for the AsyncAPI catalogue and strict checks)."""
        model = self._envelopes.get(event_type)
        if model is None:
            cls = self.get(event_type)
            fixed: dict[str, Any] = {"event_type": (Literal[cls.event_type], ...),
                                     "schema_version": (Literal[cls.schema_version], ...)}
            model = create_model(f"{cls.__name__}Message", __base__=DisclosedEvent[cls],  # type: ignore[valid-type]
                                 __doc__=cls.__doc__, **fixed)
            self._envelopes[event_type] = model
        return model

    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        cls = self.get(event_type)
        if version > cls.schema_version:
            raise TooNew(f"{event_type} v{version} is newer than this package's v{cls.schema_version}: "
                         "upgrade ducha-contracts")
        while version < cls.schema_version:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise ValueError(f"no upcaster for {event_type} v{version} -> v{version + 1}")
            payload = step(dict(payload))
            version += 1
        return payload

    def decode(self, data: bytes | str | Mapping[str, Any]) -> DisclosedEvent[PublicEvent]:
        """A message body as a typed event (old payload versions upcast). Raises
        `UnknownEventType`, `TooNew`, or `ValueError` for something that is not a disclosed event."""
        raw = dict(data) if isinstance(data, Mapping) else json.loads(data)
        if not isinstance(raw, dict) or not isinstance(raw.get("event_type"), str):
            raise ValueError("not a Ducha disclosed event (no event_type)")  # noqa: TRY004 - documented
        cls = self.get(raw["event_type"])
        version = raw.get("schema_version")
        if not isinstance(version, int):
            raise ValueError("not a Ducha disclosed event (no schema_version)")  # noqa: TRY004 - documented
        raw["payload"] = self.upcast(cls.event_type, version, dict(raw.get("payload") or {}))
        raw["schema_version"] = cls.schema_version
        try:
            return DisclosedEvent[cls].model_validate(raw)  # type: ignore[valid-type]
        except ValidationError as exc:
            raise ValueError(f"invalid {cls.event_type}: {exc.errors()[:3]}") from None


# The registry of every event type a department may receive (`ducha_contracts.events` fills it).
registry = Registry()
