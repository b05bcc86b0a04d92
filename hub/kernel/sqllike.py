"""Searching text with SQL ``LIKE`` without letting the searched text be a pattern.

``%`` and ``_`` in what a user types are wildcards to ``LIKE``: a search for ``%`` listed every item. Every
``LIKE`` built from user input escapes the text with :func:`like_escape` and says ``ESCAPE '!'`` (``!`` rather
than a backslash, which SQL string literals and drivers quote differently) — in SQL text
``col LIKE ? ESCAPE '!'``, with SQLAlchemy ``col.like(pattern, escape=LIKE_ESCAPE)``. Works the same on SQLite
(the hub) and PostgreSQL (the central)."""

from __future__ import annotations

LIKE_ESCAPE = "!"


def like_escape(text: str) -> str:
    """``text`` matching only itself inside a ``LIKE ... ESCAPE '!'`` pattern."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def like_contains(text: str) -> str:
    """A pattern matching any value that contains ``text``."""
    return f"%{like_escape(text)}%"


def like_ends_with(text: str) -> str:
    """A pattern matching any value that ends with ``text``."""
    return f"%{like_escape(text)}"
