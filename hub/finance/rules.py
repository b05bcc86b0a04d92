"""Finance: pure decisions (no database, no I/O) — easy to test exhaustively."""

from __future__ import annotations

from hub.kernel.errors import ValidationError


def clean_title(title: object, *, max_length: int) -> str:
    """A record's title as stored: trimmed, not empty, not longer than the store allows."""
    if not isinstance(title, str) or not title.strip():
        raise ValidationError("a title is required", code="title_required")
    text = " ".join(title.split())
    if len(text) > max_length:
        raise ValidationError(f"a title has at most {max_length} characters", code="title_too_long",
                              details={"max_length": max_length})
    return text
