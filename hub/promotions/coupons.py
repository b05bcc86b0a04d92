"""Single-use coupon codes at the till (issue 14, "Coupons"; docs/coupons.md).

Head office issues batches of codes for a promotion (sync/central/coupons.py); the downlink delivers each batch
(kind ``coupon``) into ``coupon_codes``. A code is 13 random characters from ``secrets`` plus one check character,
printed in groups of four (``ABCD-EFGH-JKLM-NP``); dashes and spaces are ignored when typed. The alphabet is 31
characters (digits 2–9 and letters without I, O and U: nothing to misread) and the check is the ISO 7064 pure
system with radix 2 (``stdnum.iso7064.mod_37_2``'s algorithm over that alphabet: MOD 31-2). With a prime modulus
every single substitution and every transposition of two adjacent characters changes the checksum; ISO 7064 MOD
37,36 (the hybrid system) was measured missing about one adjacent transposition in 700, so it was not used. A malformed code (wrong length, alphabet or check character) is refused before anything
else — a typo never reaches the engine or the central.

Redemption is exactly once across all stores. At tender, while the hub is online, the code is reserved at the
central (the HTTP call is the thin adapter :mod:`hub.promotions.coupon_link`); this module only takes the
central's answer (:func:`decide`). Offline (no answer), only codes marked usable offline or issued for this store
are accepted. The redemption is written in the sale's own transaction (:func:`redeem`) with the
``coupon.redeemed`` fact; the central counts redemptions against the promotion's budget cap and lists a code
redeemed twice (two stores offline) on a head-office page.

A returned sale does not give its coupon back: the code stays redeemed (docs/coupons.md)."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_37_2

from hub.kernel import outbox
from hub.kernel.errors import Conflict, Unprocessable, ValidationError
from hub.protocol.timeutil import now_iso

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTVWXYZ"  # 31 characters, a prime: MOD 31-2 detects every adjacent swap
assert len(ALPHABET) == 31
BODY_LEN = 13  # 31**13 ≈ 2.4e19 codes (64 bits): guessing one of a million issued codes takes ~2.4e13 tries
CODE_LEN = BODY_LEN + 1


class CouponMalformed(ValidationError):
    code = "coupon_malformed"


class CouponUnknown(Unprocessable):
    code = "coupon_unknown"


class CouponUsed(Conflict):
    code = "coupon_used"


class CouponOfflineRefused(Unprocessable):
    code = "coupon_offline_refused"


class CouponRefused(Unprocessable):
    """The central refused the reservation (``details["reason"]``: used, budget, unknown, member)."""

    code = "coupon_refused"


class CouponMemberMismatch(Unprocessable):
    code = "coupon_member_mismatch"


# ------------------------------------------------------------------------------------------------ the code itself
def check_char(body: str) -> str:
    """The ISO 7064 MOD 31-2 check character of ``body`` (characters of :data:`ALPHABET`)."""
    return str(mod_37_2.calc_check_digit(body, alphabet=ALPHABET))


def new_code() -> str:
    """One unguessable code: 13 characters from ``secrets`` and the check character."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LEN))
    return body + check_char(body)


def new_codes(n: int, *, taken: set[str] | None = None) -> list[str]:
    """``n`` distinct codes, none of them in ``taken``."""
    seen = set(taken or ())
    out: list[str] = []
    while len(out) < n:
        c = new_code()
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


def normalise(raw: Any) -> str:
    """The code as stored: upper case, spaces and dashes dropped (it is printed ``ABCD-EFGH-JKLM-N``)."""
    if not isinstance(raw, str):
        return ""
    return "".join(ch for ch in raw.strip().upper() if ch not in " -")


def well_formed(raw: Any) -> str:
    """The normalised code, or :class:`CouponMalformed` (wrong length, alphabet or check character)."""
    code = normalise(raw)
    if len(code) != CODE_LEN or any(ch not in ALPHABET for ch in code):
        raise CouponMalformed(
            f"a coupon code is {CODE_LEN} letters and digits", details={"field": "code", "length": len(code)}
        )
    try:
        mod_37_2.validate(code, alphabet=ALPHABET)
    except StdnumError:
        raise CouponMalformed(
            "the coupon code's check character is wrong (mistyped?)", details={"field": "code"}
        ) from None
    return code


