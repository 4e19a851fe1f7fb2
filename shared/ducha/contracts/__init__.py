"""Event contracts of every Ducha context. Importing this package registers them all."""

from .base import NO_UNIT, SYSTEM_ACTOR, Actor, DomainEvent, Envelope, EnvelopeHeader, Role
from .registry import EventRegistry, MalformedEvent, label_zh, registry

# Importing the context modules registers their events.
from . import intake, notify, rectification, verification  # noqa: F401  isort: skip

__all__ = [
    "NO_UNIT",
    "SYSTEM_ACTOR",
    "Actor",
    "DomainEvent",
    "Envelope",
    "EnvelopeHeader",
    "EventRegistry",
    "MalformedEvent",
    "Role",
    "label_zh",
    "registry",
]
