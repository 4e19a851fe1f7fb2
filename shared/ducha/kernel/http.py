"""The HTTP edge every service shares: one error format, authentication, command context, and the
glue every router uses.

Error format (all 4xx/5xx):  {"error": {"code": "...", "message": "...", "field": "..."|null,
"details": [...]}}

A command route, and a query route, as every service writes them:

    @router.post("/{problem_id}/progress", response_model=CommandAnswer, responses=COMMAND_ERRORS)
    async def report_progress(problem_id: PathId, body: ProgressIn, ctx: Command,
                              kernel: KernelDep) -> dict[str, Any]:
        require_role(ctx.actor, Role.UNIT)
        result = await kernel.commands.run(key, ctx, lambda loaded: decide(State.of(loaded), body))
        return command_answer(result)

    @router.get("/{problem_id}", response_model=ProblemOut, responses=QUERY_ERRORS,
                dependencies=[ReadAfter])
    async def get_problem(problem_id: PathId, actor: CurrentActor, kernel: KernelDep) -> ProblemOut:
        ...
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..contracts.base import Actor, Role
from .clock import derived_id
from .commands import CommandContext, CommandResult, actor_scope, check_command_id
from .errors import (
    DomainError,
    Forbidden,
    InvalidCommand,
    NotFound,
    NotYetVisible,
    ServiceStopping,
    Unauthorized,
)
from .eventstore import EventStoreError
from .runtime import Kernel

log = logging.getLogger("ducha.http")

# Every aggregate id in a URL follows the contracts' id rule; checking it at the edge answers a
# malformed id with 422 naming the path parameter instead of letting it reach the kernel.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
PathId = Annotated[str, Path(pattern=ID_PATTERN, min_length=1, max_length=64,
                             description="an id: letters, digits, `_` or `-`, at most 64")]

# Paging bounds: an offset beyond this is refused (422) rather than handed to the database, where
# an integer too large for a BIGINT was a 500. Deeper reading goes by filters or cursors.
MAX_OFFSET = 100_000
MAX_PAGE = 500
MAX_SEQUENCE = 2**53  # log sequences fit in a JSON number and a BIGINT
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip, at most {MAX_OFFSET}")]


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: list[dict[str, Any]] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class RequestBody(BaseModel):
    """Base of every command's request body: an unknown field (a misspelt `visted_on`) is a 422
    naming it, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class CommandAnswer(BaseModel):
    """What every command answers: the aggregate (or the thing created), the log sequence of the
    write (pass it as `min_sequence` to read or act on it), and whether this is the stored result
    of an earlier send with the same Idempotency-Key."""

    id: str = Field(description="the aggregate, or the thing the command created (a request, a reminder, ...)")
    sequence: int = Field(description="log sequence of the write: pass as ?min_sequence= to read your write")
    replayed: bool = Field(description="true when this repeats an earlier command with the same Idempotency-Key")

    @classmethod
    def of(cls, result: CommandResult, ident: str | None = None) -> CommandAnswer:
        return cls(id=ident or result.aggregate_id, sequence=result.last_sequence, replayed=result.replayed)


def command_answer(result: CommandResult, ident: str | None = None) -> dict[str, Any]:
    """The body of `CommandAnswer` for a command's result (`ident`: the id to answer when it is
    not the aggregate's, e.g. a created sub-entity); extend it with `{**command_answer(r), ...}`
    for a response model derived from `CommandAnswer`."""
    return {"id": ident or result.aggregate_id, "sequence": result.last_sequence, "replayed": result.replayed}


