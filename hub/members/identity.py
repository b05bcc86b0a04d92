"""Members: enrolment with consent, personal data at rest, and identification at the till.

Personal data: the phone (E.164), name and full birthday are stored only encrypted (``hub.kernel.pii``, AES-GCM with
the table, column and member id as associated data); the phone is found through its keyed hash. In plain text the
hub keeps what the till shows: card number, masked phone, tier, birthday month. Nothing personal goes into audit
entries; facts carry it only sealed to the central (``hub.kernel.pii.seal_for_central``), which the hub itself
cannot open (docs/members.md).

Identification: by phone (keyed hash), by member card (``SHM-<card>``) or by a dynamic member code
(``SHD-…``: card, issue time, nonce and a truncated HMAC under this hub's key; valid for ``members.code_ttl_s`` and
used once — a screenshot shown a second time is refused). ``recognise`` answers the scan resolver without using a
code up; ``identify`` and ``attach_to_cart`` use it up."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from hub.auth import users
from hub.kernel import audit, outbox, pii, settings
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.members import points, rules, tiers
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, now_iso

CODE_PURPOSE = "member.code"
TILL_COLS = "id, card_no, phone_masked, birthday_month, tier, tier_since, home_store, status, enrolled_at"


def _ctx(member_id: str, column: str) -> str:
    return f"members.{column}|{member_id}"


def _region(conn: sqlite3.Connection) -> str:
    return str(settings.get(conn, "members.phone_region"))


# --- reading ------------------------------------------------------------------------------------------------------
def till_view(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    """What the till and the handheld show: never a full phone, name or birthday."""
    r = conn.execute(f"SELECT {TILL_COLS} FROM members WHERE id = ?", (member_id,)).fetchone()
    if r is None:
        raise NotFound(f"no member {member_id}", code="member_not_found")
    return {**dict(r), "points": points.view(conn, member_id)}


def find_by_phone(conn: sqlite3.Connection, phone: str) -> str | None:
    """The member id for a phone, through the keyed hash (under every key of the ring: a rotation half done
    still finds everyone)."""
    e164 = rules.normalise_phone(phone, _region(conn))
    hashes = pii.for_connection(conn).lookup_hashes(e164, purpose=rules.PHONE_PURPOSE)
    r = conn.execute(f"SELECT id FROM members WHERE phone_hash IN ({','.join('?' * len(hashes))})", hashes).fetchone()
    return r[0] if r else None


def find_by_card(conn: sqlite3.Connection, card_no: str) -> str | None:
    r = conn.execute("SELECT id FROM members WHERE card_no = ?", (card_no,)).fetchone()
    return r[0] if r else None


def personal(conn: sqlite3.Connection, member_id: str, *, actor: str) -> dict[str, Any]:
    """The member's full personal data, decrypted (a manager answering the member's own request); audited."""
    r = conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
    if r is None:
        raise NotFound(f"no member {member_id}", code="member_not_found")
    ring = pii.for_connection(conn)

    def dec(col: str) -> str | None:
        return ring.decrypt(r[col], context=_ctx(member_id, col)) if r[col] else None

    audit.log(conn, actor=actor, action="member.personal_read", target=member_id)
    consents = [
        dict(c)
        for c in conn.execute(
            "SELECT purpose, terms_version, granted, at FROM member_consents WHERE member_id = ? ORDER BY at",
            (member_id,),
        )
    ]
    return {
        **till_view(conn, member_id),
        "phone": dec("phone_enc"),
        "name": dec("name_enc"),
        "birthday": dec("birthday_enc"),
        "consents": consents,
        "tier_history": tiers.history(conn, member_id),
    }


# --- enrolment ----------------------------------------------------------------------------------------------------
def enrol(
    conn: sqlite3.Connection,
    *,
    phone: str,
    consent: dict[str, Any],
    actor: str,
    name: str | None = None,
    birthday: str | None = None,
    device: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Enrol a member, or find the one this phone already belongs to: ``(till view, created)``. A second
    enrolment by the same phone never makes a second member (the phone hash is unique)."""
    if not settings.get(conn, "members.enabled"):
        raise Conflict("members are switched off in this store's settings", code="members_disabled")
    e164 = rules.normalise_phone(phone, _region(conn))
    clean_name = rules.clean_name(name)
    bday = rules.parse_birthday(birthday, date.today())
    purpose = consent.get("purpose")
    if consent.get("granted") is not True or purpose not in settings.get(conn, "members.consent_purposes"):
        raise ValidationError(
            "the member must consent to a purpose of the membership terms",
            code="consent_required",
            details={"purposes": settings.get(conn, "members.consent_purposes")},
        )
    terms = settings.get(conn, "members.terms_version")
    if consent.get("terms_version") not in (None, terms):
        raise Conflict(
            f"the terms are now version {terms}: show them again",
            code="terms_changed",
            details={"terms_version": terms},
        )
    existing = find_by_phone(conn, e164)
    if existing is not None:
        audit.log(conn, actor=actor, device=device, action="member.enrol_found", target=existing)
        return till_view(conn, existing), False
    ring = pii.for_connection(conn)
    mid, now = new_id(), now_iso()
    card = rules.new_card_no()
    while find_by_card(conn, card) is not None:
        card = rules.new_card_no()
    store = settings.get(conn, "store_id")
    tier = tiers.lowest(conn)
    row = {
        "id": mid,
        "card_no": card,
        "phone_hash": ring.lookup_hash(e164, purpose=rules.PHONE_PURPOSE),
        "phone_masked": rules.mask_phone(e164),
        "phone_enc": ring.encrypt(e164, context=_ctx(mid, "phone_enc")),
        "name_enc": ring.encrypt(clean_name, context=_ctx(mid, "name_enc")) if clean_name else None,
        "birthday_enc": ring.encrypt(bday.isoformat(), context=_ctx(mid, "birthday_enc")) if bday else None,
        "birthday_month": bday.month if bday else None,
        "tier": tier,
        "tier_since": now,
        "home_store": store,
        "enrolled_at": now,
        "enrolled_by": actor,
    }
    conn.execute(
        "INSERT INTO members(id, card_no, phone_hash, phone_masked, phone_enc, name_enc, birthday_enc,"
        " birthday_month, tier, tier_since, home_store, enrolled_at, enrolled_by) VALUES (:id, :card_no,"
        " :phone_hash, :phone_masked, :phone_enc, :name_enc, :birthday_enc, :birthday_month, :tier,"
        " :tier_since, :home_store, :enrolled_at, :enrolled_by)",
        row,
    )
    conn.execute(
        "INSERT INTO member_tier_history(id, member_id, from_tier, to_tier, reason, spend_12m_minor, at, actor)"
        " VALUES (?,?,NULL,?,'enrol',0,?,?)",
        (new_id(), mid, tier, now, actor),
    )
    conn.execute(
        "INSERT INTO member_consents(id, member_id, purpose, terms_version, granted, at, actor, device)"
        " VALUES (?,?,?,?,1,?,?,?)",
        (new_id(), mid, purpose, terms, now, actor, device),
    )
    points.ensure_row(conn, mid)
    outbox.record(
        conn,
        "member.enrolled",
        {
            "member_id": mid,
            "card_no": card,
            "phone_hash": row["phone_hash"],
            "phone_masked": row["phone_masked"],
            "birthday_month": row["birthday_month"],
            "tier": tier,
            "tier_since": now,
            "store_id": store,
            "enrolled_at": now,
            "consent": {"purpose": purpose, "terms_version": terms, "at": now},
            "personal": pii.seal_for_central(
                conn,
                {"phone": e164, "name": clean_name, "birthday": bday.isoformat() if bday else None},
                context=f"member.enrolled|{mid}",
            ),
        },
        ts=now,
    )
    outbox.record(
        conn,
        "member.consent",
        {"member_id": mid, "purpose": purpose, "terms_version": terms, "granted": True, "at": now},
        ts=now,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="member.enrol",
        target=mid,
        details={"card_no": card, "phone_masked": row["phone_masked"]},
    )
    return till_view(conn, mid), True


