"""Errors a command or query can end in. Each maps to one HTTP status in `ducha.kernel.http`.

Domain code raises these; it never builds HTTP responses itself.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The command does not fit the current state (e.g. written off already), or a stale version."""

    status = 409
    code = "conflict"


class InvalidCommand(DomainError):
    status = 422
    code = "invalid"


class ServiceStopping(DomainError):
    """The service is stopping and did not store this command. Safe to retry (elsewhere/later)."""

    status = 503
    code = "service_stopping"


class NotYetVisible(DomainError):
    """This service has not yet applied an event the command depends on. Safe to retry."""

    status = 503
    code = "not_yet_visible"
