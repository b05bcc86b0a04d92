"""Items and their GTINs.

Prices and costs are integer minor units of the store currency. Stock of an
``each`` item is counted in pieces, of a ``kg`` item in grams."""

from __future__ import annotations

import sqlite3
from typing import Any

from biip import ParseError
from biip.gtin import Gtin

from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.kernel.sqllike import like_contains, like_ends_with
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

UNITS = ("each", "kg")
ITEM_FIELDS = (
    "sku",
    "name_en",
    "name_zh",
    "brand",
    "category",
    "unit",
    "price_minor",
    "cost_minor",
    "variable_measure",
    "plu",
    "safety_stock",
    "reorder_point",
    "unit_weight_g",
    "active",
)


def normalize_gtin(text: str) -> str:
    """Validate a GTIN-8/12/13/14 (check digit included) and return it as GTIN-14."""
    s = str(text).strip()
    if not s.isdigit() or len(s) not in (8, 12, 13, 14):
        raise ValidationError(f"not a GTIN: {text!r}", code="invalid_gtin")
    try:
        return Gtin.parse(s).as_gtin_14()
    except ParseError as exc:
        raise ValidationError(str(exc), code="invalid_gtin") from exc


def validate_item(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check an item's fields; returns the cleaned values. Raises ValidationError with per-field details."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def want(name: str) -> bool:
        return name in data or not partial

    if want("sku"):
        sku = str(data.get("sku") or "").strip()
        if not sku or len(sku) > 64:
            errors["sku"] = "required, at most 64 characters"
        out["sku"] = sku
    for name in ("name_en", "name_zh", "brand", "category"):
        if name in data or not partial:
            v = data.get(name) or ""
            if not isinstance(v, str) or len(v) > 200:
                errors[name] = "text of at most 200 characters"
            out[name] = v.strip() if isinstance(v, str) else v
    if not partial and not (out.get("name_en") or out.get("name_zh")):
        errors["name_en"] = "an English or a Chinese name is required"
    if want("unit"):
        unit = data.get("unit", "each")
        if unit not in UNITS:
            errors["unit"] = f"one of {', '.join(UNITS)}"
        out["unit"] = unit
    for name, required in (
        ("price_minor", True),
        ("cost_minor", False),
        ("safety_stock", False),
        ("reorder_point", False),
    ):
        if name in data or not partial:
            v = data.get(name, None if required else 0)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                errors[name] = "a whole number >= 0 (minor units)" if "minor" in name else "a whole number >= 0"
            out[name] = v
    if "unit_weight_g" in data or not partial:
        v = data.get("unit_weight_g")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            errors["unit_weight_g"] = "a whole number of grams > 0, or null"
        out["unit_weight_g"] = v
    for name, default in (("variable_measure", False), ("active", True)):
        if name in data or not partial:
            v = data.get(name, default)
            if not isinstance(v, bool):
                errors[name] = "true or false"
            out[name] = v
    if "plu" in data or not partial:
        v = data.get("plu")
        if v is not None and (not isinstance(v, str) or not v.isdigit() or not 1 <= len(v) <= 6):
            errors["plu"] = "1 to 6 digits, or null"
        out["plu"] = v
    if "gtins" in data or not partial:
        gtins = data.get("gtins", [])
        clean = []
        if not isinstance(gtins, list):
            errors["gtins"] = "a list of GTINs"
        else:
            for g in gtins:
                try:
                    clean.append(normalize_gtin(g))
                except ValidationError as exc:
                    errors["gtins"] = exc.message
            if len(set(clean)) != len(clean):
                errors["gtins"] = "duplicate GTIN"
        out["gtins"] = clean
    if errors:
        raise ValidationError("invalid item", details=errors)
    return out


def _row_to_item(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["variable_measure"] = bool(d["variable_measure"])
    d["active"] = bool(d["active"])
    d["gtins"] = [r[0] for r in conn.execute("SELECT gtin FROM item_gtins WHERE item_id=? ORDER BY gtin", (d["id"],))]
    return d


def get_item(conn: sqlite3.Connection, item_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no item {item_id}", code="item_not_found")
    return _row_to_item(conn, row)


def get_item_by_sku(conn: sqlite3.Connection, sku: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM items WHERE sku = ?", (sku,)).fetchone()
    return _row_to_item(conn, row) if row else None


def find_by_gtin(conn: sqlite3.Connection, gtin14: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT i.* FROM item_gtins g JOIN items i ON i.id = g.item_id WHERE g.gtin = ?", (gtin14,)
    ).fetchone()
    return _row_to_item(conn, row) if row else None


def search(
    conn: sqlite3.Connection, q: str = "", *, category: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict], int]:
    where, args = [], []
    if q:
        like = like_contains(q)  # a typed % or _ is text, not a wildcard
        where.append(
            "(sku LIKE ? ESCAPE '!' OR name_en LIKE ? ESCAPE '!' OR name_zh LIKE ? ESCAPE '!'"
            " OR brand LIKE ? ESCAPE '!' OR id IN (SELECT item_id FROM item_gtins WHERE gtin LIKE ? ESCAPE '!'))"
        )
        args += [like, like, like, like, like_ends_with(q)]
    if category:
        where.append("category = ?")
        args.append(category)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM items{clause}", args).fetchone()[0]
    rows = conn.execute(f"SELECT * FROM items{clause} ORDER BY sku LIMIT ? OFFSET ?", args + [limit, offset]).fetchall()
    return [_row_to_item(conn, r) for r in rows], total


def _check_gtins_free(conn: sqlite3.Connection, gtins: list[str], item_id: str | None) -> None:
    for g in gtins:
        row = conn.execute("SELECT item_id FROM item_gtins WHERE gtin = ?", (g,)).fetchone()
        if row and row[0] != item_id:
            raise Conflict(
                f"GTIN {g} already belongs to another item", code="gtin_taken", details={"gtin": g, "item_id": row[0]}
            )


def create_item(
    conn: sqlite3.Connection, data: dict[str, Any], *, actor: str, device: str | None = None, audit_it: bool = True
) -> dict[str, Any]:
    clean = validate_item(data)
    if conn.execute("SELECT 1 FROM items WHERE sku = ?", (clean["sku"],)).fetchone():
        raise Conflict(f"SKU {clean['sku']} exists", code="sku_taken")
    _check_gtins_free(conn, clean["gtins"], None)
    item_id = data.get("id") or new_id()
    ts = now_iso()
    cols = [f for f in ITEM_FIELDS]
    conn.execute(
        f"INSERT INTO items(id, {', '.join(cols)}, created_at, updated_at) VALUES ({', '.join('?' * (len(cols) + 3))})",
        [item_id] + [clean[c] for c in cols] + [ts, ts],
    )
    conn.executemany("INSERT INTO item_gtins(gtin, item_id) VALUES (?,?)", [(g, item_id) for g in clean["gtins"]])
    item = get_item(conn, item_id)
    outbox.record(conn, "item.upsert", item)
    if audit_it:
        audit.log(conn, actor=actor, device=device, action="item.create", target=item_id, details={"sku": clean["sku"]})
    return item


def update_item(
    conn: sqlite3.Connection,
    item_id: str,
    data: dict[str, Any],
    *,
    actor: str,
    device: str | None = None,
    audit_it: bool = True,
) -> dict[str, Any]:
    before = get_item(conn, item_id)
    clean = validate_item(data, partial=True)
    if "sku" in clean and clean["sku"] != before["sku"]:
        if conn.execute("SELECT 1 FROM items WHERE sku = ? AND id != ?", (clean["sku"], item_id)).fetchone():
            raise Conflict(f"SKU {clean['sku']} exists", code="sku_taken")
    if "unit" in clean and clean["unit"] != before["unit"]:
        # stock of 'each' items is pieces, of 'kg' items grams: switching would reinterpret every movement
        if conn.execute("SELECT 1 FROM movements WHERE item_id = ? LIMIT 1", (item_id,)).fetchone():
            raise Conflict(
                "the unit of an item with stock movements cannot change; create a new item",
                code="unit_change_with_stock",
                details={"unit": before["unit"]},
            )
    gtins = clean.pop("gtins", None)
    if clean:
        sets = ", ".join(f"{k} = ?" for k in clean)
        conn.execute(
            f"UPDATE items SET {sets}, updated_at = ? WHERE id = ?", list(clean.values()) + [now_iso(), item_id]
        )
    if gtins is not None:
        _check_gtins_free(conn, gtins, item_id)
        conn.execute("DELETE FROM item_gtins WHERE item_id = ?", (item_id,))
        conn.executemany("INSERT INTO item_gtins(gtin, item_id) VALUES (?,?)", [(g, item_id) for g in gtins])
    item = get_item(conn, item_id)
    outbox.record(conn, "item.upsert", item)
    if audit_it:
        changed = {
            k: [before.get(k), item.get(k)]
            for k in list(clean) + (["gtins"] if gtins is not None else [])
            if before.get(k) != item.get(k)
        }
        audit.log(conn, actor=actor, device=device, action="item.update", target=item_id, details=changed)
    return item


def categories(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT category FROM items WHERE category != '' ORDER BY category")]
