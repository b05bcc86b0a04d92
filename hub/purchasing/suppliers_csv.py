"""Supplier import as CSV, in the catalog import's shape (hub/inventory/catalog_csv.py, whose helpers it uses).

Two files, each with a header row (any column order, UTF-8 with or without a BOM, rows numbered as a
spreadsheet shows them — the header is row 1):

* ``suppliers``: ``code, name, contact_name, phone, email, lead_time_days, lead_time_sd_days, min_order_minor,
  payment_terms, active`` — upserted by ``code``.
* ``items``: ``supplier_code, sku, supplier_sku, case_gtin, case_units, cost_minor, valid_from, valid_to,
  preferred`` — what each supplier sells (case packs) and its cost price list.

Every row is validated first (each field, then across the file and against the database: one row per key, a
case GTIN for one supplier item, one preferred supplier per item) and nothing is applied if any row is bad; a
good file is applied in one transaction with one audit entry. Text cells go through the one formula guard
(:mod:`hub.kernel.csvsafe`) and text no store can keep is refused, as in the catalog import."""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from hub.inventory import catalog_csv
from hub.inventory.catalog_csv import RowError
from hub.kernel import audit
from hub.kernel.csvsafe import unguard_formula
from hub.kernel.errors import ValidationError
from hub.protocol.storable import unstorable_text
from hub.purchasing import suppliers

KINDS = ("suppliers", "items")
COLUMNS = {
    "suppliers": (
        "code",
        "name",
        "contact_name",
        "phone",
        "email",
        "lead_time_days",
        "lead_time_sd_days",
        "min_order_minor",
        "payment_terms",
        "active",
    ),
    "items": (
        "supplier_code",
        "sku",
        "supplier_sku",
        "case_gtin",
        "case_units",
        "cost_minor",
        "valid_from",
        "valid_to",
        "preferred",
    ),
}
REQUIRED = {"suppliers": ("code",), "items": ("supplier_code", "sku")}
_INTS = {"lead_time_days", "min_order_minor", "case_units", "cost_minor"}
_BOOLS = {"active", "preferred"}
_TEXT = {"code", "name", "contact_name", "phone", "email", "payment_terms", "supplier_code", "sku", "supplier_sku"}
MAX_ROWS = 100_000


class SupplierImportError(ValidationError):
    code = "supplier_import_invalid"

    def __init__(self, errors: list[RowError]):
        super().__init__(
            f"{len(errors)} problem(s) in the file; nothing was imported", details=[e.as_dict() for e in errors]
        )
        self.errors = errors


@dataclass
class Plan:
    kind: str
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _cell(col: str, cell: str, n: int, errors: list[RowError]) -> Any:
    if col in _TEXT:
        return unguard_formula(cell)
    if col in _INTS:
        if cell == "":
            return None
        try:
            return int(cell)
        except ValueError:
            errors.append(RowError(n, col, f"{cell!r} is not a whole number"))
            return None
    if col == "lead_time_sd_days":
        try:
            return float(cell) if cell else 0
        except ValueError:
            errors.append(RowError(n, col, f"{cell!r} is not a number"))
            return None
    if col in _BOOLS:
        low = cell.lower()
        if low in ("", "true", "1", "yes", "y", "t"):
            return low != "" or col == "active"
        if low in ("false", "0", "no", "n", "f"):
            return False
        errors.append(RowError(n, col, f"{cell!r} is not true/false"))
        return None
    return cell