def printed(code: str) -> str:
    """``ABCDEFGHJKLMNP`` → ``ABCD-EFGH-JKLM-NP`` (receipts, CSV exports)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


# ------------------------------------------------------------------------------------------------ delivery
def apply_downlink(conn: sqlite3.Connection, p: dict[str, Any]) -> int:
    """A batch from the downlink: ``{batch_id, promotion_id, member_id, offline, issuer_store, codes}``.
    Codes already here keep their redemption; returns how many were new."""
    rows = []
    for raw in p["codes"]:
        code = well_formed(raw)
        rows.append(
            (
                code,
                str(p["promotion_id"]),
                str(p["batch_id"]),
                p.get("member_id"),
                1 if p.get("offline") else 0,
                p.get("issuer_store"),
                now_iso(),
            )
        )
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO coupon_codes(code, promotion_id, batch_id, member_id, offline_ok, issuer_store, received_at)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT(code) DO NOTHING",
        rows,
    )
    return conn.total_changes - before


def get(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM coupon_codes WHERE code = ?", (code,)).fetchone()
    if r is None:
        return None
    return dict(zip([d[0] for d in conn.execute("SELECT * FROM coupon_codes LIMIT 0").description], r, strict=True))


# ------------------------------------------------------------------------------------------------ at the till
def lookup(conn: sqlite3.Connection, raw: Any, *, member_id: str | None = None) -> dict[str, Any]:
    """A code scanned or typed into a cart: checked (malformed first), known here, not redeemed here, and bound to
    this member if bound at all. Returns ``{code, promotion_id, offline_ok, issuer_store}``."""
    code = well_formed(raw)
    row = get(conn, code)
    if row is None:
        raise CouponUnknown(
            "this coupon code was not issued (or has not reached this store yet)", details={"code": code}
        )
    if row["redeemed_sale_id"]:
        raise CouponUsed("this coupon was already redeemed", details={"code": code, "sale_id": row["redeemed_sale_id"]})
    if row["member_id"] and row["member_id"] != member_id:
        raise CouponMemberMismatch("this coupon belongs to another member", details={"code": code})
    return {k: row[k] for k in ("code", "promotion_id", "offline_ok", "issuer_store")}


def decide(row: dict[str, Any], *, store_id: str, reservation: dict[str, Any] | None) -> bool:
    """Whether a coupon may be redeemed at tender. ``reservation`` is the central's answer
    (``{"status": "reserved" | "refused", "reason"?}``), or None when the hub could not reach it (offline).
    Online, the central's word is final. Offline, only a code marked usable offline or issued for this store.
    Returns whether the redemption was confirmed online; raises when refused."""
    if reservation is not None:
        if reservation.get("status") == "reserved":
            return True
        reason = str(reservation.get("reason") or "refused")
        raise CouponRefused(
            f"head office refused the coupon: {reason}", details={"code": row["code"], "reason": reason}
        )
    if row.get("offline_ok") or (row.get("issuer_store") and row["issuer_store"] == store_id):
        return False
    raise CouponOfflineRefused(
        "head office cannot be reached and this coupon is not usable offline", details={"code": row["code"]}
    )


def redeem(
    conn: sqlite3.Connection,
    row: dict[str, Any],
    *,
    sale_id: str,
    store_id: str,
    discount_minor: int,
    reservation: dict[str, Any] | None,
) -> dict[str, Any]:
    """Record the redemption in the caller's (the sale's) transaction and the ``coupon.redeemed`` fact.
    Idempotent for the same sale; a second sale on the same code is refused."""
    online = decide(row, store_id=store_id, reservation=reservation)
    at = now_iso()
    cur = conn.execute(
        "UPDATE coupon_codes SET redeemed_sale_id = ?, redeemed_at = ?, redeemed_online = ?"
        " WHERE code = ? AND (redeemed_sale_id IS NULL OR redeemed_sale_id = ?)",
        (sale_id, at, 1 if online else 0, row["code"], sale_id),
    )
    if cur.rowcount == 0:
        raise CouponUsed("this coupon was already redeemed", details={"code": row["code"]})
    fact = {
        "code": row["code"],
        "promotion_id": row["promotion_id"],
        "sale_id": sale_id,
        "discount_minor": int(discount_minor),
        "online": online,
        "at": at,
        "reserved_as": str(row.get("reserved_as") or sale_id),  # the key the central reserved it under
    }
    outbox.record(conn, "coupon.redeemed", fact)
    return fact


# ------------------------------------------------------------------------------------------------ in a cart
class CouponSamePromotion(Unprocessable):
    code = "coupon_same_promotion"


def add_to_cart(
    conn: sqlite3.Connection, cart_id: str, raw: Any, *, member_id: str | None = None, actor: str
) -> dict[str, Any]:
    """A code scanned or typed into a cart (checked by :func:`lookup`; one code per promotion)."""
    row = lookup(conn, raw, member_id=member_id)
    have = conn.execute(
        "SELECT code FROM coupon_carts WHERE cart_id = ? AND promotion_id = ?", (cart_id, row["promotion_id"])
    ).fetchone()
    if have is not None and have[0] != row["code"]:
        raise CouponSamePromotion(
            "this cart already has a coupon for that promotion", details={"code": row["code"], "other": have[0]}
        )
    conn.execute(
        "INSERT INTO coupon_carts(cart_id, code, promotion_id, added_by, added_at) VALUES (?,?,?,?,?)"
        " ON CONFLICT(cart_id, code) DO NOTHING",
        (cart_id, row["code"], row["promotion_id"], actor, now_iso()),
    )
    return row


def remove_from_cart(conn: sqlite3.Connection, cart_id: str, raw: Any) -> list[str]:
    """Take a code out of the cart; returns it when head office had reserved it (for the adapter to release)."""
    code = normalise(raw)
    held = conn.execute(
        "SELECT code FROM coupon_carts WHERE cart_id = ? AND code = ? AND reserved = 1", (cart_id, code)
    ).fetchall()
    conn.execute("DELETE FROM coupon_carts WHERE cart_id = ? AND code = ?", (cart_id, code))
    return [r[0] for r in held]


def reserved_unredeemed(conn: sqlite3.Connection, cart_id: str) -> list[str]:
    """The cart's codes head office reserved and no sale redeemed (a voided cart gives them back)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT cc.code FROM coupon_carts cc JOIN coupon_codes c ON c.code = cc.code"
            " WHERE cc.cart_id = ? AND cc.reserved = 1 AND c.redeemed_sale_id IS NULL",
            (cart_id,),
        )
    ]


