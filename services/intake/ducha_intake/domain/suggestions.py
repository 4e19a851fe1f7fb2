"""Suggestions (建议) a team records for the office, and the office's decision (建议处理)."""

from __future__ import annotations

from typing import Any

from ducha.contracts.base import DomainEvent, Envelope
from ducha.contracts.intake import SuggestionHandled, SuggestionRecorded
from ducha.kernel.errors import Conflict, NotFound

from .states import State


class SuggestionState(State):
    team_id = ""
    handled = False

    def when(self, event: DomainEvent, envelope: Envelope[Any]) -> None:
        if isinstance(event, SuggestionRecorded):
            self.team_id = event.team_id
        elif isinstance(event, SuggestionHandled):
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
