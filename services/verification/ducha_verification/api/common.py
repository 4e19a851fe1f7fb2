"""What verification's handlers share beyond the kernel's glue: the problem's facts (waiting for
the projection when needed), today in the city, the settings, and the write-off's answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from ducha.kernel.calendar import city_today
from ducha.kernel.errors import NotYetVisible
from ducha.kernel.http import CommandAnswer, KernelDep
from ducha.kernel.lookup import caught_up, facts_with_wait, read
from ducha.kernel.runtime import Kernel
from fastapi import Depends

from ..domain.facts import ProblemFacts
from ..read import queries
from ..read.projection import NAME
from ..settings import VerificationSettings

SETTINGS = "verification_settings"


class WriteOffAnswer(CommandAnswer):
    ledger_no: int
    round_id: str


def settings_of(kernel: KernelDep) -> VerificationSettings:
    settings: VerificationSettings = kernel.extras[SETTINGS]
    return settings


Settings = Annotated[VerificationSettings, Depends(settings_of)]


def today(kernel: Kernel) -> date:
    return city_today(kernel.clock)


async def problem_facts(kernel: Kernel, problem_id: str, submission_no: int | None = None) -> ProblemFacts:
    """The problem as intake and rectification described it; 404 when it does not exist once the
    projection caught up, 503 when not yet visible. A submission named but not seen yet is
    rectification's event: 503 (never 404 or 409)."""
    def fetch() -> ProblemFacts | None:
        return queries.problem_facts(kernel.engine, problem_id)

    facts = await facts_with_wait(kernel, fetch, what=f"no problem {problem_id}", projections=(NAME,))
    if submission_no is not None and facts.latest_submission_no < submission_no:
        await caught_up(kernel, (NAME,))
        again = await read(fetch)
        if again is None or again.latest_submission_no < submission_no:
            raise NotYetVisible(f"submission {submission_no} of {problem_id} is not yet visible here; retry shortly")
        facts = again
    return facts
