"""What rectification knows about a problem from other contexts (intake, verification), as read from
this service's projection. Commands combine these facts with the problem's own rectification state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ducha.contracts.common import Severity

# RoundOpened's defaults, used if a problem's round was never seen (should not happen: intake opens
# the round before reporting problems in it).
DEFAULT_YELLOW_DAYS = 3
DEFAULT_MAX_DAYS = 90
DEFAULT_SEVERE_MAX_DAYS = 30
DEFAULT_COMMIT_DAYS = 3


@dataclass(frozen=True, slots=True)
class ProblemFacts:
    problem_id: str
    unit_id: str
    team_id: str
    round_id: str
    title: str
    severity: Severity
    intake_status: str  # reported | withdrawn | duplicate
    fed_back: bool
    commit_deadline_by: date | None
    max_deadline: date | None
    yellow_days: int = DEFAULT_YELLOW_DAYS
    max_rectification_days: int = DEFAULT_MAX_DAYS
    severe_max_rectification_days: int = DEFAULT_SEVERE_MAX_DAYS
    deadline_commit_days: int = DEFAULT_COMMIT_DAYS
    # Log sequence of verification's ProblemWrittenOff / RectificationVerified, if any. Compared with
    # the aggregate's last reopen so a projection that lags behind a reopen cannot block the unit.
    written_off_seq: int | None = None
    accepted_seq: int | None = None
    # Log sequence of the last reopen the projection shows (0: none). The projection shows a
    # rejection's reopen at the rejection's own sequence, before the reaction records it on the
    # aggregate; commands wait for that reaction so they decide on the reopened state.
    reopen_seq: int = 0

    @property
    def severe(self) -> bool:
        return self.severity == Severity.SEVERE

    @property
    def reopen_max_days(self) -> int:
        return self.severe_max_rectification_days if self.severe else self.max_rectification_days
