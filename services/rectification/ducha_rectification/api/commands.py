"""Command routes. Handlers are thin: pick the rule for who may act, and the pure decision."""

from __future__ import annotations

from ducha.kernel.clock import derived_id
from ducha.kernel.http import COMMAND_ERRORS, Command, CommandAnswer, KernelDep, PathId, ReadAfter
from fastapi import APIRouter

from ..domain import deadlines, submission, work
from ..domain.access import (
    require_helper_role,
    require_office,
    require_responsible_unit,
    require_team_or_office,
)
from .common import run_on_problem
from .models import (
    AcknowledgeReminder,
    AssignHelper,
    GrantExtension,
    IssueReminder,
    RecordDispatch,
    RefuseExtension,
    ReportHelp,
    ReportProgress,
    RequestExtension,
    RequestHelp,
    RequireShorterDeadline,
    SetDeadline,
    Submit,
)

router = APIRouter(prefix="/v1/problems/{problem_id}", tags=["rectification commands"],
                   responses=COMMAND_ERRORS, dependencies=[ReadAfter])
UNIT, TEAM, OFFICE = require_responsible_unit, require_team_or_office, require_office
# A helper's assignment is checked by the decision, on the aggregate itself (never stale).
HELPER = require_helper_role


@router.post("/deadline", summary="unit: commit, revise, or reset after reopen the deadline (整改时限)")
async def set_deadline(problem_id: PathId, body: SetDeadline, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, UNIT, lambda f, s, t: deadlines.set_deadline(
        f, s, t, body.deadline, body.plan, body.reason))


@router.post("/deadline/required", summary="team/office: require a shorter deadline (severe problems)")
async def require_shorter(problem_id: PathId, body: RequireShorterDeadline, ctx: Command, kernel: KernelDep
                          ) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, TEAM, lambda f, s, t: deadlines.require_shorter(
        f, s, t, body.deadline, body.reason))


@router.post("/extensions", summary="unit: request an extension (id = the request id)")
async def request_extension(problem_id: PathId, body: RequestExtension, ctx: Command, kernel: KernelDep
                            ) -> CommandAnswer:
    rid = derived_id("extension", ctx.command_id)  # a retried request names the same request
    return await run_on_problem(kernel, ctx, problem_id, UNIT, lambda f, s, t: deadlines.request_extension(
        f, s, t, rid, body.requested_deadline, body.reason), result_id=rid)


@router.post("/extensions/{request_id}/grant", summary="team/office: grant an extension (sets the deadline)")
async def grant_extension(problem_id: PathId, request_id: PathId, body: GrantExtension, ctx: Command,
                          kernel: KernelDep) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, TEAM, lambda f, s, t: deadlines.grant_extension(
        f, s, t, request_id, body.new_deadline, body.note))


@router.post("/extensions/{request_id}/refuse", summary="team/office: refuse an extension")
async def refuse_extension(problem_id: PathId, request_id: PathId, body: RefuseExtension, ctx: Command,
                           kernel: KernelDep) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, TEAM, lambda f, s, t: deadlines.refuse_extension(
        f, s, request_id, body.reason))


@router.post("/progress", summary="unit: report progress (整改进展)")
async def report_progress(problem_id: PathId, body: ReportProgress, ctx: Command, kernel: KernelDep
                          ) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, UNIT, lambda f, s, t: work.report_progress(
        f, s, body.percent, body.text, body.evidence))


@router.post("/dispatches", summary="team/office: record a dispatch check-in (调度) or unannounced visit (暗访)")
async def record_dispatch(problem_id: PathId, body: RecordDispatch, ctx: Command, kernel: KernelDep
                          ) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, TEAM, lambda f, s, t: work.record_dispatch(
        f, s, t, body.kind, body.findings, body.visited_on, body.evidence))


@router.post("/reminders", summary="team/office: remind or correct (提醒/纠正); id = the reminder id")
async def issue_reminder(problem_id: PathId, body: IssueReminder, ctx: Command, kernel: KernelDep
                         ) -> CommandAnswer:
    rid = derived_id("reminder", ctx.command_id)
    return await run_on_problem(kernel, ctx, problem_id, TEAM, lambda f, s, t: work.issue_reminder(
        f, s, rid, body.kind, body.text), result_id=rid)


@router.post("/reminders/{reminder_id}/acknowledge", summary="unit: acknowledge a reminder")
async def acknowledge_reminder(problem_id: PathId, reminder_id: PathId, body: AcknowledgeReminder, ctx: Command,
                               kernel: KernelDep) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, UNIT, lambda f, s, t: work.acknowledge_reminder(
        f, s, reminder_id, body.note))


@router.post("/help", summary="unit: ask for help with a difficulty (督帮一体); id = the help id")
async def request_help(problem_id: PathId, body: RequestHelp, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    hid = derived_id("help", ctx.command_id)
    return await run_on_problem(kernel, ctx, problem_id, UNIT, lambda f, s, t: work.request_help(
        f, s, hid, body.difficulty), result_id=hid)


@router.post("/help/{help_id}/assign", summary="office: assign a helper department (市直相关单位)")
async def assign_helper(problem_id: PathId, help_id: PathId, body: AssignHelper, ctx: Command, kernel: KernelDep
                        ) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, OFFICE, lambda f, s, t: work.assign_helper(
        f, s, help_id, body.helper_id, body.helper_name, body.note))


@router.post("/help/{help_id}/report", summary="helper: report what it did (到位不越位)")
async def report_help(problem_id: PathId, help_id: PathId, body: ReportHelp, ctx: Command, kernel: KernelDep
                      ) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, HELPER, lambda f, s, t: work.report_help(
        f, s, ctx.actor, help_id, body.text))


@router.post("/submission", summary="unit: submit the rectification with evidence, for review")
async def submit(problem_id: PathId, body: Submit, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return await run_on_problem(kernel, ctx, problem_id, UNIT, lambda f, s, t: submission.submit(
        f, s, body.description, body.evidence))