# --- codes --------------------------------------------------------------------------------------------------------
def card_code(conn: sqlite3.Connection, member_id: str) -> str:
    return rules.CARD_PREFIX + till_view(conn, member_id)["card_no"]


def issue_code(conn: sqlite3.Connection, member_id: str, *, now_s: int | None = None) -> dict[str, Any]:
    """A dynamic member code for the member's phone screen (QR), valid ``members.code_ttl_s`` and single use."""
    m = till_view(conn, member_id)
    if m["status"] != "active":
        raise Conflict("this member was erased at their request", code="member_erased")
    issued = int(now_s if now_s is not None else time.time())
    nonce = new_id().replace("-", "")[-8:]
    ring = pii.for_connection(conn)
    unsigned = rules.DynamicCode(m["card_no"], issued, nonce, b"")
    code = rules.DynamicCode(
        m["card_no"], issued, nonce, ring.sign(unsigned.signed_text, purpose=CODE_PURPOSE)[: rules.SIG_BYTES]
    )
    ttl = settings.get(conn, "members.code_ttl_s")
    return {"code": code.text(), "expires_at": iso(datetime.fromtimestamp(issued + ttl, UTC))}


def _verify_dynamic(conn: sqlite3.Connection, text: str, now_s: int) -> tuple[str, rules.DynamicCode]:
    code = rules.parse_dynamic_code(text)
    ring = pii.for_connection(conn)
    if not ring.verify(code.signed_text, code.sig, purpose=CODE_PURPOSE, length=rules.SIG_BYTES):
        raise ValidationError(
            "this member code was not issued by this store (or was altered)", code="member_code_forged"
        )
    st = rules.code_state(code, now_s, settings.get(conn, "members.code_ttl_s"))
    if st != "ok":
        raise ValidationError("this member code has expired: ask for a fresh one", code="member_code_expired")
    mid = find_by_card(conn, code.card_no)
    if mid is None:
        raise NotFound("no member holds this card", code="member_not_found")
    return mid, code


