"""Running a command against one aggregate: load, decide (pure), append with the server checking
the version, and make retries of the same command return the first result.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, overload

from ..contracts.base import Actor, DomainEvent, Envelope, event_hash
from .aggregate import LoadedAggregate
from .clock import Clock, SystemClock
from .errors import Conflict, DomainError, InvalidCommand
from .eventstore import (
    AppendUnacknowledged,
    ConcurrencyConflict,
    DuplicateAppend,
    EventLog,
)
from .observability import APPEND_SECONDS, APPENDED, COMMANDS, Timer
from .shutdown import ShutdownGate
from .subjects import AggregateKey

COMMAND_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
UNACKNOWLEDGED_BUDGET = 15.0  # seconds of retrying an append the log did not acknowledge
AUTO_RETRIES = 60  # a hot aggregate (a round's write-off ledger) sees many contenders

E = TypeVar("E", bound=DomainEvent)
Decide = Callable[[LoadedAggregate], Sequence[DomainEvent]]
DecideMulti = Callable[[dict[AggregateKey, LoadedAggregate]], dict[AggregateKey, Sequence[DomainEvent]]]


def actor_scope(actor: Actor) -> str:
    """What an actor may see of a command's result: its role and organisation (unit, team), not
    the individual (a colleague retrying the same command may see its result)."""
    return f"{actor.role.value}:{actor.unit_id or '-'}:{actor.team_id or '-'}"


def check_command_id(value: str) -> str:
    if not COMMAND_ID_RE.match(value):
        raise InvalidCommand(
            "Idempotency-Key must be 8-128 characters of letters, digits, '_', '.', ':' or '-'",
            field="Idempotency-Key",
        )
    return value


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asks, and how to recognise this command if it is sent again."""

    actor: Actor
    command_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    correlation_id: str = ""
    causation_id: str | None = None
    # Set from the client's If-Match: the aggregate sequence the client decided on. Without it,
    # a conflicting concurrent write makes us reload and decide again.
    expected_sequence: int | None = None

    def __post_init__(self) -> None:
        check_command_id(self.command_id)
        if not self.correlation_id:
            object.__setattr__(self, "correlation_id", self.command_id)


@dataclass(frozen=True, slots=True)
class CommandResult:
    aggregate_id: str
    events: tuple[Envelope[DomainEvent], ...]
    last_sequence: int  # ask queries for at least this sequence to read your own write
    replayed: bool = False  # True when this is the stored result of an earlier identical command

    def payload(self, cls: type[E]) -> E:
        """The payload of the first event of type `cls` the command stored (also when replayed:
        a replayed result carries every event of the first run, over all its aggregates)."""
        for env in self.events:
            if isinstance(env.payload, cls):
                return env.payload
        raise LookupError(f"the command stored no {cls.__name__} (events: "
                          f"{[e.event_type for e in self.events]})")


