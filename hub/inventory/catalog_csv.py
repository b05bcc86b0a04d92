"""Catalog import and export as CSV.

Columns (header row required, any order): ``sku, name_en, name_zh, brand, category,
unit, price_minor, cost_minor, gtins, variable_measure, plu, safety_stock,
reorder_point, unit_weight_g, active``. ``gtins`` is ``;``-separated. UTF-8 with or
without a BOM. Rows are numbered as a spreadsheet shows them: the header is row 1.

Import validates every row first — each with :func:`hub.inventory.catalog.validate_item`, then
across the file and against the database (one SKU per row, each GTIN owned by one
item, each PLU by one active item) — and applies nothing if any row is bad. A good
file is applied in one transaction, upserting by SKU through ``catalog.create_item``
and ``catalog.update_item``, with one audit entry for the whole import. Columns a file
leaves out keep their current values on existing items (and defaults on new ones).

Spreadsheet formula injection (OWASP "CSV Injection"): text cells (sku, names, brand,
category) go through the one guard of :mod:`hub.kernel.csvsafe` — a leading ``'`` added on
export before a formula trigger, removed on import — so every stored value round-trips.

An optional ``picture`` column names each item's picture: a file relative to the folder given to the import, or
an http(s) URL (:mod:`hub.inventory.catalog_pictures`). The cells are collected here (``ImportPlan.pictures``);
the pictures are read and attached after the items, and a bad one is reported with its row without holding
back the rest. Export writes no ``picture`` column (a picture is not a cell of text).

Text no store of ours can keep (NUL, an unpaired surrogate: PostgreSQL at the central refuses
both) is refused in any cell, as an error of its row, like every other row error.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.inventory import catalog
from hub.kernel import audit
from hub.kernel.csvsafe import guard_formula, unguard_formula
from hub.kernel.errors import StoreHubError, ValidationError
from hub.protocol.storable import unstorable_text

COLUMNS = (
    "sku",
    "name_en",
    "name_zh",
    "brand",
    "category",
    "unit",
    "price_minor",
    "cost_minor",
    "gtins",
    "variable_measure",
    "plu",
    "safety_stock",
    "reorder_point",
    "unit_weight_g",
    "active",
)
PICTURE_COLUMN = "picture"  # import only
_INT_COLUMNS = ("price_minor", "cost_minor", "safety_stock", "reorder_point")
TEXT_COLUMNS = ("sku", "name_en", "name_zh", "brand", "category")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
MAX_ROWS = 200_000

Progress = Callable[[int], None]


@dataclass
class RowError:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}" if self.row else f"{self.field}: {self.message}"


@dataclass
class ImportPlan:
    """The outcome of validating a file: rows ready to apply, or errors."""

    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, cleaned data)
    errors: list[RowError] = field(default_factory=list)
    pictures: list[tuple[int, str, str]] = field(default_factory=list)  # (row number, sku, picture cell)

    @property
    def ok(self) -> bool:
        return not self.errors


class CatalogImportError(ValidationError):
    code = "catalog_import_invalid"

    def __init__(self, errors: list[RowError]):
        super().__init__(
            f"{len(errors)} problem(s) in the file; nothing was imported", details=[e.as_dict() for e in errors]
        )
        self.errors = errors


# ---------------------------------------------------------------- reading
def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogImportError(
            [RowError(0, "file", f"not UTF-8 (byte {exc.start}); save the sheet as 'CSV UTF-8'")]
        ) from None


def _convert(raw: dict[str, str], present: tuple[str, ...], rownum: int, errors: list[RowError]) -> dict[str, Any]:
    """CSV text cells to the typed values catalog.validate_item checks."""
    data: dict[str, Any] = {}
    for col in present:
        cell = (raw.get(col) or "").strip()
        bad = unstorable_text(cell)
        if bad:
            errors.append(RowError(rownum, col, bad.lstrip("/: ")))
            continue
        if col in TEXT_COLUMNS:
            cell = unguard_formula(cell)
        if col in _INT_COLUMNS or col == "unit_weight_g":
            if cell == "":
                if col == "price_minor":
                    data[col] = None  # validate_item reports it as required
                elif col == "unit_weight_g":
                    data[col] = None
                else:
                    data[col] = 0
                continue
            try:
                data[col] = int(cell)
            except ValueError:
                errors.append(RowError(rownum, col, f"{cell!r} is not a whole number"))
        elif col in ("variable_measure", "active"):
            low = cell.lower()
            if low == "":
                data[col] = col == "active"
            elif low in _TRUE:
                data[col] = True
            elif low in _FALSE:
                data[col] = False
            else:
                errors.append(RowError(rownum, col, f"{cell!r} is not true/false"))
        elif col == "gtins":
            data[col] = [g.strip() for g in cell.split(";") if g.strip()]
        elif col == "plu":
            data[col] = cell or None
        elif col == "unit":
            data[col] = cell.lower() or "each"
        else:
            data[col] = cell
    return data


def plan_import(conn: sqlite3.Connection, text: str, *, progress: Progress | None = None) -> ImportPlan:
    """Validate a whole CSV file against the catalog in ``conn``. Writes nothing."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = tuple((h or "").strip().lower() for h in (reader.fieldnames or ()))
    reader.fieldnames = list(header)
    plan = ImportPlan(columns=header)
    if not header:
        plan.errors.append(RowError(1, "header", "the file is empty"))
        return plan
    unknown = [h for h in header if h not in COLUMNS and h != PICTURE_COLUMN]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if unknown:
        plan.errors.append(
            RowError(
                1, "header", f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join((*COLUMNS, PICTURE_COLUMN))}"
            )
        )
    if dupes:
        plan.errors.append(RowError(1, "header", f"column(s) given twice: {', '.join(dupes)}"))
    if "sku" not in header:
        plan.errors.append(RowError(1, "header", "a sku column is required"))
    if plan.errors:
        return plan

    existing = {r["sku"]: r for r in conn.execute("SELECT id, sku, plu, active FROM items")}
    seen_sku: dict[str, int] = {}
    n = 0
    for n, raw in enumerate(reader, start=2):
        if n > MAX_ROWS + 1:
            plan.errors.append(RowError(n, "file", f"more than {MAX_ROWS} rows; split the file"))
            break
        if progress:
            progress(1)
        if None in raw:  # more cells than header columns
            plan.errors.append(RowError(n, "row", f"{len(raw[None])} cell(s) more than the header has"))
            continue
        if all(not (v or "").strip() for v in raw.values()):
            continue  # blank line
        row_errors: list[RowError] = []
        data = _convert(raw, header, n, row_errors)
        sku = data.get("sku", "")
        is_new = sku not in existing
        try:
            clean = catalog.validate_item(
                {k: v for k, v in data.items() if k not in {e.field for e in row_errors}}, partial=not is_new
            )
        except ValidationError as exc:
            details = exc.details if isinstance(exc.details, dict) else {"row": exc.message}
            row_errors += [RowError(n, f, m) for f, m in details.items() if f not in {e.field for e in row_errors}]
            clean = None
        if sku in seen_sku:
            row_errors.append(RowError(n, "sku", f"SKU {sku} is also on row {seen_sku[sku]}"))
        elif sku:
            seen_sku[sku] = n
        plan.errors += row_errors
        if clean is not None and not row_errors:
            if "gtins" in clean:
                clean["gtins"] = sorted(clean["gtins"])  # the catalog keeps an item's GTINs sorted
            plan.rows.append((n, clean))
            if data.get(PICTURE_COLUMN):
                plan.pictures.append((n, clean["sku"], data[PICTURE_COLUMN]))
    if n == 0 and not plan.errors:
        plan.errors.append(RowError(2, "file", "no rows under the header"))
    _check_ownership(conn, plan, existing)
    plan.errors.sort(key=lambda e: (e.row, e.field))
    return plan


