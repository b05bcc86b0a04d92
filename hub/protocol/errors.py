"""The one error shape of StoreHub, and the device protocol's errors (no dependency on the rest of the hub).

``StoreHubError`` carries an HTTP ``status``, a machine-readable ``code``, a ``message`` and ``details``;
``to_dict()`` gives ``{"error": {"code", "message", "details"}}``, the body every API and command line reports.
It lives here, at the bottom of the layers, so a device agent raises and reports errors exactly like the hub
without importing it; the hub's domain errors (``hub.kernel.errors``) are its subclasses.
"""

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

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with this error (none by default)."""
        return {}


class ProtocolError(StoreHubError):
    """Input a device protocol cannot read (an EPC, a reader payload): a validation error of the wire format."""

    status = 400
    code = "validation_error"
