"""Spreadsheet formula injection (OWASP "CSV Injection"): the one guard for every CSV StoreHub writes.

A text cell whose value starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — after any run of
leading single quotes — gets one extra ``'`` in front on export, so a spreadsheet shows it as text instead of
running it (a store-supplied SKU ``=HYPERLINK(...)`` would otherwise be a live link in head office's sheet).
Import removes exactly one leading ``'`` from a cell of that same shape. The two rules are inverses, so every
value round-trips exactly, and a hand-made file with ``'=SUM(1)`` imports as ``=SUM(1)``.

Only text cells are guarded: a number such as ``-5`` is written as it is (it is not text a sheet could run,
and a guard would make it a string)."""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def guard_formula(value: str) -> str:
    """Export side: prefix ``'`` when ``value`` (after leading quotes) starts with a formula trigger."""
    if value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unguard_formula(cell: str) -> str:
    """Import side, the inverse of :func:`guard_formula`: drop one guard quote it would have added."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_TRIGGERS):
        return cell[1:]
    return cell


def guard_cell(value: Any) -> Any:
    """A value about to be written to a CSV cell: text guarded, anything else (numbers, None) unchanged."""
    return guard_formula(value) if isinstance(value, str) else value
