"""The webhook subscription aggregate: state folded from its events and pure decisions."""

from __future__ import annotations

from dataclasses import dataclass, field

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts.notify import (
    SubscriptionCancelled,
    SubscriptionRegistered,
    WebhookDeadLettered,
    WebhookDeliveryAttempted,
    WebhookFormat,
    WebhookReplayRequested,
)
from ducha.kernel.clock import derived_id
from ducha.kernel.errors import Conflict, NotFound
from ducha.kernel.eventstore import LoadedAggregate
from ducha.kernel.subjects import AggregateKey

from .sealing import open_sealed

CONTEXT = "notify"


def subscription_key(subscription_id: str) -> AggregateKey:
    return AggregateKey(CONTEXT, "subscription", subscription_id)


def delivery_id(subscription_id: str, generation: int, sequence: int) -> str:
    return derived_id("webhook", subscription_id, str(generation), str(sequence))


@dataclass
class SubscriptionState:
    id: str
    unit_id: str = ""
    url: str = ""  # redacted (v2) or, for a v1 registration, in clear
    sealed_url: str = ""
    event_types: tuple[str, ...] = ()
    format: WebhookFormat = WebhookFormat.JSON
    reminders: bool = True
    exists: bool = False
    cancelled: bool = False
    generation: int = 0
    cursor: int = 0  # every wanted event up to here is delivered or dead-lettered
    attempts: dict[str, int] = field(default_factory=dict)  # delivery id -> attempts so far

    def target(self, key: bytes) -> str:
        """The URL to call (SealBroken if the webhook key changed since the registration)."""
        return open_sealed(key, self.sealed_url) if self.sealed_url else self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    @classmethod
    def of(cls, loaded: LoadedAggregate) -> SubscriptionState:
        state = cls(loaded.key.aggregate_id)
        for env in loaded.events:
            state.apply(env)
        return state

    def apply(self, env: Envelope[DomainEvent]) -> None:
        p = env.payload
        if isinstance(p, SubscriptionRegistered):
            self.exists, self.unit_id, self.url, self.format = True, p.unit_id, p.url, p.format
            self.sealed_url = p.sealed_url
            self.event_types, self.reminders, self.cursor = p.event_types, p.reminders, p.start_after
        elif isinstance(p, SubscriptionCancelled):
            self.cancelled = True
        elif isinstance(p, WebhookReplayRequested):
            self.generation, self.cursor = p.generation, p.from_sequence - 1
            self.attempts = {}
        elif isinstance(p, WebhookDeliveryAttempted):
            self.attempts[p.delivery_id] = max(self.attempts.get(p.delivery_id, 0), p.attempt)
            if p.ok and p.generation == self.generation:
                self.cursor = max(self.cursor, p.source_sequence)
        elif isinstance(p, WebhookDeadLettered) and p.generation == self.generation:
            self.cursor = max(self.cursor, p.source_sequence)


def require(state: SubscriptionState) -> SubscriptionState:
    if not state.exists:
        raise NotFound(f"no webhook subscription {state.id}")
    return state


def decide_cancel(loaded: LoadedAggregate, reason: str) -> list[DomainEvent]:
    state = require(SubscriptionState.of(loaded))
    if state.cancelled:
        return []
    return [SubscriptionCancelled(reason=reason)]


def decide_replay(loaded: LoadedAggregate, from_sequence: int) -> list[DomainEvent]:
    state = require(SubscriptionState.of(loaded))
    if state.cancelled:
        raise Conflict("the subscription is cancelled")
    return [WebhookReplayRequested(from_sequence=from_sequence, generation=state.generation + 1)]
