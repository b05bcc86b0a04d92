"""Recall of a lot on the hub: where it is now, what was sold when (receipts), which orders and which members
took it (where known), exportable as CSV; and the ``lot.moved`` fact that lets the central do the same across
stores (sync/central/recall.py).

Built on :func:`hub.purchasing.lots.recall` (stock per lot, the lot side of every movement: a sale takes its lots
first-expiring-first through the lot stock hook, so every sale movement of a lot-controlled item knows its
lots). This module adds the receipts (the sale movement's ref is the receipt code), the member whose points the
sale earned, the orders picks were for, and the transfers to other stores."""

from __future__ import annotations

import csv
import io
import sqlite3
from typing import Any

from hub.kernel import outbox, settings
from hub.purchasing import lots

CSV_COLUMNS = (
    "section",
    "store_id",
    "item_id",
    "sku",
    "lot",
    "expiry",
    "qty",
    "where",
    "ref",
    "receipt_code",
    "order_ref",
    "member_id",
    "ts",
)


def on_stock(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    """Stock hook, declared after ``hub.purchasing.lots:on_stock``: the lots the movement brought or took, as a
    ``lot.moved`` fact (lot-controlled items only)."""
    rows = conn.execute(
        "SELECT lot, expiry, qty_delta FROM lot_movements WHERE movement_id = ? ORDER BY lot", (movement["id"],)
    ).fetchall()
    if not rows:
        return
    outbox.record(
        conn,
        "lot.moved",
        {
            "movement_id": movement["id"],
            "kind": movement["kind"],
            "item_id": movement["item_id"],
            "location_id": movement["location_id"],
            "ref": movement.get("ref"),
            "lots": [{"lot": r["lot"], "expiry": r["expiry"], "qty_delta": r["qty_delta"]} for r in rows],
            "ts": movement["ts"],
        },
        ts=movement["ts"],
    )


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None
    )


def recall(conn: sqlite3.Connection, lot: str, *, item_id: str | None = None) -> dict[str, Any]:
    """:func:`hub.purchasing.lots.recall` with the receipts, members, orders and transfers named."""
    out = lots.recall(conn, lot, item_id=item_id)
    out["store_id"] = settings.get(conn, "store_id")
    skus = {r["id"]: r["sku"] for r in conn.execute("SELECT id, sku FROM items")} if out["movements"] else {}
    sales: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    transfers: list[dict[str, Any]] = []
    checkout = _has(conn, "checkout_sales")
    members = _has(conn, "points_entries")
    for m in out["movements"]:
        if m["kind"] == "sale" and m["qty_delta"] < 0:
            row = {
                "item_id": m["item_id"],
                "sku": skus.get(m["item_id"]),
                "qty": -m["qty_delta"],
                "receipt_code": m["ref"],
                "ts": m["ts"],
                "sale_id": None,
                "till_id": None,
                "member_id": None,
            }
            if checkout and m["ref"]:
                s = conn.execute(
                    "SELECT id, till_id, ts FROM checkout_sales WHERE receipt_code = ?", (m["ref"],)
                ).fetchone()
                if s is not None:
                    row.update(sale_id=s["id"], till_id=s["till_id"], ts=s["ts"])
                    if members:
                        mem = conn.execute(
                            "SELECT member_id FROM points_entries WHERE ref = ? ORDER BY at LIMIT 1", (s["id"],)
                        ).fetchone()
                        row["member_id"] = mem[0] if mem else None
            sales.append(row)
        elif m["kind"] == "pick" and m["qty_delta"] < 0:
            row = {
                "item_id": m["item_id"],
                "sku": skus.get(m["item_id"]),
                "qty": -m["qty_delta"],
                "ref": m["ref"],
                "ts": m["ts"],
                "order_id": None,
                "order_ref": None,
                "customer_name": None,
            }
            o = (
                conn.execute(
                    "SELECT id, ref, customer_name FROM orders WHERE id = ? OR ref = ? OR 'SHO-' || ref = ?",
                    (m["ref"], m["ref"], m["ref"]),
                ).fetchone()
                if m["ref"] and _has(conn, "orders")
                else None
            )
            if o is not None:
                row.update(order_id=o["id"], order_ref=o["ref"], customer_name=o["customer_name"])
            orders.append(row)
        elif (m["ref"] or "").startswith("xfer:"):
            tid = m["ref"][5:]
            t = conn.execute("SELECT from_store, to_store, status FROM store_transfers WHERE id = ?", (tid,)).fetchone()
            transfers.append(
                {
                    "transfer_id": tid,
                    "kind": m["kind"],
                    "item_id": m["item_id"],
                    "qty": m["qty_delta"],
                    "from_store": t["from_store"] if t else None,
                    "to_store": t["to_store"] if t else None,
                    "status": t["status"] if t else None,
                    "ts": m["ts"],
                }
            )
    out["sales"] = sales
    out["orders"] = orders
    out["transfers"] = transfers
    out["members"] = sorted({s["member_id"] for s in sales if s["member_id"]})
    return out


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """A recall flattened to CSV rows (one section per kind of finding)."""
    store = r.get("store_id")
    out: list[dict[str, Any]] = []
    for h in r["on_hand"]:
        out.append(
            {
                "section": "on_hand",
                "store_id": store,
                "item_id": h["item_id"],
                "sku": h["sku"],
                "lot": r["lot"],
                "expiry": h["expiry"],
                "qty": h["qty"],
                "where": h["location_code"],
            }
        )
    for s in r["sales"]:
        out.append(
            {
                "section": "sold",
                "store_id": store,
                "item_id": s["item_id"],
                "sku": s["sku"],
                "lot": r["lot"],
                "qty": s["qty"],
                "where": s.get("till_id"),
                "ref": s["receipt_code"],
                "receipt_code": s["receipt_code"],
                "member_id": s["member_id"],
                "ts": s["ts"],
            }
        )
    for o in r["orders"]:
        out.append(
            {
                "section": "order",
                "store_id": store,
                "item_id": o["item_id"],
                "sku": o["sku"],
                "lot": r["lot"],
                "qty": o["qty"],
                "ref": o["ref"],
                "order_ref": o["order_ref"],
                "ts": o["ts"],
            }
        )
    for t in r["transfers"]:
        out.append(
            {
                "section": "transfer",
                "store_id": store,
                "item_id": t["item_id"],
                "lot": r["lot"],
                "qty": t["qty"],
                "where": f"{t['from_store']}->{t['to_store']}",
                "ref": t["transfer_id"],
                "ts": t["ts"],
            }
        )
    for rc in r["received"]:
        out.append(
            {
                "section": "received",
                "store_id": store,
                "item_id": rc["item_id"],
                "lot": r["lot"],
                "expiry": rc["expiry"],
                "qty": rc["qty"],
                "where": rc["supplier_code"],
                "ref": rc["po_number"],
                "ts": rc["confirmed_at"],
            }
        )
    for rt in r["returned_to_supplier"]:
        out.append(
            {
                "section": "returned_to_supplier",
                "store_id": store,
                "item_id": rt["item_id"],
                "lot": r["lot"],
                "qty": rt["qty"],
                "where": rt["supplier_code"],
                "ref": rt["id"],
                "ts": rt["ts"],
            }
        )
    return out


def to_csv(flat: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for row in flat:
        w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    return buf.getvalue()
