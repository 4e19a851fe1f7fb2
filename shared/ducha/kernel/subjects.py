"""Subject layout of the event log.

    ducha.ev.<context>.<unit>.<aggregate_type>.<aggregate_id>.<event_type>

so that each of these is one subject filter:
  - one aggregate:   ducha.ev.<context>.<unit>.<aggregate_type>.<aggregate_id>.*
  - one problem across all contexts: ducha.ev.*.<unit>.problem.<problem_id>.*
  - one unit:        ducha.ev.*.<unit>.>          (what a department may subscribe to)
  - one context:     ducha.ev.<context>.>
  - one event type:  ducha.ev.*.*.*.*.<event_type>
Events that concern no unit (rounds, teams, ...) use the unit token "_".
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contracts.base import NO_UNIT, TOKEN_RE

EVENT_STREAM = "DUCHA_EVENTS"
EVENT_PREFIX = "ducha.ev"
DLQ_STREAM = "DUCHA_DLQ"
DLQ_PREFIX = "ducha.dlq"


def check_token(value: str, what: str) -> str:
    if not TOKEN_RE.match(value):
        raise ValueError(f"{what} {value!r} is not a valid id (letters, digits, '-', '_'; 1-64)")
    return value


@dataclass(frozen=True, slots=True)
class AggregateKey:
    """Identifies one event-sourced aggregate and so its consistency boundary."""

    context: str
    aggregate_type: str
    aggregate_id: str
    unit_id: str | None = None

    def __post_init__(self) -> None:
        check_token(self.context, "context")
        check_token(self.aggregate_type, "aggregate type")
        check_token(self.aggregate_id, "aggregate id")
        if self.unit_id is not None:
            check_token(self.unit_id, "unit id")

    @property
    def unit_token(self) -> str:
        return self.unit_id or NO_UNIT

    def subject(self, event_type: str) -> str:
        return (
            f"{EVENT_PREFIX}.{self.context}.{self.unit_token}.{self.aggregate_type}."
            f"{self.aggregate_id}.{event_type}"
        )

    @property
    def filter(self) -> str:
        return self.subject("*")


def context_filter(context: str) -> str:
    return f"{EVENT_PREFIX}.{check_token(context, 'context')}.>"


def unit_filter(unit_id: str) -> str:
    return f"{EVENT_PREFIX}.*.{check_token(unit_id, 'unit id')}.>"


def event_type_filter(event_type: str, context: str = "*") -> str:
    return f"{EVENT_PREFIX}.{context}.*.*.*.{event_type}"


def problem_filter(unit_id: str, problem_id: str) -> str:
    """All events of one problem across every context."""
    return f"{EVENT_PREFIX}.*.{check_token(unit_id, 'unit id')}.problem.{check_token(problem_id, 'problem id')}.*"


ALL_EVENTS = f"{EVENT_PREFIX}.>"


def dlq_subject(service: str, consumer: str) -> str:
    return f"{DLQ_PREFIX}.{service}.{consumer}"