def error_response(status: int, code: str, message: str, field: str | None = None,
                   details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, field=field, details=details or []))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_req: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": "1"} if isinstance(exc, NotYetVisible | ServiceStopping) else None
        if isinstance(exc, Unauthorized):
            headers = {"WWW-Authenticate": "Bearer"}
        return error_response(exc.status, exc.code, exc.message, exc.field, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            details.append({"field": ".".join(loc), "message": err.get("msg", "")})
        first = details[0] if details else {"field": None, "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        return error_response(422, "invalid", message, first["field"] or None, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "too_large"}.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(EventStoreError)
    async def _log_unavailable(_req: Request, exc: EventStoreError) -> JSONResponse:
        log.warning("event log unavailable: %s", exc)
        return error_response(503, "log_unavailable", f"the event log did not answer ({exc}); retry",
                              headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error: %r", exc)
        return error_response(500, "internal", "internal error; it has been logged")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or invalid bearer token"},
    403: {"model": ErrorResponse, "description": "role or scope does not allow this"},
    404: {"model": ErrorResponse, "description": "no such thing (or not visible to you)"},
    409: {"model": ErrorResponse, "description": "state conflict or stale version"},
    422: {"model": ErrorResponse, "description": "invalid field; `field` names it"},
    503: {"model": ErrorResponse,
          "description": "not yet visible to this service, or the service is stopping; retry"},
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of an endpoint, e.g. `responses=error_responses(401, 403, 422)`."""
    return {status: ERROR_RESPONSES[status] for status in statuses}


# The documented errors of every command route and every query route (`responses=...`).
COMMAND_ERRORS = error_responses(401, 403, 404, 409, 422, 503)
QUERY_ERRORS = error_responses(401, 403, 404, 422, 503)


def kernel_of(request: Request) -> Kernel:
    """The service's kernel (created by the app's lifespan)."""
    kernel: Kernel = request.app.state.kernel
    return kernel


# A route parameter `kernel: KernelDep` is the typed kernel: no `request.app.state.kernel`.
KernelDep = Annotated[Kernel, Depends(kernel_of)]


def current_actor(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    actor: Actor = kernel_of(request).verifier.verify(authorization.split(" ", 1)[1].strip())
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def min_sequence(
    request: Request,
    min_sequence: Annotated[int | None, Query(ge=0, le=MAX_SEQUENCE, description=(
        "wait (briefly) until this service has applied this log sequence: the `sequence` of "
        "your last write"))] = None,
) -> None:
    """Query parameter `min_sequence` of every query and command: wait (briefly) until this service
    has applied that log sequence, so a client reads (or acts on) its own write; 503 with
    Retry-After when it has not in time."""
    if min_sequence and not await kernel_of(request).wait_for(min_sequence):
        raise NotYetVisible(f"this service has not yet applied log sequence {min_sequence}; retry shortly")


ReadAfter = Depends(min_sequence)


def scoped_command_id(actor: Actor, method: str, path: str, idempotency_key: str) -> str:
    """The command id of a client's Idempotency-Key: the key counts only for this actor's scope
    (role, unit, team) and this command (method and path), so another unit or team re-using it
    starts its own command and never sees the first one's result."""
    return derived_id("idempotency", actor_scope(actor), method.upper(), path, idempotency_key)


def command_context(
    request: Request,
    actor: CurrentActor,
    _read_after: Annotated[None, ReadAfter],
    idempotency_key: Annotated[str | None, Header(description=(
        "repeat a command safely: the same key, from the same unit/team/office, on the same "
        "method and path, returns the first result and writes nothing"))] = None,
    if_match: Annotated[str | None, Header(description="aggregate sequence you decided on")] = None,
    x_correlation_id: Annotated[str | None, Header()] = None,
) -> CommandContext:
    expected = None
    if if_match is not None:
        raw = if_match.strip().strip('"').removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise InvalidCommand("If-Match must be an aggregate sequence number", field="If-Match")
        expected = int(raw)
    kwargs: dict[str, Any] = {"actor": actor, "expected_sequence": expected}
    if idempotency_key:
        key = check_command_id(idempotency_key)
        kwargs["command_id"] = scoped_command_id(actor, request.method, request.url.path, key)
    if x_correlation_id:
        kwargs["correlation_id"] = x_correlation_id[:128]
    return CommandContext(**kwargs)


Command = Annotated[CommandContext, Depends(command_context)]


def require_role(actor: Actor, *roles: Role, doing: str | None = None) -> None:
    """The one role check: 403 unless the actor has one of `roles`. `doing` ("review a
    submission") makes the message say what was refused."""
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        what = doing or "do this"
        raise Forbidden(f"role '{actor.role.value}' may not {what} (allowed: {allowed}; 无权操作)")


def require_scope(
    actor: Actor,
    *,
    unit_id: str | None = None,
    team_id: str | None = None,
    helper_ids: Collection[str] | None = None,
    missing: str = "not found",
) -> None:
    """The one scope check, after `require_role`, for a thing that belongs to a unit (and a team):

    - a unit actor of another unit, and a helper department not among `helper_ids` (when given),
      get 404 `missing`: it must not learn that another unit's thing exists;
    - a team actor of another team (when `team_id` is given) gets 403;
    - every other role passes (what a role may do at all is `require_role`'s question).
    """
    if actor.role == Role.UNIT and unit_id is not None and actor.unit_id != unit_id:
        raise NotFound(missing)
    if actor.role == Role.HELPER and helper_ids is not None and actor.unit_id not in helper_ids:
        raise NotFound(missing)
    if actor.role == Role.TEAM and team_id is not None and actor.team_id != team_id:
        raise Forbidden(f"this belongs to team {team_id}, not to yours ({actor.team_id}); 非本组事项")