def cart_codes(conn: sqlite3.Connection, cart_id: str) -> dict[str, str]:
    """The cart's codes → the promotion each unlocks (the engine's ``issued_codes``)."""
    return dict(
        conn.execute("SELECT code, promotion_id FROM coupon_carts WHERE cart_id = ? ORDER BY added_at", (cart_id,))
    )


def to_reserve(conn: sqlite3.Connection, cart_id: str, applied: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cart's codes whose promotion takes something off (``applied``: the priced cart's promotions) and that
    the central has not reserved yet: ``[{code, discount_minor}]`` for the adapter to reserve, keyed by the cart."""
    took = {a["promotion"]: int(a["discount_minor"]) for a in applied}
    return [
        {"code": code, "discount_minor": took[pid]}
        for code, pid, reserved in conn.execute(
            "SELECT code, promotion_id, reserved FROM coupon_carts WHERE cart_id = ? ORDER BY added_at", (cart_id,)
        )
        if took.get(pid, 0) > 0 and reserved != 1  # a refusal is asked again at the next tender (cap raised)
    ]


def note_reservation(conn: sqlite3.Connection, cart_id: str, code: str, answer: dict[str, Any] | None) -> None:
    """Keep the central's answer (None: offline — the offline rules decide at the sale's commit)."""
    if answer is None:
        return
    conn.execute(
        "UPDATE coupon_carts SET reserved = ?, reason = ? WHERE cart_id = ? AND code = ?",
        (1 if answer.get("status") == "reserved" else 0, answer.get("reason"), cart_id, code),
    )


def redeem_cart(
    conn: sqlite3.Connection, cart_id: str, *, sale_id: str, store_id: str, applied: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """In the sale's commit transaction: redeem each code of the cart whose promotion took something off (a code
    whose promotion did not apply — minimum spend not reached — stays unused). Raises when one is refused, which
    rolls the whole sale back."""
    took = {a["promotion"]: int(a["discount_minor"]) for a in applied}
    out = []
    rows = conn.execute(
        "SELECT code, promotion_id, reserved, reason FROM coupon_carts WHERE cart_id = ? ORDER BY added_at",
        (cart_id,),
    ).fetchall()
    for code, pid, reserved, reason in rows:
        if took.get(pid, 0) <= 0:
            continue
        row = get(conn, code)
        if row is None:
            raise CouponUnknown("this coupon code was not issued", details={"code": code})
        answer = None if reserved is None else {"status": "reserved" if reserved else "refused", "reason": reason}
        out.append(
            redeem(
                conn,
                {**row, "offline_ok": row["offline_ok"], "reserved_as": cart_id},
                sale_id=sale_id,
                store_id=store_id,
                discount_minor=took[pid],
                reservation=answer,
            )
        )
    return out
