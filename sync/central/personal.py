"""Personal data at the central, encrypted at rest (issue 15: "full personal data stays at the central"; issue 20).

Keys: the central's personal-data files sit in its data directory beside its config, never in the database —
``pii.keys`` (the same :class:`hub.kernel.pii.KeyRing` the hubs use: AES-256-GCM field encryption with the table,
column and row as associated data, and HMAC-SHA256 lookup hashes) and ``pii-seal.keys`` (the X25519 key pairs the
hubs seal personal fields to, :class:`hub.kernel.pii.SealKeys`). Both 0600. :func:`attach` tells this module which
directory belongs to an engine (the app factory and the CLI call it).

Ingest (inside the ingest transaction, ``projections.apply`` calls :func:`apply` with the folded member facts): a ``member.enrolled`` fact's sealed ``personal``
fields are opened with the seal key and stored re-encrypted under the ring, with the phone's keyed hash
(``member_personal``); ``member.consent`` facts fill the consent register (``member_consents``); a
``user.upsert``'s sealed display name is stored encrypted (``staff_personal``). Nothing personal is ever written in
plain text; a central that cannot open a value (no key directory attached) keeps it as it came, sealed, and the
next :func:`rotate` converts it.

Head-office actions (role admin, each audited in ``personal_audit``): :func:`find_by_phone`, :func:`export` (the
member's personal data and history as JSON), :func:`withdraw` (consent withdrawn: no more marketing; recorded) and
:func:`erase` (the personal data is destroyed — ciphertexts and hash deleted, the sealed copies in the raw events
and the masked phone / birthday month in earlier downlink changes scrubbed — the points and sales history stays,
keyed by the anonymous member id, and a downlink change ``{"member_id", "erased": true}`` tells every hub to drop
what it holds; the downlink is versioned, so a store offline at the time gets it when it reconnects).
:func:`rotate` is ``storehub central rotate-pii-key``.
"""

from __future__ import annotations

import uuid
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, String, Table, Text, false, select, update
from sqlalchemy.engine import Connection, Engine

from hub.kernel import pii
from hub.kernel.errors import NotFound, ValidationError
from hub.members import rules
from hub.protocol.timeutil import now_iso
from sync.central import schema as t
from sync.central.members import member_points, members, points_entries

PHONE_PURPOSE = "central.member.phone"
PERSONAL_FIELDS = ("phone", "name", "birthday")

