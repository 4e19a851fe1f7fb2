"""Response models of verification's queries (the OpenAPI the workbench codes against)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from ..read.queries import Page


class Figures(BaseModel):
    """Counts and rates over the problems in scope, withdrawn and duplicates excluded (`ducha.figures`)."""

    reported: int
    fed_back: int
    rectifying: int = Field(description="now the unit's turn (fed back, rectifying, after a rejection or rebound)")
    overdue: int = Field(description="the unit's turn and past the deadline in force")
    ever_overdue: int
    submitted: int
    submissions: int
    submissions_on_time: int
    awaiting_review: int
    accepted: int
    rejected: int
    rejections: int
    written_off: int = Field(description="the write-off stands (written off, or revisited and held)")
    held: int
    ever_written_off: int
    rebounded: int
    rebounds: int
    rectification_rate: float | None = Field(description="整改率 written_off / fed_back (null when 0/0)")
    on_time_rate: float | None = Field(description="按期整改率 submissions_on_time / submissions")
    rebound_rate: float | None = Field(description="反弹率 rebounded / ever_written_off")
    avg_days_to_write_off: float | None = Field(description="mean days from feedback to the write-off that stands")


class UnitFigures(Figures):
    unit_id: str
    name: str
    rank: int = Field(description="ducha.figures.ranking: equal keys share a rank (1, 2, 2, 4)")


class TeamFigures(Figures):
    team_id: str
    name: str
    rank: int


class Lights(BaseModel):
    """Open problems (the unit's turn in rectification) by their light today (红黄绿灯)."""

    red: int
    yellow: int
    green: int


class DashboardFigures(BaseModel):
    round_id: str | None = Field(description="the round asked for; null: every round")
    today: date = Field(description="the city's date the lights are for")
    total: Figures
    ranking: list[UnitFigures] = Field(description="units in rank order")
    teams: list[TeamFigures] = Field(description="teams in rank order")
    lights: Lights


def paging(limit: Annotated[int | None, Query(ge=1, le=1000, description="rows per page (default: all)")] = None,
           offset: Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")] = 0,
           cursor: Annotated[str | None, Query(max_length=200,
                                               description="the `next_cursor` of the previous page (keyset paging: "
                                                           "as fast at any depth)")] = None) -> Page:
    return Page(limit, offset, cursor)


Paging = Annotated[Page, Depends(paging)]
