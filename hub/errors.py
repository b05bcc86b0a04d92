"""Domain errors. The HTTP layer maps each to a status code and a JSON body
``{"error": {"code", "message", "details"}}``; the CLI prints the same object."""

from __future__ import annotations

from typing import Any


class StoreHubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationError(StoreHubError):
    status = 400
    code = "validation_error"


class Unauthorized(StoreHubError):
    status = 401
    code = "unauthorized"


class Forbidden(StoreHubError):
    status = 403
    code = "forbidden"


class NotFound(StoreHubError):
    status = 404
    code = "not_found"


class Conflict(StoreHubError):
    status = 409
    code = "conflict"


class Unprocessable(StoreHubError):
    """Well-formed request that the domain refuses (e.g. wrong item for this pick)."""

    status = 422
    code = "unprocessable"


class TooManyAttempts(StoreHubError):
    status = 429
    code = "too_many_attempts"
