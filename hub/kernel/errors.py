"""Domain errors: ``StoreHubError`` (defined with the protocol, the bottom layer) and its subclasses by HTTP status.
The HTTP layer maps each to its status code and the JSON body ``{"error": {"code", "message", "details"}}``;
the CLI prints the same object."""

from __future__ import annotations

from hub.protocol.errors import StoreHubError

__all__ = [
    "StoreHubError",
    "ValidationError",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Unprocessable",
    "TooManyAttempts",
]


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
    """Refused for now; ``details["retry_after_s"]`` says how long (sent as ``Retry-After`` too)."""

    status = 429
    code = "too_many_attempts"

    def headers(self) -> dict[str, str]:
        wait = self.details.get("retry_after_s") if isinstance(self.details, dict) else None
        return {"Retry-After": str(int(wait))} if isinstance(wait, int) and wait > 0 else {}
