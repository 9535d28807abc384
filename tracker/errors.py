"""Exceptions that carry their HTTP status; one handler in ``app`` renders them."""

from __future__ import annotations

from typing import Any


class HTTPError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra
        # Sent with the error response (e.g. Retry-After on a 429).
        self.headers: dict[str, str] = {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


class BadRequest(HTTPError):
    status = 400
    code = "bad_request"


class Unauthorized(HTTPError):
    status = 401
    code = "unauthorized"


class Forbidden(HTTPError):
    status = 403
    code = "forbidden"


class NotFound(HTTPError):
    status = 404
    code = "not_found"


class PayloadTooLarge(HTTPError):
    status = 413
    code = "payload_too_large"


class ReplayFailed(HTTPError):
    """A what-if's replay ended in an error: the server's fault, not the request's."""

    status = 500
    code = "replay_failed"


class ReportFailed(HTTPError):
    """A calibration report's child process died: the server's fault, not the request's."""

    status = 500
    code = "report_failed"
