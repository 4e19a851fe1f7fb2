"""Audit from the event log: tamper evidence (hash chains, checkpoints, verify), export for
inspection, problem timelines, replay and as-of builds. See docs/audit.md."""

from .chain import AUDIT_STREAM, CHECKPOINT_SUBJECT, Checkpoint
from .checkpoint import (
    checkpoint_job,
    checkpoint_until_current,
    ensure_audit_stream,
    load_checkpoints,
    record_checkpoint,
)
from .export import export
from .sources import verify, verify_file, verify_live
from .verify import Problem, VerifyReport

__all__ = [
    "AUDIT_STREAM",
    "CHECKPOINT_SUBJECT",
    "Checkpoint",
    "Problem",
    "VerifyReport",
    "checkpoint_job",
    "checkpoint_until_current",
    "ensure_audit_stream",
    "export",
    "load_checkpoints",
    "record_checkpoint",
    "verify",
    "verify_file",
    "verify_live",
]
