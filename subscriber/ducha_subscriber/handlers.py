"""Typed handlers per event type: `@handlers.on(IssueFedBack)` gets `DisclosedEvent[IssueFedBack]`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ducha_contracts import DisclosedEvent, PublicEvent

P = TypeVar("P", bound=PublicEvent)
Handler = Callable[[DisclosedEvent[Any]], Awaitable[None]]


class Handlers:
    def __init__(self) -> None:
        self._by_type: dict[str, list[Handler]] = {}
        self._any: list[Handler] = []

    def on(self, *event_classes: type[P]) -> Callable[[Callable[[DisclosedEvent[P]], Awaitable[None]]],
                                                      Callable[[DisclosedEvent[P]], Awaitable[None]]]:
        """Register an async handler for these event classes (none: every event)."""

        def deco(fn: Callable[[DisclosedEvent[P]], Awaitable[None]]) -> Callable[[DisclosedEvent[P]], Awaitable[None]]:
            if not event_classes:
                self._any.append(fn)
            for cls in event_classes:
                self._by_type.setdefault(cls.event_type, []).append(fn)
            return fn

        return deco

    async def dispatch(self, event: DisclosedEvent[Any]) -> int:
        """Call the event's handlers in registration order; how many ran."""
        called = [*self._by_type.get(event.event_type, ()), *self._any]
        for fn in called:
            await fn(event)
        return len(called)
