"""Who may do what to a problem (主体责任: the responsible unit acts, its team pushes, the office
assigns help; a helper department helps without taking over, 到位不越位)."""

from __future__ import annotations

from collections.abc import Collection

from ducha import disclosure
from ducha.contracts import Actor, Role
from ducha.disclosure import Stage, Viewer
from ducha.kernel.errors import Forbidden, NotFound

from .facts import ProblemFacts


def _not_visible(facts: ProblemFacts) -> NotFound:
    # A unit must not learn that another unit's problem exists: same answer as for a missing one.
    return NotFound(f"no problem {facts.problem_id} visible to you")


def require_responsible_unit(actor: Actor, facts: ProblemFacts) -> None:
    """Deadlines, progress, help requests, acknowledgements, submission: the responsible unit only."""
    if actor.role != Role.UNIT:
        raise Forbidden(f"only the responsible unit may do this (you are '{actor.role.value}')")
    if actor.unit_id != facts.unit_id:
        raise _not_visible(facts)


def require_team_or_office(actor: Actor, facts: ProblemFacts) -> None:
    """Extensions, dispatch check-ins, reminders, shorter deadlines: the problem's team or the office."""
    if actor.role == Role.OFFICE:
        return
    if actor.role == Role.TEAM:
        if actor.team_id != facts.team_id:
            raise Forbidden(f"problem {facts.problem_id} belongs to team {facts.team_id}, not yours")
        return
    if actor.role == Role.UNIT and actor.unit_id != facts.unit_id:
        raise _not_visible(facts)
    raise Forbidden(f"only the problem's team or the office may do this (you are '{actor.role.value}')")


def require_office(actor: Actor, facts: ProblemFacts) -> None:
    if actor.role != Role.OFFICE:
        if actor.role == Role.UNIT and actor.unit_id != facts.unit_id:
            raise _not_visible(facts)
        raise Forbidden(f"only the office assigns helper departments (you are '{actor.role.value}')")


def require_helper(actor: Actor, facts: ProblemFacts, helper_ids: Collection[str]) -> None:
    """A helper department acts only on a problem it was assigned to."""
    if actor.role != Role.HELPER:
        raise Forbidden(f"only the assigned helper department may report help (you are '{actor.role.value}')")
    if actor.unit_id not in helper_ids:
        raise _not_visible(facts)


def require_helper_role(actor: Actor, facts: ProblemFacts) -> None:
    if actor.role != Role.HELPER:
        raise Forbidden(f"only the assigned helper department may report help (you are '{actor.role.value}')")


def refuse_public(actor: Actor) -> None:
    """Decided by the role alone, before any lookup: the answer must not depend on whether (or
    how recently) the problem became visible here."""
    if actor.role == Role.PUBLIC:
        raise Forbidden("the rectification ledger is not public; see published bulletins")


def require_view(actor: Actor, facts: ProblemFacts, helper_ids: Collection[str]) -> None:
    """Reading one problem: whoever the disclosure policy lets see it (its unit once fed back and
    not withdrawn, its team, a helper assigned to it, the office and cadre supervision)."""
    if disclosure.may_see_problem(Viewer.of(actor), policy_facts(facts, helper_ids)):
        return
    refuse_public(actor)
    raise _not_visible(facts)


def policy_facts(facts: ProblemFacts, helper_ids: Collection[str] = ()) -> disclosure.ProblemFacts:
    if facts.intake_status != "reported":
        stage = Stage.WITHDRAWN
    elif facts.written_off_seq is not None:
        stage = Stage.WRITTEN_OFF
    else:
        stage = Stage.RECTIFYING if facts.fed_back else Stage.REPORTED
    return disclosure.ProblemFacts(facts.problem_id, facts.unit_id, facts.team_id, stage=stage,
                                   fed_back=facts.fed_back, helpers={h: 0 for h in helper_ids})
