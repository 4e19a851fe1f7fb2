"""The webhook subscription aggregate, pure: its state (the kernel's aggregate idiom) and decisions."""

from __future__ import annotations

from dataclasses import dataclass, field

from ducha.contracts import DomainEvent
from ducha.contracts.notify import (
    SubscriptionCancelled,
    SubscriptionRegistered,
    WebhookDeadLettered,
    WebhookDeliveryAttempted,
    WebhookFormat,
    WebhookReplayRequested,
)
from ducha.kernel.aggregate import AggregateState, LoadedAggregate, applies
from ducha.kernel.clock import derived_id
from ducha.kernel.errors import Conflict, NotFound
from ducha.kernel.subjects import AggregateKey

from .sealing import open_sealed

CONTEXT = "notify"


def subscription_key(subscription_id: str) -> AggregateKey:
    return AggregateKey(CONTEXT, "subscription", subscription_id)


def delivery_id(subscription_id: str, generation: int, sequence: int) -> str:
    return derived_id("webhook", subscription_id, str(generation), str(sequence))


@dataclass
class SubscriptionState(AggregateState):
    url: str = ""  # redacted (v2) or, for a v1 registration, in clear
    unit_id: str = ""
    sealed_url: str = ""
    event_types: tuple[str, ...] = ()
    format: WebhookFormat = WebhookFormat.JSON
    reminders: bool = True
    cancelled: bool = False
    generation: int = 0
    cursor: int = 0  # every wanted event up to here is delivered or dead-lettered
    attempts: dict[str, int] = field(default_factory=dict)  # delivery id -> attempts so far

    def target(self, key: bytes) -> str:
        """The URL to call (SealBroken if the webhook key changed since the registration)."""
        return open_sealed(key, self.sealed_url) if self.sealed_url else self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    @applies(SubscriptionRegistered)
    def _registered(self, p: SubscriptionRegistered) -> None:
        self.unit_id, self.url, self.format, self.sealed_url = p.unit_id, p.url, p.format, p.sealed_url
        self.event_types, self.reminders, self.cursor = p.event_types, p.reminders, p.start_after

    @applies(SubscriptionCancelled)
    def _cancelled(self, _p: SubscriptionCancelled) -> None:
        self.cancelled = True

    @applies(WebhookReplayRequested)
    def _replay(self, p: WebhookReplayRequested) -> None:
        self.generation, self.cursor = p.generation, p.from_sequence - 1
        self.attempts = {}

    @applies(WebhookDeliveryAttempted)
    def _attempted(self, p: WebhookDeliveryAttempted) -> None:
        self.attempts[p.delivery_id] = max(self.attempts.get(p.delivery_id, 0), p.attempt)
        if p.ok and p.generation == self.generation:
            self.cursor = max(self.cursor, p.source_sequence)

    @applies(WebhookDeadLettered)
    def _dead(self, p: WebhookDeadLettered) -> None:
        if p.generation == self.generation:
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
