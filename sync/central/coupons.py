"""Single-use coupons at head office (issue 14, "Coupons"; docs/coupons.md).

- **Issuance**: a batch of N unguessable codes (``hub.promotions.coupons.new_codes``: ``secrets`` and an ISO 7064
  Mod 37,36 check character) for one coupon-gated promotion, optionally bound to a member, usable offline or not,
  optionally issued for one store (then only that store receives it, and it may accept it offline). Minimum spend
  and validity are the promotion's own. The batch reaches the hubs as one downlink change (kind ``coupon``).
- **Reservation**: while online, the hub reserves a code at tender (``POST /sync/v1/stores/<id>/coupons/reserve``).
  Exactly once across all stores: the code's row is claimed by a conditional ``UPDATE … WHERE reserved_sale IS
  NULL`` under a lock on the promotion's budget row, so of two hubs racing for one code one wins, and the budget cap
  (max redemptions / max discount) is never overrun by concurrent reservations. Asking again for the same sale
  gets the same answer (idempotent by sale id).
- **Redemptions** are the hubs' ``coupon.redeemed`` facts, folded into ``coupon_redemptions``. A redemption that
  was not reserved (offline) claims the code then, and counts against the budget (the discount was given); a
  code redeemed by two sales (two stores offline) is listed by :func:`double_redemptions` on the head-office page.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, false, func, select, update
from sqlalchemy.engine import Connection, Engine

from hub.kernel.errors import NotFound, ValidationError
from hub.promotions import coupons as codes
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from sync.central import downlink
from sync.central import schema as t

MAX_BATCH = downlink.MAX_COUPON_BATCH

coupon_batches = Table(
    "coupon_batches",
    t.metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("promotion_id", String(64), nullable=False),
    Column("n", Integer, nullable=False),
    Column("member_id", String(64)),
    Column("offline", Boolean, nullable=False, server_default=false()),
    Column("issuer_store", String(64)),
    Column("issued_by", String(64), nullable=False, server_default=""),
    Column("issued_at", String(40), nullable=False),
    Column("downlink_version", BigInteger),
)
coupon_codes = Table(
    "coupon_codes",
    t.metadata,
    Column("code", String(16), primary_key=True),
    Column("batch_id", String(64), nullable=False),
    Column("promotion_id", String(64), nullable=False),
    Column("member_id", String(64)),
    Column("offline", Boolean, nullable=False, server_default=false()),
    Column("issuer_store", String(64)),
    Column("reserved_store", String(64)),
    Column("reserved_sale", String(64)),
    Column("reserved_at", String(40)),
    Column("discount_minor", BigInteger),
)
Index("coupon_codes_promotion", coupon_codes.c.promotion_id)
coupon_budgets = Table(
    "coupon_budgets",
    t.metadata,
    Column("promotion_id", String(64), primary_key=True),
    Column("max_redemptions", Integer),
    Column("max_discount_minor", BigInteger),
    Column("redemptions", Integer, nullable=False, server_default="0"),
    Column("discount_minor", BigInteger, nullable=False, server_default="0"),
)
coupon_redemptions = Table(
    "coupon_redemptions",
    t.metadata,
    Column("code", String(16), primary_key=True),
    Column("store_id", String(64), primary_key=True),
    Column("sale_id", String(64), primary_key=True),
    Column("promotion_id", String(64), nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("online", Boolean, nullable=False),
    Column("at", String(40), nullable=False),
)


# ------------------------------------------------------------------------------------------------ issuance
def _promotion(conn: Connection, promotion_id: str) -> dict[str, Any]:
    row = downlink._latest(conn, "promotion", promotion_id)
    if row is None:
        raise NotFound(f"no promotion {promotion_id}", code="coupon_promotion_unknown", details={"id": promotion_id})
    p = row["payload"]
    if not p.get("coupon"):
        raise ValidationError(
            "the promotion needs a coupon (it applies to every basket without one)",
            code="coupon_promotion_not_gated",
            details={"id": promotion_id},
        )
    return p


def _budget_row(conn: Connection, promotion_id: str) -> None:
    if conn.execute(select(coupon_budgets.c.promotion_id).where(coupon_budgets.c.promotion_id == promotion_id)).first():
        return
    ins = (
        _pg_insert(conn, coupon_budgets)
        .values(promotion_id=promotion_id)
        .on_conflict_do_nothing(index_elements=["promotion_id"])
    )
    conn.execute(ins)


def _pg_insert(conn: Connection, table: Table) -> Any:
    """``INSERT … ON CONFLICT`` of the dialect (PostgreSQL in production, SQLite in small tests)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def issue(
    engine: Engine,
    promotion_id: str,
    n: int,
    *,
    member_id: str | None = None,
    offline: bool = False,
    store_id: str | None = None,
    actor: str = "system:central",
) -> dict[str, Any]:
    """Issue ``n`` codes for a coupon-gated promotion; returns ``{batch_id, promotion_id, codes, version}``.
    ``store_id``: the codes are issued for (and delivered to) that store only, which may accept them offline."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_BATCH:
        raise ValidationError(f"issue 1 to {MAX_BATCH} codes at a time", code="coupon_batch_size", details={"n": n})
    batch_id = new_id()
    with engine.begin() as conn:
        _promotion(conn, promotion_id)
        new = codes.new_codes(n)
        while True:  # 64 random bits a code: a clash with an issued code is astronomically rare, but never reused
            taken = {r[0] for r in conn.execute(select(coupon_codes.c.code).where(coupon_codes.c.code.in_(new))).all()}
            if not taken:
                break
            new = [c for c in new if c not in taken] + codes.new_codes(len(taken), taken=set(new) | taken)
        conn.execute(
            coupon_batches.insert().values(
                batch_id=batch_id,
                promotion_id=promotion_id,
                n=n,
                member_id=member_id,
                offline=bool(offline),
                issuer_store=store_id,
                issued_by=actor,
                issued_at=now_iso(),
            )
        )
        conn.execute(
            coupon_codes.insert(),
            [
                {
                    "code": c,
                    "batch_id": batch_id,
                    "promotion_id": promotion_id,
                    "member_id": member_id,
                    "offline": bool(offline),
                    "issuer_store": store_id,
                }
                for c in new
            ],
        )
        _budget_row(conn, promotion_id)
    change = downlink.author(
        engine,
        "coupon",
        {
            "batch_id": batch_id,
            "promotion_id": promotion_id,
            "member_id": member_id,
            "offline": bool(offline),
            "issuer_store": store_id,
            "codes": new,
        },
        key=batch_id,
        scope=store_id or "*",
        author=actor,
    )
    with engine.begin() as conn:
        conn.execute(
            update(coupon_batches)
            .where(coupon_batches.c.batch_id == batch_id)
            .values(downlink_version=change["version"])
        )
    return {"batch_id": batch_id, "promotion_id": promotion_id, "codes": new, "version": change["version"]}


def set_budget(
    engine: Engine, promotion_id: str, *, max_redemptions: int | None, max_discount_minor: int | None
) -> dict[str, Any]:
    """The promotion's budget cap (None: no cap on that measure)."""
    for name, v in (("max_redemptions", max_redemptions), ("max_discount_minor", max_discount_minor)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise ValidationError(
                f"{name} is a whole number ≥ 0", code="coupon_budget_invalid", details={"field": name}
            )
    with engine.begin() as conn:
        _promotion(conn, promotion_id)
        _budget_row(conn, promotion_id)
        conn.execute(
            update(coupon_budgets)
            .where(coupon_budgets.c.promotion_id == promotion_id)
            .values(max_redemptions=max_redemptions, max_discount_minor=max_discount_minor)
        )
    return budget(engine, promotion_id)


def budget(engine: Engine, promotion_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        r = conn.execute(select(coupon_budgets).where(coupon_budgets.c.promotion_id == promotion_id)).mappings().first()
    if r is None:
        raise NotFound(f"no coupons for promotion {promotion_id}", code="coupon_promotion_unknown")
    return dict(r)


# ------------------------------------------------------------------------------------------------ reservation
def reserve(
    engine: Engine,
    store_id: str,
    code: str,
    sale_id: str,
    *,
    discount_minor: int,
    member_id: str | None = None,
) -> dict[str, Any]:
    """Reserve ``code`` for a sale at ``store_id``: ``{"status": "reserved"}`` or ``{"status": "refused", "reason":
    unknown | used | member | budget_redemptions | budget_discount}``. Exactly once across stores; idempotent by
    (store, sale)."""
    code = codes.well_formed(code)
    with engine.begin() as conn:
        row = conn.execute(select(coupon_codes).where(coupon_codes.c.code == code)).mappings().first()
        if row is None:
            return {"status": "refused", "reason": "unknown", "code": code}
        pid = row["promotion_id"]
        # one lock per promotion: reservations of one promotion take turns, so the cap holds under concurrency
        b = (
            conn.execute(select(coupon_budgets).where(coupon_budgets.c.promotion_id == pid).with_for_update())
            .mappings()
            .first()
        )
        row = conn.execute(select(coupon_codes).where(coupon_codes.c.code == code)).mappings().first()
        assert row is not None and b is not None
        if row["reserved_sale"] is not None:
            if row["reserved_sale"] == sale_id and row["reserved_store"] == store_id:
                return {"status": "reserved", "code": code, "promotion_id": pid, "again": True}
            return {"status": "refused", "reason": "used", "code": code}
        if row["member_id"] and row["member_id"] != member_id:
            return {"status": "refused", "reason": "member", "code": code}
        if b["max_redemptions"] is not None and b["redemptions"] + 1 > b["max_redemptions"]:
            return {"status": "refused", "reason": "budget_redemptions", "code": code}
        if b["max_discount_minor"] is not None and b["discount_minor"] + discount_minor > b["max_discount_minor"]:
            return {"status": "refused", "reason": "budget_discount", "code": code}
        got = conn.execute(
            update(coupon_codes)
            .where(coupon_codes.c.code == code, coupon_codes.c.reserved_sale.is_(None))
            .values(
                reserved_store=store_id, reserved_sale=sale_id, reserved_at=now_iso(), discount_minor=discount_minor
            )
        )
        if got.rowcount != 1:
            return {"status": "refused", "reason": "used", "code": code}
        conn.execute(
            update(coupon_budgets)
            .where(coupon_budgets.c.promotion_id == pid)
            .values(
                redemptions=coupon_budgets.c.redemptions + 1,
                discount_minor=coupon_budgets.c.discount_minor + discount_minor,
            )
        )
    return {"status": "reserved", "code": code, "promotion_id": pid, "again": False}


def release(engine: Engine, store_id: str, code: str, sale_id: str) -> dict[str, Any]:
    """Give back a reservation the store's cart no longer uses (voided, or the code taken out) — only the store and
    key that hold it, and only while no sale reported redeeming it. ``{"released": bool}``; asking again is fine
    (a code that is not held — malformed ones included — is simply not released)."""
    code = codes.normalise(code)
    with engine.begin() as conn:
        row = conn.execute(select(coupon_codes).where(coupon_codes.c.code == code)).mappings().first()
        if row is None or (row["reserved_store"], row["reserved_sale"]) != (store_id, sale_id):
            return {"released": False, "code": code}
        conn.execute(
            select(coupon_budgets.c.promotion_id)
            .where(coupon_budgets.c.promotion_id == row["promotion_id"])
            .with_for_update()
        )
        if conn.execute(select(coupon_redemptions.c.code).where(coupon_redemptions.c.code == code)).first():
            return {"released": False, "code": code}
        got = conn.execute(
            update(coupon_codes)
            .where(coupon_codes.c.code == code, coupon_codes.c.reserved_sale == sale_id)
            .values(reserved_store=None, reserved_sale=None, reserved_at=None, discount_minor=None)
        )
        if got.rowcount != 1:
            return {"released": False, "code": code}
        conn.execute(
            update(coupon_budgets)
            .where(coupon_budgets.c.promotion_id == row["promotion_id"])
            .values(
                redemptions=coupon_budgets.c.redemptions - 1,
                discount_minor=coupon_budgets.c.discount_minor - (row["discount_minor"] or 0),
            )
        )
    return {"released": True, "code": code}


# ------------------------------------------------------------------------------------------------ the facts
def project_redeemed(f: Any, e: dict[str, Any]) -> None:
    """``coupon.redeemed``: kept for :func:`apply` (a malformed payload stays only in the events table)."""
    p = e["payload"]
    try:
        f.coupons.append(
            {
                "code": codes.normalise(p["code"])[:16],
                "sale_id": str(p["sale_id"])[:64],
                "promotion_id": str(p["promotion_id"])[:64],
                "discount_minor": int(p["discount_minor"]),
                "online": bool(p.get("online")),
                "at": str(p.get("at") or e.get("ts") or "")[:40],
                "reserved_as": str(p.get("reserved_as") or p["sale_id"])[:64],
            }
        )
    except (KeyError, TypeError, ValueError):
        return


def apply(conn: Connection, store_id: str, rows: list[dict[str, Any]]) -> None:
    """Fold redemptions in the ingest transaction (exactly once: the events are; ``ON CONFLICT DO NOTHING`` too).
    A redemption the central had not reserved (offline) claims the code now and counts against the budget; one on a
    code another sale holds is a double redemption (counted too: the discount was given)."""
    for folded in rows:
        r = {k: v for k, v in folded.items() if k != "reserved_as"}
        new = conn.execute(
            _pg_insert(conn, coupon_redemptions)
            .values(store_id=store_id, **r)
            .on_conflict_do_nothing(index_elements=["code", "store_id", "sale_id"])
            .returning(coupon_redemptions.c.code)
        ).first()
        if new is None:
            continue  # this redemption was folded before
        held = conn.execute(
            select(coupon_codes.c.reserved_store, coupon_codes.c.reserved_sale).where(coupon_codes.c.code == r["code"])
        ).first()
        if held is not None and (held[0], held[1]) == (store_id, folded["reserved_as"]):
            continue  # reserved online: already counted
        if held is not None and held[1] is None:
            conn.execute(
                update(coupon_codes)
                .where(coupon_codes.c.code == r["code"])
                .values(
                    reserved_store=store_id,
                    reserved_sale=r["sale_id"],
                    reserved_at=r["at"],
                    discount_minor=r["discount_minor"],
                )
            )
        _budget_row(conn, r["promotion_id"])
        conn.execute(
            update(coupon_budgets)
            .where(coupon_budgets.c.promotion_id == r["promotion_id"])
            .values(
                redemptions=coupon_budgets.c.redemptions + 1,
                discount_minor=coupon_budgets.c.discount_minor + r["discount_minor"],
            )
        )


# ------------------------------------------------------------------------------------------------ head office
def double_redemptions(engine: Engine) -> list[dict[str, Any]]:
    """Codes redeemed by more than one sale (stores offline at the same time), each with its redemptions."""
    r = coupon_redemptions.c
    with engine.connect() as conn:
        twice = select(r.code).group_by(r.code).having(func.count() > 1).subquery()
        rows = conn.execute(
            select(r.code, r.promotion_id, r.store_id, r.sale_id, r.discount_minor, r.online, r.at)
            .where(r.code.in_(select(twice.c.code)))
            .order_by(r.code, r.at, r.store_id)
        ).mappings()
        out: dict[str, dict[str, Any]] = {}
        for x in rows:
            d = out.setdefault(x["code"], {"code": x["code"], "promotion_id": x["promotion_id"], "redemptions": []})
            d["redemptions"].append({k: x[k] for k in ("store_id", "sale_id", "discount_minor", "online", "at")})
    return list(out.values())


def batches(engine: Engine) -> list[dict[str, Any]]:
    c = coupon_codes.c
    with engine.connect() as conn:
        used: dict[str, int] = dict(
            conn.execute(
                select(c.batch_id, func.count()).where(c.reserved_sale.is_not(None)).group_by(c.batch_id)
            ).all()
        )
        rows = conn.execute(select(coupon_batches).order_by(coupon_batches.c.issued_at.desc())).mappings().all()
        budgets = {b["promotion_id"]: dict(b) for b in conn.execute(select(coupon_budgets)).mappings()}
    return [
        {**dict(b), "redeemed": int(used.get(b["batch_id"], 0)), "budget": budgets.get(b["promotion_id"])} for b in rows
    ]


def batch_csv(engine: Engine, batch_id: str) -> str:
    """One batch as CSV (``code,printed,promotion_id,member_id,offline,issuer_store``) for printing or mailing."""
    with engine.connect() as conn:
        rows = (
            conn.execute(select(coupon_codes).where(coupon_codes.c.batch_id == batch_id).order_by(coupon_codes.c.code))
            .mappings()
            .all()
        )
    if not rows:
        raise NotFound(f"no coupon batch {batch_id}", code="coupon_batch_unknown")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "printed", "promotion_id", "member_id", "offline", "issuer_store"])
    for r in rows:
        w.writerow(
            [
                r["code"],
                codes.printed(r["code"]),
                r["promotion_id"],
                r["member_id"] or "",
                int(r["offline"]),
                r["issuer_store"] or "",
            ]
        )
    return buf.getvalue()