def _use(conn: sqlite3.Connection, mid: str, code: rules.DynamicCode) -> None:
    if not conn.in_transaction:
        raise RuntimeError("a dynamic member code is used up inside a write transaction")
    now = now_iso()
    conn.execute("DELETE FROM member_code_uses WHERE expires_at < ?", (now,))
    ttl = settings.get(conn, "members.code_ttl_s")
    expires = iso(datetime.fromtimestamp(code.issued_s + ttl + 60, UTC))
    cur = conn.execute(
        "INSERT INTO member_code_uses(nonce, member_id, used_at, expires_at) VALUES (?,?,?,?)"
        " ON CONFLICT(nonce) DO NOTHING",
        (code.sig.hex(), mid, now, expires),
    )
    if cur.rowcount == 0:
        raise Conflict("this member code was already used: ask for a fresh one", code="member_code_used")


def recognise(conn: sqlite3.Connection, code: str, *, now_s: int | None = None) -> dict[str, Any] | None:
    """The till view of the member a scanned member card or dynamic code names; None when ``code`` is no
    member code. A dynamic code is checked (signature, window) but not used up: the caller that attaches the
    member uses it (``identify``, ``attach_to_cart``)."""
    text = code.strip() if isinstance(code, str) else ""
    head = text[:4].upper()
    if head == rules.CARD_PREFIX:
        card = text[4:]
        if not rules.valid_card_no(card):
            raise ValidationError("not a member card of ours (check digit)", code="member_card_invalid")
        mid = find_by_card(conn, card)
        if mid is None:
            raise NotFound("no member holds this card", code="member_not_found")
        return till_view(conn, mid)
    if head == rules.CODE_PREFIX:
        mid, _ = _verify_dynamic(conn, text, int(now_s if now_s is not None else time.time()))
        return till_view(conn, mid)
    return None