member_personal = Table(
    "member_personal",
    t.metadata,
    Column("member_id", String(40), primary_key=True),
    Column("phone_hash", String(80)),
    Column("phone_ct", Text),
    Column("name_ct", Text),
    Column("birthday_ct", Text),
    Column("source_store", String(64), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("marketing", Boolean, nullable=False, server_default=false()),
    Column("erased_at", String(32)),
)
Index("member_personal_phone", member_personal.c.phone_hash)

member_consents = Table(
    "member_consents",
    t.metadata,
    Column("member_id", String(40), primary_key=True),
    Column("consent_id", String(120), primary_key=True),
    Column("action", String(16), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("terms_version", String(32), nullable=False),
    Column("at", String(32), nullable=False),
    Column("source", String(80), nullable=False),
)

staff_personal = Table(
    "staff_personal",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("user_id", String(40), primary_key=True),
    Column("display_name_ct", Text),
    Column("updated_at", String(32), nullable=False),
)

personal_audit = Table(
    "personal_audit",
    t.metadata,
    Column("id", String(40), primary_key=True),
    Column("at", String(32), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(32), nullable=False),
    Column("member_id", String(40)),
    Column("detail", JSON, nullable=False),
)
Index("personal_audit_member", personal_audit.c.member_id, personal_audit.c.at)


# --- keys -----------------------------------------------------------------------------------------------------------
_DIRS: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()


def attach(engine: Engine, data_dir: Path | str) -> None:
    """The central data directory whose key files serve ``engine`` (created on first use, 0600)."""
    _DIRS[engine] = Path(data_dir).resolve()


def key_dir(conn: Connection) -> Path | None:
    return _DIRS.get(conn.engine)


def key_dir_of(engine: Engine) -> Path | None:
    return _DIRS.get(engine)


def ring(directory: Path) -> pii.KeyRing:
    directory.mkdir(parents=True, exist_ok=True)
    return pii.keyring(directory)


def seal_keys(directory: Path) -> pii.SealKeys:
    directory.mkdir(parents=True, exist_ok=True)
    return pii.SealKeys.open(directory)


def public_key(directory: Path | str) -> str:
    """What a hub is given at provisioning (``hub.kernel.pii.set_central_key``)."""
    return seal_keys(Path(directory)).public_key()


def _ctx(column: str, row: str) -> str:
    return f"{column}|{row}"


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


class _Opener:
    """Opens sealed values and encrypts them under the ring, for one transaction (None dir: keep them sealed)."""

    def __init__(self, directory: Path | None):
        self.ring = ring(directory) if directory else None
        self.seal = seal_keys(directory) if directory else None

    def store(self, sealed: str | None, *, seal_context: str, column: str, row: str) -> tuple[str | None, str | None]:
        """(stored value, plaintext) — the plaintext only to hash it, never stored."""
        if not sealed:
            return None, None
        if self.ring is None or self.seal is None:
            return sealed, None
        plain = self.seal.unseal(sealed, context=seal_context)
        return self.ring.encrypt(plain, context=_ctx(column, row)), plain


# --- ingest (called inside the ingest transaction) ------------------------------------------------------------------
def store_enrolled(conn: Connection, store_id: str, p: dict[str, Any], opener: _Opener) -> None:
    mid = str(p["member_id"])[:40]
    sealed = p.get("personal")
    if not isinstance(sealed, dict) or not sealed.get("phone"):
        return
    row: dict[str, Any] = {"member_id": mid, "source_store": store_id[:64], "updated_at": now_iso()}
    phone_plain = None
    for f in PERSONAL_FIELDS:
        value, plain = opener.store(
            sealed.get(f), seal_context=f"member.enrolled|{mid}|{f}", column=f"member_personal.{f}_ct", row=mid
        )
        row[f"{f}_ct"] = value
        if f == "phone":
            phone_plain = plain
    row["phone_hash"] = (
        opener.ring.lookup_hash(phone_plain, purpose=PHONE_PURPOSE) if opener.ring and phone_plain else None
    )
    row["marketing"] = True  # enrolment needs a granted consent (hub/members/identity.py)
    # a member erased here keeps its row (erased_at): a replayed enrolment inserts nothing
    conn.execute(_insert(conn, member_personal).on_conflict_do_nothing(index_elements=["member_id"]), row)


def store_consent(conn: Connection, store_id: str, p: dict[str, Any], event_id: str) -> None:
    mid = str(p["member_id"])[:40]
    granted = bool(p.get("granted"))
    conn.execute(
        _insert(conn, member_consents).on_conflict_do_nothing(index_elements=["member_id", "consent_id"]),
        {
            "member_id": mid,
            "consent_id": f"store:{store_id}:{event_id}"[:120],
            "action": "grant" if granted else "withdraw",
            "purpose": str(p.get("purpose") or "")[:64],
            "terms_version": str(p.get("terms_version") or "")[:32],
            "at": str(p.get("at") or now_iso())[:32],
            "source": f"store:{store_id}"[:80],
        },
    )
    if not granted:
        conn.execute(update(member_personal).where(member_personal.c.member_id == mid).values(marketing=False))


def store_staff(conn: Connection, store_id: str, p: dict[str, Any], opener: _Opener) -> None:
    uid = str(p["id"])[:40]
    key = f"{store_id}|{uid}"
    value, _plain = opener.store(
        p.get("display_name_sealed"),
        seal_context=f"user.upsert|{uid}|display_name",
        column="staff_personal.display_name_ct",
        row=key,
    )
    if value is None:
        return  # sent by a hub without the central's key: nothing personal to keep
    row = {"store_id": store_id[:64], "user_id": uid, "display_name_ct": value, "updated_at": now_iso()}
    conn.execute(
        _insert(conn, staff_personal).on_conflict_do_update(
            index_elements=["store_id", "user_id"],
            set_={"display_name_ct": value, "updated_at": row["updated_at"]},
        ),
        row,
    )


def apply(conn: Connection, store_id: str, folded: dict[str, list[dict[str, Any]]]) -> None:
    """One ingest's personal data (``projections.apply`` calls it with the folded member facts)."""
    enrolled = [p for p in folded.get("enrolled", ()) if isinstance(p.get("personal"), dict)]
    staff = folded.get("staff", [])
    opener = _Opener(key_dir(conn)) if (enrolled or staff) else None
    for p in enrolled:
        store_enrolled(conn, store_id, p, opener)  # type: ignore[arg-type]
    for c in folded.get("consents", ()):
        store_consent(conn, store_id, c["payload"], c["event_id"])
    for p in staff:
        store_staff(conn, store_id, p, opener)  # type: ignore[arg-type]


# --- head office ------------------------------------------------------------------------------------------------------
def _audit(conn: Connection, actor: str, action: str, member_id: str | None, detail: dict[str, Any]) -> None:
    conn.execute(
        personal_audit.insert().values(
            id=str(uuid.uuid4()), at=now_iso(), actor=actor[:80], action=action, member_id=member_id, detail=detail
        )
    )


def _require_dir(engine: Engine) -> Path:
    d = _DIRS.get(engine)
    if d is None:
        raise RuntimeError("no key directory attached to this central engine (personal.attach)")
    return d


def _member_row(conn: Connection, member_id: str) -> Any:
    m = conn.execute(select(members).where(members.c.member_id == member_id)).first()
    if m is None:
        raise NotFound(f"no member {member_id}", code="member_not_found")
    return m


def find_by_phone(engine: Engine, phone: str, *, actor: str, region: str = "CN") -> dict[str, Any]:
    """The member a phone number belongs to, through the central's keyed hash (every key of the ring, so a
    rotation half done still finds them); audited whether found or not."""
    e164 = rules.normalise_phone(phone, region)
    r = ring(_require_dir(engine))
    hashes = r.lookup_hashes(e164, purpose=PHONE_PURPOSE)
    with engine.begin() as conn:
        row = conn.execute(
            select(members, member_personal.c.marketing)
            .join(member_personal, member_personal.c.member_id == members.c.member_id)
            .where(member_personal.c.phone_hash.in_(hashes), member_personal.c.erased_at.is_(None))
        ).first()
        _audit(conn, actor, "find", row.member_id if row else None, {"found": row is not None})
    if row is None:
        raise NotFound("no member has this phone number", code="member_not_found")
    m = row._mapping
    return {
        "member_id": m["member_id"],
        "card_no": m["card_no"],
        "phone_masked": m["phone_masked"],
        "tier": m["tier"],
        "home_store": m["home_store"],
        "status": m["status"],
        "marketing": bool(m["marketing"]),
    }


def _decrypt_personal(r: pii.KeyRing, s: pii.SealKeys, row: Any) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for f in PERSONAL_FIELDS:
        v = row[f"{f}_ct"]
        if v is None:
            out[f] = None
        elif pii.is_sealed(v):
            out[f] = s.unseal(v, context=f"member.enrolled|{row['member_id']}|{f}")
        else:
            out[f] = r.decrypt(v, context=_ctx(f"member_personal.{f}_ct", row["member_id"]))
    return out


def export(engine: Engine, member_id: str, *, actor: str) -> dict[str, Any]:
    """One member's personal data and history as a JSON document (the member's access request); audited."""
    d = _require_dir(engine)
    with engine.begin() as conn:
        m = _member_row(conn, member_id)._mapping
        pr = conn.execute(select(member_personal).where(member_personal.c.member_id == member_id)).first()
        personal = _decrypt_personal(ring(d), seal_keys(d), pr._mapping) if pr is not None else None
        consents = [
            {k: c[k] for k in ("action", "purpose", "terms_version", "at", "source")}
            for c in conn.execute(
                select(member_consents)
                .where(member_consents.c.member_id == member_id)
                .order_by(member_consents.c.at, member_consents.c.consent_id)
            ).mappings()
        ]
        entries = [
            {k: e[k] for k in ("entry_id", "store_id", "kind", "points", "spend_minor", "ref", "at")}
            for e in conn.execute(
                select(points_entries)
                .where(points_entries.c.member_id == member_id)
                .order_by(points_entries.c.at, points_entries.c.entry_id)
            ).mappings()
        ]
        bal = conn.execute(select(member_points.c.balance).where(member_points.c.member_id == member_id)).scalar()
        _audit(conn, actor, "export", member_id, {"entries": len(entries)})
    return {
        "member": {
            k: m[k] for k in ("member_id", "card_no", "home_store", "tier", "tier_since", "enrolled_at", "status")
        },
        "personal": personal,
        "marketing": bool(pr._mapping["marketing"]) if pr is not None else False,
        "erased_at": pr._mapping["erased_at"] if pr is not None else None,
        "consents": consents,
        "points": {"balance": int(bal or 0), "entries": entries},
        "exported_at": now_iso(),
    }


def withdraw(engine: Engine, member_id: str, *, actor: str, purpose: str | None = None) -> dict[str, Any]:
    """Withdraw the member's consent (one purpose, or every purpose they granted): recorded in the register,
    and the member is no longer marketed to. Audited."""
    now = now_iso()
    with engine.begin() as conn:
        _member_row(conn, member_id)
        rows = conn.execute(
            select(member_consents.c.purpose, member_consents.c.action, member_consents.c.terms_version)
            .where(member_consents.c.member_id == member_id)
            .order_by(member_consents.c.at, member_consents.c.consent_id)
        ).all()
        last: dict[str, tuple[str, str]] = {}
        for r in rows:
            last[r.purpose] = (r.action, r.terms_version)
        granted = [p for p, (a, _v) in last.items() if a == "grant"]
        targets = [purpose] if purpose else granted
        if purpose and purpose not in last:
            raise ValidationError(f"the member never consented to {purpose}", code="consent_not_given")
        for p in targets:
            conn.execute(
                member_consents.insert().values(
                    member_id=member_id,
                    consent_id=f"office:{uuid.uuid4()}",
                    action="withdraw",
                    purpose=p,
                    terms_version=last.get(p, ("", ""))[1],
                    at=now,
                    source=f"office:{actor}"[:80],
                )
            )
        still = [p for p in granted if p not in targets]
        conn.execute(
            update(member_personal).where(member_personal.c.member_id == member_id).values(marketing=bool(still))
        )
        _audit(conn, actor, "withdraw", member_id, {"purposes": targets})
    return {"member_id": member_id, "withdrawn": targets, "marketing": bool(still), "at": now}


def erase(engine: Engine, member_id: str, *, actor: str) -> dict[str, Any]:
    """Erase a member's personal data at the central and on every hub (see the module docstring). Idempotent."""
    now = now_iso()
    with engine.begin() as conn:
        _member_row(conn, member_id)
        personal_rows = conn.execute(
            update(member_personal)
            .where(member_personal.c.member_id == member_id)
            .values(phone_hash=None, phone_ct=None, name_ct=None, birthday_ct=None, marketing=False, erased_at=now)
        ).rowcount
        if not personal_rows:  # enrolled at a hub without the central's key: record the erase all the same
            conn.execute(
                member_personal.insert().values(
                    member_id=member_id, source_store="", updated_at=now, marketing=False, erased_at=now
                )
            )
        conn.execute(
            update(members)
            .where(members.c.member_id == member_id)
            .values(phone_hash=None, phone_masked="", birthday_month=None, status="erased")
        )
        scrubbed = _scrub_events(conn, member_id)
        _scrub_downlink(conn, member_id)
        version = _publish_erase(conn, member_id, now)
        _audit(conn, actor, "erase", member_id, {"events_scrubbed": scrubbed, "downlink_version": version})
    return {"member_id": member_id, "erased_at": now, "events_scrubbed": scrubbed, "downlink_version": version}


def _scrub_events(conn: Connection, member_id: str) -> int:
    """The raw ``member.enrolled`` events keep the personal fields only sealed; an erase drops even those."""
    e = t.events.c
    n = 0
    for r in conn.execute(
        select(e.store_id, e.month, e.seq, e.payload).where(
            e.kind == "member.enrolled", e.payload["member_id"].as_string() == member_id
        )
    ).all():
        payload = dict(r.payload)
        payload.update(personal=None, phone_hash=None, phone_masked="", birthday_month=None)
        conn.execute(
            update(t.events).where(e.store_id == r.store_id, e.month == r.month, e.seq == r.seq).values(payload=payload)
        )
        n += 1
    return n


def _scrub_downlink(conn: Connection, member_id: str) -> None:
    c = t.downlink_changes.c
    for r in conn.execute(select(c.version, c.payload).where(c.kind == "member", c.key == member_id)).all():
        payload = {**dict(r.payload), "phone_masked": "", "birthday_month": None}
        conn.execute(update(t.downlink_changes).where(c.version == r.version).values(payload=payload))


# Staff names in head office's user changes (sync/central/downlink.py encrypts and opens them).
USER_NAME_CONTEXT = "downlink_changes.user.display_name"


def _reencrypt_user_names(conn: Connection, r: pii.KeyRing) -> int:
    c = t.downlink_changes.c
    n = 0
    for row in conn.execute(select(c.version, c.key, c.payload).where(c.kind == "user")).all():
        p = dict(row.payload)
        if "display_name_ct" not in p:
            continue
        p["display_name_ct"] = r.reencrypt(p["display_name_ct"], context=f"{USER_NAME_CONTEXT}|{row.key}")
        conn.execute(update(t.downlink_changes).where(c.version == row.version).values(payload=p))
        n += 1
    return n


def _publish_erase(conn: Connection, member_id: str, now: str) -> int:
    head = conn.execute(select(t.downlink_head.c.version).where(t.downlink_head.c.id == 1).with_for_update()).scalar()
    version = int(head or 0) + 1
    conn.execute(
        t.downlink_changes.insert().values(
            version=version,
            scope="*",
            kind="member",
            key=member_id,
            payload={"member_id": member_id, "erased": True, "as_of": now},
            author="system:members",
            created_at=now,
        )
    )
    conn.execute(update(t.downlink_head).where(t.downlink_head.c.id == 1).values(version=version))
    return version


def rotate(engine: Engine, *, actor: str) -> dict[str, Any]:
    """``storehub central rotate-pii-key``: a new current key in the central's ``pii.keys``, every member's and
    staff member's personal data re-encrypted (and sealed values still waiting converted), phones re-hashed,
    then the keys nothing uses any more retired. One transaction; safe to run again."""
    d = _require_dir(engine)
    r, s = ring(d), seal_keys(d)
    new = r.add_key()
    members_changed = staff_changed = 0
    with engine.begin() as conn:
        for row in conn.execute(select(member_personal).where(member_personal.c.erased_at.is_(None))).mappings().all():
            plain = _decrypt_personal(r, s, row)
            mid = row["member_id"]
            values = {
                f"{f}_ct": (r.encrypt(v, context=_ctx(f"member_personal.{f}_ct", mid)) if v is not None else None)
                for f, v in plain.items()
            }
            values["phone_hash"] = r.lookup_hash(plain["phone"], purpose=PHONE_PURPOSE) if plain["phone"] else None
            conn.execute(update(member_personal).where(member_personal.c.member_id == mid).values(**values))
            members_changed += 1
        for row in conn.execute(select(staff_personal)).mappings().all():
            key = f"{row['store_id']}|{row['user_id']}"
            v = row["display_name_ct"]
            if v is None:
                continue
            if pii.is_sealed(v):
                plain_name = s.unseal(v, context=f"user.upsert|{row['user_id']}|display_name")
                new_v = r.encrypt(plain_name, context=_ctx("staff_personal.display_name_ct", key))
            else:
                new_v = r.reencrypt(v, context=_ctx("staff_personal.display_name_ct", key))
            conn.execute(
                update(staff_personal)
                .where(staff_personal.c.store_id == row["store_id"], staff_personal.c.user_id == row["user_id"])
                .values(display_name_ct=new_v)
            )
            staff_changed += 1
        staff_changed += _reencrypt_user_names(conn, r)  # head office's user changes keep staff names too
        retired = r.retire_unused({r.current})
        _audit(
            conn,
            actor,
            "rotate",
            None,
            {"key": new, "members": members_changed, "staff": staff_changed, "retired": retired},
        )
    return {
        "new_key": new,
        "members_reencrypted": members_changed,
        "staff_reencrypted": staff_changed,
        "retired": retired,
    }


def staff_name(engine: Engine, store_id: str, user_id: str) -> str | None:
    """A staff member's display name as the central holds it (decrypted; None when the store never sent it)."""
    d = _require_dir(engine)
    key = f"{store_id}|{user_id}"
    with engine.connect() as conn:
        v = conn.execute(
            select(staff_personal.c.display_name_ct).where(
                staff_personal.c.store_id == store_id, staff_personal.c.user_id == user_id
            )
        ).scalar()
    if v is None:
        return None
    if pii.is_sealed(v):
        return seal_keys(d).unseal(v, context=f"user.upsert|{user_id}|display_name")
    return ring(d).decrypt(v, context=_ctx("staff_personal.display_name_ct", key))
