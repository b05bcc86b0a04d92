"""Importing orders from CSV or JSON files (channel exports, phone-order sheets).

CSV: one row per order line; rows with the same (channel, external_id) form one
order. Columns: ``channel, external_id, customer_name, customer_phone,
customer_email, fulfilment, address_line1, address_city, address_postcode,
pickup_at, paid_minor, notes, sku, qty, grams, unit_price_minor,
allow_substitute`` (order columns are read from an order's first row).
JSON: a list of orders shaped like the API body, or ``{"orders": [...]}``.

Each order is taken in under its own savepoint: a bad or duplicate order is
reported and skipped, the others are created. Re-importing a file creates
nothing twice."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from typing import Any

from hub.kernel.errors import Conflict, StoreHubError, ValidationError
from hub.orders import workflow

CSV_ORDER_FIELDS = (
    "customer_name",
    "customer_phone",
    "customer_email",
    "fulfilment",
    "address_line1",
    "address_city",
    "address_postcode",
    "pickup_at",
    "paid_minor",
    "notes",
)
CSV_REQUIRED = ("channel", "sku")


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise ValidationError("the CSV file is empty", code="invalid_import")
    cols = [c.strip() for c in reader.fieldnames]
    missing = [c for c in CSV_REQUIRED if c not in cols]
    if missing:
        raise ValidationError(
            f"the CSV lacks the columns {', '.join(missing)}",
            code="invalid_import",
            details={"missing": missing, "columns": cols},
        )
    orders: dict[tuple[str, str], dict[str, Any]] = {}
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        key = (row.get("channel", ""), row.get("external_id", "") or f"row-{n}")
        o = orders.get(key)
        if o is None:
            o = {
                "_row": n,
                "channel": row.get("channel"),
                "external_id": row.get("external_id") or None,
                "fulfilment": row.get("fulfilment") or "pickup",
                "customer": {
                    "name": row.get("customer_name", ""),
                    "phone": row.get("customer_phone", ""),
                    "email": row.get("customer_email", ""),
                },
                "notes": row.get("notes", ""),
                "paid_minor": row.get("paid_minor") or 0,
                "lines": [],
            }
            if row.get("pickup_at"):
                o["pickup_at"] = row["pickup_at"]
            if any(row.get(k) for k in ("address_line1", "address_city", "address_postcode")):
                o["address"] = {
                    "line1": row.get("address_line1", ""),
                    "city": row.get("address_city", ""),
                    "postcode": row.get("address_postcode", ""),
                }
            orders[key] = o
        line: dict[str, Any] = {"sku": row.get("sku")}
        if row.get("qty"):
            line["qty"] = row["qty"]
        if row.get("grams"):
            line["grams"] = row["grams"]
        if row.get("unit_price_minor"):
            line["unit_price_minor"] = row["unit_price_minor"]
        if row.get("allow_substitute"):
            line["allow_substitute"] = row["allow_substitute"]
        o["lines"].append(line)
    return list(orders.values())


def parse_json(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"not valid JSON: {exc}", code="invalid_import") from exc
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        data = data["orders"]
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise ValidationError('JSON import: a list of orders or {"orders": [...]}', code="invalid_import")
    return data


def parse(text: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "csv":
        return parse_csv(text)
    if fmt == "json":
        return parse_json(text)
    raise ValidationError("format must be csv or json", code="invalid_import")


def import_orders(
    conn: sqlite3.Connection, orders: list[dict[str, Any]], *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Create each order in its own savepoint; returns a report of created, duplicate and rejected orders."""
    report: dict[str, Any] = {"created": [], "duplicates": [], "errors": []}
    for n, data in enumerate(orders):
        where = data.pop("_row", None) if isinstance(data, dict) else None
        label = {
            "index": n,
            **({"row": where} if where else {}),
            "channel": data.get("channel"),
            "external_id": data.get("external_id"),
        }
        conn.execute("SAVEPOINT order_import")
        try:
            order = workflow.create_order(conn, data, actor=actor, device=device)
        except Conflict as exc:
            conn.execute("ROLLBACK TO order_import")
            conn.execute("RELEASE order_import")
            if exc.code == "duplicate_order":
                report["duplicates"].append({**label, "order_id": exc.details["order_id"], "ref": exc.details["ref"]})
            else:
                report["errors"].append({**label, "code": exc.code, "message": exc.message, "details": exc.details})
            continue
        except StoreHubError as exc:
            conn.execute("ROLLBACK TO order_import")
            conn.execute("RELEASE order_import")
            report["errors"].append({**label, "code": exc.code, "message": exc.message, "details": exc.details})
            continue
        conn.execute("RELEASE order_import")
        report["created"].append(
            {
                **label,
                "order_id": order["id"],
                "ref": order["ref"],
                "status": order["status"],
                "review_status": order["review_status"],
            }
        )
    report["counts"] = {k: len(report[k]) for k in ("created", "duplicates", "errors")}
    return report