def identify(
    conn: sqlite3.Connection,
    *,
    actor: str,
    phone: str | None = None,
    code: str | None = None,
    now_s: int | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """The member a phone, card or dynamic code names (a dynamic code is used up here)."""
    if (phone is None) == (code is None):
        raise ValidationError("give a phone or a code", code="identify_one_way")
    if phone is not None:
        mid = find_by_phone(conn, phone)
        if mid is None:
            raise NotFound("no member has this phone number", code="member_not_found")
        how = "phone"
    else:
        text = (code or "").strip()
        if text[:4].upper() == rules.CODE_PREFIX:
            mid, dyn = _verify_dynamic(conn, text, int(now_s if now_s is not None else time.time()))
            _use(conn, mid, dyn)
            how = "dynamic_code"
        else:
            found = recognise(conn, text)
            if found is None:
                raise ValidationError("not a member card or member code", code="not_a_member_code")
            mid, how = found["id"], "card"
    view = till_view(conn, mid)
    if view["status"] != "active":
        raise Conflict("this member was erased at their request", code="member_erased")
    audit.log(conn, actor=actor, device=device, action="member.identify", target=mid, details={"by": how})
    return {**view, "identified_by": how}


# --- key rotation -------------------------------------------------------------------------------------------------
ENCRYPTED = ("phone_enc", "name_enc", "birthday_enc")


def keys_in_use(conn: sqlite3.Connection) -> set[str]:
    used: set[str] = set()
    for col in ENCRYPTED:
        # a value is pii1:<key id>:…, a key id k + 8 hex digits
        used |= {
            r[0] for r in conn.execute(f"SELECT DISTINCT substr({col}, 6, 9) FROM members WHERE {col} IS NOT NULL")
        }
    used |= {
        pii.hash_key_id(r[0])
        for r in conn.execute("SELECT DISTINCT substr(phone_hash, 1, 9) FROM members WHERE phone_hash IS NOT NULL")
    }
    return used


def reencrypt(conn: sqlite3.Connection, ring: pii.KeyRing) -> int:
    """Re-encrypt and re-hash every member's personal fields under the ring's current key (after ``add_key``),
    inside the caller's write transaction. Returns how many members changed; safe to run again."""
    changed = 0
    for r in conn.execute(
        "SELECT id, phone_hash, phone_enc, name_enc, birthday_enc FROM members"
        " WHERE phone_enc IS NOT NULL OR name_enc IS NOT NULL OR birthday_enc IS NOT NULL"
    ).fetchall():
        new = {col: ring.reencrypt(r[col], context=_ctx(r["id"], col)) if r[col] else None for col in ENCRYPTED}
        phone = ring.decrypt(new["phone_enc"], context=_ctx(r["id"], "phone_enc")) if new["phone_enc"] else None
        new_hash = ring.lookup_hash(phone, purpose=rules.PHONE_PURPOSE) if phone else r["phone_hash"]
        if new_hash != r["phone_hash"] or any(new[c] != r[c] for c in ENCRYPTED):
            conn.execute(
                "UPDATE members SET phone_hash = ?, phone_enc = ?, name_enc = ?, birthday_enc = ? WHERE id = ?",
                (new_hash, new["phone_enc"], new["name_enc"], new["birthday_enc"], r["id"]),
            )
            changed += 1
    return changed


def holders() -> dict[str, Any]:
    """Every domain's personal data at rest on the hub: what one rotation re-encrypts (members here, staff
    display names in ``hub.auth.users``)."""
    return {"members": SimpleNamespace(reencrypt=reencrypt, keys_in_use=keys_in_use), "staff": users}


def reencrypt_all(conn: sqlite3.Connection, *, actor: str) -> dict[str, Any]:
    """Key rotation (``storehub pii rotate-key``, alias ``storehub members rotate-key``): every encrypted column of
    every domain re-encrypted (and phones re-hashed) under the ring's current key inside the caller's write
    transaction, then the keys nothing uses any more are dropped. Safe to run again."""
    out = pii.rotate(conn, holders())
    audit.log(conn, actor=actor, action="pii.rotate_key", target=out["current"], details=out)
    return {
        "current": out["current"],
        "members_reencrypted": out["reencrypted"]["members"],
        "staff_reencrypted": out["reencrypted"]["staff"],
        "retired": out["retired"],
    }
