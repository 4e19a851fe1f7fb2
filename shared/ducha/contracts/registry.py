"""Maps event type names to payload classes and upcasts old payload shapes on read.

An upcaster turns the stored JSON of version N into version N+1. Stored events are never
rewritten: the log keeps the shape it was written with, readers see the current shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from .base import DomainEvent, Envelope, EnvelopeHeader, WireEnvelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
T = TypeVar("T", bound=type[DomainEvent])


class MalformedEvent(ValueError):
    """A stored message that cannot be read as a known event; `reason` says why."""

    def __init__(self, reason: str, *, too_new: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        # Written by a newer version of Ducha than this reader: not garbage, wait for an upgrade.
        self.too_new = too_new


class EventRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._typed: dict[str, type[Envelope[DomainEvent]]] = {}

    def register(self, cls: T) -> T:
        name = cls.event_type
        if name in self._classes and self._classes[name] is not cls:
            raise ValueError(f"event type {name!r} registered twice")
        for attr in ("event_type", "context", "aggregate_type"):
            if not isinstance(getattr(cls, attr, None), str):
                raise TypeError(f"{cls.__name__} must define ClassVar {attr}")
        self._classes[name] = cls
        return cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning payload version `from_version` into `from_version + 1`."""

        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return deco

    def get(self, event_type: str) -> type[DomainEvent]:
        try:
            return self._classes[event_type]
        except KeyError:
            raise MalformedEvent(f"unknown event type {event_type!r}") from None

    def label_zh(self, event_type: str) -> str:
        """The event type's Chinese label (its class's `label_zh`); an unknown or unlabelled type
        shows its name."""
        label = getattr(self._classes.get(event_type), "label_zh", None)
        return label if isinstance(label, str) and label else event_type

    def types(self) -> dict[str, type[DomainEvent]]:
        return dict(self._classes)

    def _fast_decode(self, data: bytes, sequence: int, event_type: str) -> Envelope[DomainEvent] | None:
        model = self._typed.get(event_type)
        if model is None:
            cls = self._classes.get(event_type)
            if cls is None:
                return None
            model = self._typed[event_type] = Envelope[cls]  # type: ignore[valid-type]
        try:
            env = model.model_validate_json(data)
        except ValidationError:
            return None  # old shape or bad data: the careful path says which
        if env.schema_version != model.model_fields["payload"].annotation.schema_version:  # type: ignore[union-attr]
            return None
        # The sequence is the log position, known only after storing; set it without a copy.
        env.__dict__["sequence"] = sequence
        return env

    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        cls = self.get(event_type)
        if version > cls.schema_version:
            raise MalformedEvent(
                f"{event_type} schema version {version} is newer than this reader's "
                f"{cls.schema_version}",
                too_new=True,
            )
        while version < cls.schema_version:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise MalformedEvent(f"no upcaster for {event_type} v{version} -> v{version + 1}")
            payload = step(payload)
            version += 1
        return payload

    def decode(self, data: bytes, sequence: int = 0, event_type: str | None = None) -> Envelope[DomainEvent]:
        """Parse a stored message body into a typed envelope (upcasting old payloads).

        `event_type` (the last token of the subject) allows the fast path: one validation of the
        whole message against the current shape of that type."""
        if event_type is not None:
            fast = self._fast_decode(data, sequence, event_type)
            if fast is not None:
                return fast
        try:
            wire = WireEnvelope.model_validate_json(data)
        except ValidationError as exc:
            raise MalformedEvent(f"not a Ducha event envelope: {_short(exc)}") from None
        cls = self.get(wire.event_type)
        payload_data = self.upcast(wire.event_type, wire.schema_version, wire.payload)
        try:
            payload = cls.model_validate(payload_data)
        except ValidationError as exc:
            raise MalformedEvent(f"invalid {wire.event_type} payload: {_short(exc)}") from None
        # model_construct: every part is already validated; this is the replay hot path.
        header = {name: getattr(wire, name) for name in _HEADER_FIELDS}
        header["schema_version"] = cls.schema_version
        return Envelope[DomainEvent].model_construct(**header, payload=payload, sequence=sequence)


_HEADER_FIELDS = tuple(EnvelopeHeader.model_fields)


def _short(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


# The one registry of all Ducha events; each contracts module registers its classes on import.
registry = EventRegistry()


def label_zh(event_type: str) -> str:
    """`label_zh("RectificationRejected") == "审核验收未通过"`: the one Chinese label of an event type
    (the `label_zh` ClassVar of its contract class); an unknown type shows its own name."""
    return registry.label_zh(event_type)
