"""Suggestions (建议) a team records for the office, and the office's decision (建议处理)."""

from __future__ import annotations

from ducha.contracts.base import DomainEvent
from ducha.contracts.intake import SuggestionHandled, SuggestionRecorded
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.errors import Conflict, NotFound


class SuggestionState(AggregateState):
    team_id = ""
    handled = False

    @applies(SuggestionRecorded)
    def _recorded(self, event: SuggestionRecorded) -> None:
        self.team_id = event.team_id

    @applies(SuggestionHandled)
    def _handled(self, event: SuggestionHandled) -> None:
        self.handled = True


def record(suggestion: SuggestionState, event: SuggestionRecorded) -> list[DomainEvent]:
    if suggestion.exists:
        raise Conflict(f"suggestion {suggestion.id} exists already")
    return [event]


def handle(suggestion: SuggestionState, decision: str, note: str) -> list[DomainEvent]:
    if not suggestion.exists:
        raise NotFound(f"no suggestion {suggestion.id} (建议不存在)")
    if suggestion.handled:
        raise Conflict("the suggestion was handled already (建议已处理)")
    return [SuggestionHandled(decision=decision, note=note)]
