"""The department stream's consumers over HTTP: a department sees its consumers and moves one
to a DUCHA_DEPT sequence or a date (department NATS users may not create or change consumers)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import nats.js.errors
from ducha.kernel.errors import InvalidCommand, NotFound
from ducha.kernel.http import QUERY_ERRORS, CurrentActor, KernelDep, PathId, RequestBody
from ducha.kernel.subjects import check_token
from fastapi import APIRouter, Path
from pydantic import Field, model_validator

from ..runtime import runtime
from ..scopes import department_scope
from .stream import DEPT_STREAM, consumer_names, dept_subject, reset_consumer

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

# dept-<department>-<n> (stream.consumer_names)
ConsumerName = Annotated[str, Path(pattern=r"^dept-[A-Za-z0-9_-]{1,64}-[0-9]{1,3}$")]

router = APIRouter(prefix="/v1/departments", tags=["department stream"], responses=QUERY_ERRORS)


class Reset(RequestBody):
    from_sequence: int | None = Field(default=None, ge=1, description="the first DUCHA_DEPT sequence to deliver")
    from_date: datetime | None = Field(default=None, description="deliver what was published from then on")

    @model_validator(mode="after")
    def _one(self) -> Reset:
        if (self.from_sequence is None) == (self.from_date is None):
            raise ValueError("give exactly one of from_sequence and from_date")
        return self


def _names(kernel: Kernel, department: str) -> list[str]:
    return consumer_names(department, runtime(kernel).settings.dept_consumers)


@router.get("/{department}/consumers", summary="the department's DUCHA_DEPT consumers")
async def list_consumers(department: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    department_scope(actor, check_token(department, "department id"))
    js = kernel.store.js
    out = []
    for name in _names(kernel, department):
        try:
            info = await js.consumer_info(DEPT_STREAM, name)
        except nats.js.errors.NotFoundError:
            continue
        out.append({"name": name, "pending": info.num_pending, "ack_pending": info.num_ack_pending,
                    "ack_floor": info.ack_floor.stream_seq if info.ack_floor else 0})
    return {"stream": DEPT_STREAM, "subject": dept_subject(department), "consumers": out}


@router.post("/{department}/consumers/{name}/reset", summary="restart a consumer at a sequence or a date")
async def reset(department: PathId, name: ConsumerName, body: Reset, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    department_scope(actor, check_token(department, "department id"))
    if name not in _names(kernel, department):
        raise NotFound(f"no consumer {name} of department {department}")
    if body.from_date is not None and body.from_date.tzinfo is None:
        raise InvalidCommand("from_date needs a time zone", field="from_date")
    await reset_consumer(kernel.store.js, department, name,
                         start_sequence=body.from_sequence, start_time=body.from_date)
    return {"name": name, "from_sequence": body.from_sequence, "from_date": body.from_date}