def plan_import(conn: sqlite3.Connection, kind: str, text: str) -> Plan:
    """Validate a whole file of ``kind`` against the database. Writes nothing."""
    if kind not in KINDS:
        raise ValidationError(f"kind is one of {', '.join(KINDS)}", code="invalid_import_kind")
    plan = Plan(kind)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = tuple((h or "").strip().lower() for h in (reader.fieldnames or ()))
    reader.fieldnames = list(header)
    allowed = COLUMNS[kind]
    if not header:
        plan.errors.append(RowError(1, "header", "the file is empty"))
        return plan
    unknown = [h for h in header if h not in allowed]
    if unknown:
        plan.errors.append(
            RowError(1, "header", f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        plan.errors.append(RowError(1, "header", f"column(s) given twice: {', '.join(dupes)}"))
    for req in REQUIRED[kind]:
        if req not in header:
            plan.errors.append(RowError(1, "header", f"a {req} column is required"))
    if plan.errors:
        return plan
    seen: dict[Any, int] = {}
    case_gtins: dict[str, tuple[int, Any]] = {}
    preferred: dict[str, tuple[int, str]] = {}
    n = 1
    for n, raw in enumerate(reader, start=2):
        if n > MAX_ROWS + 1:
            plan.errors.append(RowError(n, "file", f"more than {MAX_ROWS} rows; split the file"))
            break
        if None in raw:
            plan.errors.append(RowError(n, "row", f"{len(raw[None])} cell(s) more than the header has"))
            continue
        if all(not (v or "").strip() for v in raw.values()):
            continue
        errs: list[RowError] = []
        data: dict[str, Any] = {}
        for col in header:
            cell = (raw.get(col) or "").strip()
            bad = unstorable_text(cell)
            if bad:
                errs.append(RowError(n, col, bad.lstrip("/: ")))
                continue
            value = _cell(col, cell, n, errs)
            if value is not None:
                data[col] = value
        if kind == "suppliers":
            key: Any = data.get("code", "")
            existing = suppliers.get_by_code(conn, key) if key else None
            try:
                clean = suppliers.validate_supplier(data, partial=existing is not None)
            except ValidationError as exc:
                errs += [RowError(n, f, m) for f, m in exc.details.items() if f not in {e.field for e in errs}]
                clean = None
        else:
            sup = suppliers.get_by_code(conn, data.get("supplier_code", ""))
            item = conn.execute("SELECT id FROM items WHERE sku = ?", (data.get("sku", ""),)).fetchone()
            if sup is None:
                errs.append(RowError(n, "supplier_code", f"no supplier {data.get('supplier_code', '')!r}"))
            if item is None:
                errs.append(RowError(n, "sku", f"no item with SKU {data.get('sku', '')!r}"))
            key = (data.get("supplier_code"), data.get("sku"))
            try:
                clean = suppliers.validate_supplier_item(data)
            except ValidationError as exc:
                errs += [RowError(n, f, m) for f, m in exc.details.items() if f not in {e.field for e in errs}]
                clean = None
            if clean is not None and sup is not None and item is not None:
                clean.update(supplier_id=sup["id"], item_id=item[0])
                g = clean["case_gtin"]
                if g:
                    other = case_gtins.get(g)
                    owner = conn.execute(
                        "SELECT supplier_id, item_id FROM supplier_items WHERE case_gtin = ?", (g,)
                    ).fetchone()
                    if other and other[1] != key:
                        errs.append(RowError(n, "case_gtin", f"case GTIN {g} is also on row {other[0]}"))
                    elif owner and (owner[0], owner[1]) != (sup["id"], item[0]):
                        errs.append(RowError(n, "case_gtin", f"case GTIN {g} already names another supplier item"))
                    elif conn.execute("SELECT 1 FROM item_gtins WHERE gtin = ?", (g,)).fetchone():
                        errs.append(RowError(n, "case_gtin", f"case GTIN {g} is an item's own GTIN"))
                    case_gtins[g] = (n, key)
                if clean["preferred"]:
                    sku = data["sku"]
                    if sku in preferred and preferred[sku][1] != sup["id"]:
                        errs.append(
                            RowError(
                                n, "preferred", f"SKU {sku} already has a preferred supplier on row {preferred[sku][0]}"
                            )
                        )
                    preferred.setdefault(sku, (n, sup["id"]))
        dedupe = key if kind == "suppliers" else (*key, data.get("valid_from"))
        if dedupe in seen:
            errs.append(RowError(n, "code" if kind == "suppliers" else "sku", f"also on row {seen[dedupe]}"))
        else:
            seen[dedupe] = n
        plan.errors += errs
        if clean is not None and not errs:
            plan.rows.append((n, clean))
    if n == 1 and not plan.errors:
        plan.errors.append(RowError(2, "file", "no rows under the header"))
    plan.errors.sort(key=lambda e: (e.row, e.field))
    return plan


def import_csv(
    conn: sqlite3.Connection,
    kind: str,
    data: bytes,
    *,
    actor: str,
    device: str | None = None,
    today: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Validate the whole file, then apply it inside the caller's write transaction (or not, for a dry run)."""
    try:
        text = catalog_csv.decode(data)
    except catalog_csv.CatalogImportError as exc:
        raise SupplierImportError(exc.errors) from None
    plan = plan_import(conn, kind, text)
    if plan.errors:
        raise SupplierImportError(plan.errors)
    if not dry_run:
        for _n, clean in plan.rows:
            if kind == "suppliers":
                suppliers.upsert(conn, clean, actor=actor, device=device, audit_it=False)
            else:
                suppliers.set_item(
                    conn,
                    clean.pop("supplier_id"),
                    clean.pop("item_id"),
                    clean,
                    actor=actor,
                    device=device,
                    today=today,
                    audit_it=False,
                )
        audit.log(conn, actor=actor, device=device, action=f"supplier.import.{kind}", details={"rows": len(plan.rows)})
    return {"kind": kind, "rows": len(plan.rows), "dry_run": dry_run}