class CommandRunner:
    def __init__(
        self,
        store: EventLog,
        clock: Clock | None = None,
        service: str = "ducha",
        gate: ShutdownGate | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.service = service
        # While the service stops, the gate refuses appends a request has not begun yet.
        self.gate = gate or ShutdownGate()
        # Commands of this process on one aggregate take turns: concurrent ones would only
        # conflict at the server and retry (a round's write-off ledger under load: most of the
        # write-off's time). Other processes still meet the server's expected-sequence check.
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def run(self, key: AggregateKey, ctx: CommandContext, decide: Decide) -> CommandResult:
        def decide_one(loaded: dict[AggregateKey, LoadedAggregate]) -> dict[AggregateKey, Sequence[DomainEvent]]:
            return {key: decide(loaded[key])}

        async with self._turn(key):
            return await self._measured(self._run((key,), ctx, decide_one, multi=False))

    async def run_multi(
        self, keys: Sequence[AggregateKey], ctx: CommandContext, decide: DecideMulti
    ) -> CommandResult:
        """One command over several aggregates, appended in one atomic batch. The result names
        the first key's aggregate."""
        async with contextlib.AsyncExitStack() as turns:
            for name in sorted({k.filter for k in keys}):  # one order everywhere: no deadlock
                await turns.enter_async_context(self._turn_of(name))
            return await self._measured(self._run(tuple(keys), ctx, decide, multi=True))

    def _turn(self, key: AggregateKey) -> asyncio.Lock:
        return self._turn_of(key.filter)

    def _turn_of(self, name: str) -> asyncio.Lock:
        lock = self._turns.get(name)
        if lock is None:
            lock = self._turns[name] = asyncio.Lock()
        return lock

    async def _measured(self, work: Awaitable[CommandResult]) -> CommandResult:
        timer = Timer()
        try:
            result = await work
        except Conflict:
            COMMANDS.labels(self.service, "conflict").inc()
            raise
        except DomainError:
            COMMANDS.labels(self.service, "rejected").inc()
            raise
        except Exception:
            COMMANDS.labels(self.service, "error").inc()
            raise
        if result.replayed:
            COMMANDS.labels(self.service, "replayed").inc()
        else:
            COMMANDS.labels(self.service, "ok").inc()
            if result.events:
                APPENDED.labels(self.service).inc(len(result.events))
                APPEND_SECONDS.labels(self.service).observe(timer.seconds)
        return result

    async def _run(
        self, keys: tuple[AggregateKey, ...], ctx: CommandContext, decide: DecideMulti, *, multi: bool
    ) -> CommandResult:
        """The one command loop: load, replay a stored result, decide, append; on a conflict
        decide again on the fresh state (unless the client named the version it decided on)."""
        first = keys[0]
        give_up = time.monotonic() + UNACKNOWLEDGED_BUDGET
        for attempt in range(AUTO_RETRIES):
            if attempt:
                await _backoff(attempt)
            loaded = {key: await self.store.load(key) for key in keys}
            if not multi:
                previous = loaded[first].events_of_command(ctx.command_id)
                if previous:
                    return _replayed(first, ctx, previous)
                if ctx.expected_sequence is not None and ctx.expected_sequence != loaded[first].last_sequence:
                    raise Conflict(
                        f"{first.aggregate_type} {first.aggregate_id} has changed (now at sequence "
                        f"{loaded[first].last_sequence}, you sent {ctx.expected_sequence}); reload and retry"
                    )
            elif any(agg.events_of_command(ctx.command_id) for agg in loaded.values()):
                return await self._replay_multi(keys, ctx)
            decided = decide(loaded)
            parts = []
            for key in keys:
                payloads = list(decided.get(key, ()))
                if payloads:
                    parts.append((key, self._envelopes(key, ctx, loaded[key], payloads), loaded[key].last_sequence))
            if not parts:
                return CommandResult(first.aggregate_id, (), max(agg.last_sequence for agg in loaded.values()))
            self.gate.before_append()
            try:
                if multi:
                    result = await self.store.append_multi(parts)
                else:
                    result = await self.store.append(*parts[0])
            except AppendUnacknowledged:
                # Stored or not, we cannot tell (e.g. the stream leader died): the next attempt
                # reloads and finds the command if it landed; the message ids dedupe otherwise.
                if time.monotonic() > give_up:
                    raise
                continue
            except (ConcurrencyConflict, DuplicateAppend) as exc:
                # The server checks the sequence before dedup, so a resent command lands here too.
                replay = await self._replay_multi(keys, ctx, required=False)
                if replay is not None:
                    return replay
                if isinstance(exc, DuplicateAppend):
                    raise _reused(ctx) from exc
                if ctx.expected_sequence is not None:
                    raise Conflict(str(exc)) from exc
                continue
            if result.duplicate:
                # JetStream knows the message id, so the command is stored: here, or (a key
                # re-used for another command) on another aggregate.
                return await self._replay_multi(keys, ctx)
            envelopes = [env for _key, envs, _expected in parts for env in envs]
            stored = tuple(
                env.model_copy(update={"sequence": result.first_sequence + i})
                for i, env in enumerate(envelopes)
            )
            return CommandResult(first.aggregate_id, stored, result.last_sequence)
        if multi:
            raise Conflict("the aggregates are being changed by others; retry shortly")
        raise Conflict(f"{first.aggregate_type} {first.aggregate_id} is being changed by others; retry shortly")

    @overload
    async def _replay_multi(self, keys: Sequence[AggregateKey], ctx: CommandContext) -> CommandResult: ...

    @overload
    async def _replay_multi(
        self, keys: Sequence[AggregateKey], ctx: CommandContext, required: bool
    ) -> CommandResult | None: ...

    async def _replay_multi(
        self, keys: Sequence[AggregateKey], ctx: CommandContext, required: bool = True
    ) -> CommandResult | None:
        """The stored result of a command, read after seeing any part of it.

        The aggregates are loaded one after another, so a first look may have read one aggregate
        before a concurrent identical command's batch landed and the other after it. The batch is
        atomic: once a part is seen, reading every aggregate again sees all of it."""
        reloaded = [await self.store.load(key) for key in keys]
        previous = tuple(e for r in reloaded for e in r.events_of_command(ctx.command_id))
        if not previous and not required:
            return None
        return _replayed(keys[0], ctx, previous)

    def _envelopes(
        self,
        key: AggregateKey,
        ctx: CommandContext,
        loaded: LoadedAggregate,
        payloads: Sequence[DomainEvent],
    ) -> list[Envelope[DomainEvent]]:
        now = self.clock.now()
        version = loaded.version
        prev_hash = loaded.last_hash
        out: list[Envelope[DomainEvent]] = []
        for i, payload in enumerate(payloads, start=1):
            if payload.context != key.context or payload.aggregate_type != key.aggregate_type:
                raise TypeError(
                    f"{payload.event_type} belongs to {payload.context}/{payload.aggregate_type}, "
                    f"not {key.context}/{key.aggregate_type}"
                )
            out.append(
                Envelope[DomainEvent](
                    event_id=uuid.uuid4(),
                    event_type=payload.event_type,
                    schema_version=payload.schema_version,
                    context=key.context,
                    aggregate_type=key.aggregate_type,
                    aggregate_id=key.aggregate_id,
                    aggregate_version=version + i,
                    unit_id=key.unit_id,
                    actor=ctx.actor,
                    occurred_at=now,
                    command_id=ctx.command_id,
                    correlation_id=ctx.correlation_id,
                    causation_id=ctx.causation_id,
                    prev_hash=prev_hash,
                    payload=payload,
                )
            )
            prev_hash = event_hash(out[-1].to_wire_json())
        return out


async def _backoff(attempt: int) -> None:
    # Contenders of one aggregate spread out instead of colliding again (full jitter, <= 50 ms).
    await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * 2 ** min(attempt, 5))))


def _reused(ctx: CommandContext) -> Conflict:
    return Conflict(
        f"the Idempotency-Key {ctx.command_id!r} was already used for another command; "
        "send a new key for a new command (nothing was written)"
    )


def _replayed(
    key: AggregateKey, ctx: CommandContext, events: tuple[Envelope[DomainEvent], ...]
) -> CommandResult:
    """The stored result of an earlier run of this command, for the actor who may see it."""
    if not events:
        raise _reused(ctx)
    scope = actor_scope(ctx.actor)
    if any(actor_scope(e.actor) != scope for e in events):
        # Never hand one unit's or team's result (a webhook secret, a problem id) to another.
        raise Conflict(
            f"the Idempotency-Key {ctx.command_id!r} belongs to a command of another actor; "
            "send a new key (nothing was written)"
        )
    ordered = tuple(sorted(events, key=lambda e: e.sequence))
    return CommandResult(key.aggregate_id, ordered, ordered[-1].sequence, replayed=True)
