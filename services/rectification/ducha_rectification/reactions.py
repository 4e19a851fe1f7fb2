"""The return path: verification's rejection (审核不通过) or a rebound found on revisit (反弹) reopens
the problem here, with the reasons, so the unit must rectify again. The projection already shows the
reopen at the verification event's sequence; this event makes it the aggregate's own."""

from __future__ import annotations

from ducha.contracts import SYSTEM_ACTOR, DomainEvent, Envelope
from ducha.contracts import rectification as rc
from ducha.contracts import verification as vf
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext
from ducha.kernel.reaction import Reaction
from ducha.kernel.runtime import Kernel
from ducha.kernel.subjects import AggregateKey, event_type_filter

from .domain.state import ProblemState
from .domain.submission import reopen


class ReopenOnRejectionOrRebound(Reaction):
    name = "reopen_on_rejection_or_rebound"
    subjects = (
        event_type_filter("RectificationRejected", "verification"),
        event_type_filter("RevisitRecorded", "verification"),
    )

    async def react(self, kernel: Kernel, event: Envelope[DomainEvent]) -> None:
        p = event.payload
        if isinstance(p, vf.RectificationRejected):
            cause, reasons = rc.ReopenCause.REJECTED, tuple(p.reasons)
        elif isinstance(p, vf.RevisitRecorded) and p.outcome == vf.RevisitOutcome.REBOUNDED:
            cause, reasons = rc.ReopenCause.REBOUNDED, (p.findings,)
        else:
            return  # a revisit that held: nothing to do here
        if event.unit_id is None:
            return  # not a problem of a unit: nothing of ours to reopen
        source = str(event.event_id)
        ctx = CommandContext(
            SYSTEM_ACTOR, derived_id(self.name, source),
            correlation_id=event.correlation_id, causation_id=source,
        )
        key = AggregateKey("rectification", "problem", event.aggregate_id, event.unit_id)
        await kernel.commands.run(key, ctx, lambda loaded: reopen(ProblemState.of(loaded), cause, reasons, source))
