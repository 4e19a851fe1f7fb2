"""Ducha's public event contracts: the events a department receives on its part of the department
stream `DUCHA_DEPT`, their versions and upcasters. Install `ducha-contracts` (and `ducha-subscriber`
to run the ready-made subscriber); nothing of Ducha's services is needed.

    from ducha_contracts import registry, IssueFedBack
    event = registry.decode(message_bytes)        # DisclosedEvent[...] with a typed payload
    if isinstance(event.payload, IssueFedBack): ...
"""

from . import upcasters  # noqa: F401  (registers upcasters)
from .envelope import (
    Actor,
    DisclosedEvent,
    PublicEvent,
    PublicModel,
    Registry,
    Role,
    TooNew,
    UnknownEventType,
    registry,
)
from .events import *
from .events import DEPARTMENT_EVENTS, REDACTABLE

STREAM = "DUCHA_DEPT"
SUBJECT_PREFIX = "ducha.dept"


def department_subject(department: str, event_type: str = ">") -> str:
    """`ducha.dept.<department>.<EventType>`: the subjects of one department's part of DUCHA_DEPT."""
    return f"{SUBJECT_PREFIX}.{department}.{event_type}"


__all__ = [
    "DEPARTMENT_EVENTS",
    "REDACTABLE",
    "STREAM",
    "SUBJECT_PREFIX",
    "Actor",
    "DisclosedEvent",
    "PublicEvent",
    "PublicModel",
    "Registry",
    "Role",
    "TooNew",
    "UnknownEventType",
    "department_subject",
    "registry",
]