def _check_ownership(conn: sqlite3.Connection, plan: ImportPlan, existing: dict[str, sqlite3.Row]) -> None:
    """Each GTIN belongs to one item and each PLU to one active item, in the catalog as it would be
    after the import (so a file may move a GTIN from one of its items to another)."""
    in_file = {clean["sku"]: (rownum, clean) for rownum, clean in plan.rows}
    gtin_owner: dict[str, tuple[str, int]] = {}  # gtin -> (sku, row number or 0 for the database)
    regtins = "gtins" in plan.columns
    for gtin, sku in conn.execute("SELECT g.gtin, i.sku FROM item_gtins g JOIN items i ON i.id = g.item_id"):
        if sku in in_file and regtins:
            continue  # the file restates this item's GTINs
        gtin_owner[gtin] = (sku, 0)
    for rownum, clean in plan.rows:
        for g in clean.get("gtins", []):
            owner = gtin_owner.get(g)
            if owner and owner[0] != clean["sku"]:
                where = f"row {owner[1]}" if owner[1] else "the catalog"
                plan.errors.append(RowError(rownum, "gtins", f"GTIN {g} already belongs to {owner[0]} ({where})"))
            else:
                gtin_owner[g] = (clean["sku"], rownum)

    plu_owner: dict[str, tuple[str, int]] = {}
    for sku, r in existing.items():
        if sku in in_file:
            continue
        if r["plu"] and r["active"]:
            plu_owner[r["plu"]] = (sku, 0)
    for rownum, clean in plan.rows:
        old = existing.get(clean["sku"])
        plu = clean["plu"] if "plu" in clean else (old["plu"] if old else None)
        active = clean["active"] if "active" in clean else (bool(old["active"]) if old else True)
        if not plu or not active:
            continue
        owner = plu_owner.get(plu)
        if owner and owner[0] != clean["sku"]:
            where = f"row {owner[1]}" if owner[1] else "the catalog"
            plan.errors.append(
                RowError(rownum, "plu", f"PLU {plu} is already used by active item {owner[0]} ({where})")
            )
        else:
            plu_owner[plu] = (clean["sku"], rownum)


