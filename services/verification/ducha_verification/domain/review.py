"""Review and acceptance (审核验收) of a submitted rectification.

Rules:
- only a member of the problem's team reviews;
- the submission reviewed must be the latest one rectification recorded, and not yet reviewed;
- accept needs an effectiveness and an assessment (评估问效); reject needs at least one reason;
- general and serious problems: one step (any team member, the leader included);
- severe problems: two steps and four eyes. A member who is not the leader proposes
  (ReviewProposed); the leader confirms it (RectificationVerified/Rejected with `proposed_by`) or
  returns it (ReviewProposalReturned). The leader never proposes, so nobody confirms their own
  proposal; one proposal may be pending at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ducha.contracts import Actor, DomainEvent
from ducha.contracts.verification import (
    Effectiveness,
    RectificationRejected,
    RectificationVerified,
    ReviewOutcome,
    ReviewProposalReturned,
    ReviewProposed,
)
from ducha.kernel.aggregate import LoadedAggregate
from ducha.kernel.errors import Conflict, Forbidden, InvalidCommand

from .facts import ProblemFacts, require_problem_team
from .problem import ProblemState


@dataclass(frozen=True, slots=True)
class ReviewInput:
    submission_no: int
    outcome: ReviewOutcome
    effectiveness: Effectiveness | None = None
    assessment: str = ""
    reasons: tuple[str, ...] = ()

    def checked(self) -> ReviewInput:
        reasons = tuple(r.strip() for r in self.reasons if r.strip())
        if self.outcome == ReviewOutcome.ACCEPT:
            if self.effectiveness is None:
                raise InvalidCommand("acceptance needs an effectiveness (good, fair, poor)", field="effectiveness")
            if not self.assessment.strip():
                raise InvalidCommand("acceptance needs an assessment of the effect (评估问效)", field="assessment")
        elif not reasons:
            raise InvalidCommand("a rejection needs at least one reason", field="reasons")
        return ReviewInput(self.submission_no, self.outcome, self.effectiveness, self.assessment.strip(), reasons)


def _check_reviewable(state: ProblemState, facts: ProblemFacts, submission_no: int) -> None:
    if facts.excluded:
        raise Conflict(f"problem {facts.problem_id} was withdrawn or marked duplicate")
    if facts.latest_submission_no == 0:
        raise Conflict(f"problem {facts.problem_id} has no rectification submitted: nothing to review")
    if submission_no != facts.latest_submission_no:
        raise Conflict(
            f"submission {submission_no} is not the latest; review submission {facts.latest_submission_no}"
        )
    if submission_no in state.decided:
        raise Conflict(f"submission {submission_no} was already {state.decided[submission_no]}")


def _final(inp: ReviewInput, proposed_by: str | None) -> DomainEvent:
    if inp.outcome == ReviewOutcome.ACCEPT:
        assert inp.effectiveness is not None
        return RectificationVerified(
            submission_no=inp.submission_no, effectiveness=inp.effectiveness,
            assessment=inp.assessment, proposed_by=proposed_by,
        )
    return RectificationRejected(submission_no=inp.submission_no, reasons=inp.reasons, proposed_by=proposed_by)


def decide_review(loaded: LoadedAggregate, actor: Actor, facts: ProblemFacts, inp: ReviewInput) -> Sequence[DomainEvent]:
    """One-step review, or the proposal of a two-step review for a severe problem."""
    require_problem_team(actor, facts, "review it")
    inp = inp.checked()
    state = ProblemState.of(loaded)
    _check_reviewable(state, facts, inp.submission_no)
    if state.proposal is not None:
        raise Conflict(
            f"a review of submission {state.proposal.submission_no} proposed by {state.proposal.proposed_by} "
            "awaits the team leader's confirmation"
        )
    if not facts.severe:
        return [_final(inp, None)]
    if actor.team_leader:
        raise Forbidden("a severe problem needs two steps: a team member proposes, then the leader confirms")
    return [
        ReviewProposed(
            submission_no=inp.submission_no, outcome=inp.outcome, effectiveness=inp.effectiveness,
            assessment=inp.assessment, reasons=inp.reasons,
        )
    ]


def _pending(state: ProblemState, actor: Actor, facts: ProblemFacts, submission_no: int, doing: str) -> ReviewProposed:
    require_problem_team(actor, facts, doing)
    if not actor.team_leader:
        raise Forbidden(f"only the team leader may {doing}")
    proposal = state.proposal
    if proposal is None:
        raise Conflict(f"problem {facts.problem_id} has no review proposal pending")
    if proposal.submission_no != submission_no:
        raise Conflict(f"the pending proposal is for submission {proposal.submission_no}, not {submission_no}")
    if proposal.proposed_by == actor.id:
        raise Forbidden("nobody confirms their own proposal")
    return proposal.event


def decide_confirm(loaded: LoadedAggregate, actor: Actor, facts: ProblemFacts, submission_no: int) -> Sequence[DomainEvent]:
    state = ProblemState.of(loaded)
    proposed = _pending(state, actor, facts, submission_no, "confirm a review proposal")
    _check_reviewable(state, facts, submission_no)
    assert state.proposal is not None
    inp = ReviewInput(proposed.submission_no, proposed.outcome, proposed.effectiveness, proposed.assessment,
                      proposed.reasons)
    return [_final(inp, state.proposal.proposed_by)]


def decide_return(
    loaded: LoadedAggregate, actor: Actor, facts: ProblemFacts, submission_no: int, reason: str
) -> Sequence[DomainEvent]:
    state = ProblemState.of(loaded)
    _pending(state, actor, facts, submission_no, "return a review proposal")
    if not reason.strip():
        raise InvalidCommand("say why the proposal is returned", field="reason")
    assert state.proposal is not None
    return [ReviewProposalReturned(submission_no=submission_no, reason=reason.strip(),
                                   proposed_by=state.proposal.proposed_by)]
