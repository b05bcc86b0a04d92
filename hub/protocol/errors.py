"""Errors of the device protocol (EPC codec, reader formats): no dependency on the rest of the hub.

``ProtocolError`` has the shape of the hub's domain errors (``hub.kernel.errors.StoreHubError``): an HTTP
``status``, a machine-readable ``code``, a ``message`` and ``details``, and ``to_dict()`` giving
``{"error": {"code", "message", "details"}}``, so the hub and its command line report one exactly like a
``ValidationError``. A device agent imports it without importing the hub.
"""

from __future__ import annotations

from typing import Any


class ProtocolError(Exception):
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

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with this error (none)."""
        return {}