# ---------------------------------------------------------------- applying
@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "dry_run": self.dry_run}


def _changes(before: dict[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in clean.items() if before.get(k) != v}


def apply_plan(
    conn: sqlite3.Connection,
    plan: ImportPlan,
    *,
    actor: str,
    device: str | None = None,
    source: str = "",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Apply a validated plan inside the caller's write transaction (``with db.write() as conn``)."""
    if not plan.ok:
        raise CatalogImportError(plan.errors)
    result = ImportResult(dry_run=dry_run)
    todo: list[tuple[dict | None, dict[str, Any]]] = []
    for _rownum, clean in plan.rows:
        before = catalog.get_item_by_sku(conn, clean["sku"])
        if before is None:
            result.created += 1
            todo.append((None, clean))
        elif _changes(before, clean):
            result.updated += 1
            todo.append((before, clean))
        else:
            result.unchanged += 1
            if progress:
                progress(1)
    if dry_run:
        return result
    try:
        # First let existing items give up GTINs they lose, so GTINs can move between items of the file.
        for before, clean in todo:
            if before is not None and "gtins" in clean:
                keep = [g for g in before["gtins"] if g in clean["gtins"]]
                if keep != before["gtins"]:
                    catalog.update_item(conn, before["id"], {"gtins": keep}, actor=actor, device=device, audit_it=False)
        for before, clean in todo:
            if before is None:
                catalog.create_item(conn, clean, actor=actor, device=device, audit_it=False)
            else:
                catalog.update_item(
                    conn, before["id"], _changes(before, clean), actor=actor, device=device, audit_it=False
                )
            if progress:
                progress(1)
    except StoreHubError as exc:  # validated above; only a concurrent change can get here
        raise CatalogImportError([RowError(0, "catalog", exc.message)]) from exc
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="catalog.import",
        target=source or None,
        details={**result.as_dict(), "rows": len(plan.rows)},
    )
    return result


# ---------------------------------------------------------------- export
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_rows(conn: sqlite3.Connection) -> Iterable[list[str]]:
    """The header, then one row per item ordered by SKU."""
    yield list(COLUMNS)
    gtins: dict[str, list[str]] = {}
    for gtin, item_id in conn.execute("SELECT gtin, item_id FROM item_gtins ORDER BY gtin"):
        gtins.setdefault(item_id, []).append(gtin)
    for r in conn.execute("SELECT * FROM items ORDER BY sku"):
        d = dict(r)
        d["variable_measure"] = bool(d["variable_measure"])
        d["active"] = bool(d["active"])
        d["gtins"] = ";".join(gtins.get(d["id"], []))
        yield [guard_formula(_cell(d[c])) if c in TEXT_COLUMNS else _cell(d[c]) for c in COLUMNS]


def export_csv(conn: sqlite3.Connection, out: io.TextIOBase) -> int:
    """Write the catalog to ``out`` (a text stream opened with newline=''). Returns the item count."""
    w = csv.writer(out, lineterminator="\r\n")
    n = -1
    for n, row in enumerate(export_rows(conn)):  # noqa: B007 - the count of rows written is returned
        w.writerow(row)
    return n
