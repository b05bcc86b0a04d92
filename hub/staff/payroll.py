"""The payroll export of a pay period: hours per person by category, as CSV and XLSX for the payroll system.

StoreHub counts hours — regular, overtime, rest-day, statutory-holiday and night — and writes each category's
multiplier beside them (``staff.pay_multipliers``) with the weighted hours they make. It computes no pay, taxes,
social insurance or net pay: that is the payroll system's work with its own rates.

An export is reproducible: the same period over the same attendance gives the same bytes (rows in a fixed
order, numbers formatted one way, the XLSX's document times and zip entry times pinned). Approving a period
stores its two files with their SHA-256 and locks it: from then on the stored bytes are served, and attendance
changes that would alter its hours are refused (``hub.staff.attendance.assert_unlocked``)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sqlite3
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hub.auth import users
from hub.kernel import audit, outbox, settings
from hub.kernel.csvsafe import guard_cell
from hub.kernel.errors import Conflict, ValidationError
from hub.protocol.timeutil import iso, parse_iso, utcnow
from hub.staff import attendance, calendar, commission, rules

CATEGORIES = ("regular", "overtime", "rest_day", "holiday", "night")
COLUMNS = (
    "employee_no",
    "username",
    "name",
    "regular_hours",
    "overtime_hours",
    "rest_day_hours",
    "holiday_hours",
    "night_hours",
    "worked_hours",
    "weighted_hours",
    "worked_seconds",
    "net_sales_minor",
    "refunded_minor",
    "commission_minor",
)
_NO_SALES = {"sales": 0, "items": 0, "net_sales_minor": 0, "returns": 0, "refunded_minor": 0}
_NO_COMMISSION = {**_NO_SALES, "commissionable_minor": 0, "commission_minor": 0}
MAX_DAYS = 62


def _hours(seconds: int | Decimal) -> Decimal:
    return (Decimal(seconds) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _check_range(first_day: date, last_day: date) -> None:
    if last_day < first_day or (last_day - first_day).days >= MAX_DAYS:
        raise ValidationError(f"a pay period covers 1 to {MAX_DAYS} days", code="invalid_period")


def compute(conn: sqlite3.Connection, first_day: date, last_day: date) -> dict[str, Any]:
    """Each person's seconds per category between two local dates, from closed work sessions (breaks taken
    off). Sessions still open in the period are listed in ``open_sessions``: their hours are not known yet."""
    _check_range(first_day, last_day)
    tz = attendance.zone(conn)
    statutory = settings.get(conn, "staff.statutory_days")
    kinds: dict[date, str] = {}

    def day_kind(d: date) -> str:
        if d not in kinds:
            kinds[d] = calendar.day_kind(d, statutory)
        return kinds[d]

    # from the Monday before (weekly overtime counts from the week's start) and the day before (night shifts)
    since = min(first_day - timedelta(days=first_day.weekday()), first_day - timedelta(days=1))
    sessions = attendance.sessions_between(conn, since, last_day)
    intervals: dict[str, list[tuple[datetime, datetime]]] = {}
    open_ids = []
    for s in sessions:
        if s["ended_at"] is None:
            if attendance.local_day(conn, s["started_at"], tz) >= first_day:
                open_ids.append(s["id"])
            continue
        cur = parse_iso(s["started_at"])
        end = parse_iso(s["ended_at"])
        for b in s["breaks"]:
            b_start, b_end = parse_iso(b["started_at"]), parse_iso(b["ended_at"] or s["ended_at"])
            if b_start > cur:
                intervals.setdefault(s["user_id"], []).append((cur, min(b_start, end)))
            cur = max(cur, b_end)
        if end > cur:
            intervals.setdefault(s["user_id"], []).append((cur, end))
    people: list[dict[str, Any]] = []
    overtime, night = settings.get(conn, "staff.overtime_rules"), settings.get(conn, "staff.night_window")
    for uid, ivs in intervals.items():
        secs = rules.split_worked(
            ivs, zone=tz, first_day=first_day, last_day=last_day, day_kind=day_kind, overtime=overtime, night=night
        )
        secs["worked"] = secs["regular"] + secs["overtime"] + secs["rest_day"] + secs["holiday"]
        if secs["worked"]:
            people.append({"user_id": uid, "seconds": secs})
    # sales and commission (refunds taken back) of the period's business dates, also for someone who sold
    # without a closed session in it (a refund of an earlier sale)
    sold = commission.figures(conn, first_day, last_day)
    for p in people:
        p["sales"] = sold.pop(p["user_id"], dict(_NO_COMMISSION))
    zero = dict.fromkeys((*CATEGORIES, "worked"), 0)
    known = users_known(conn)
    for uid, figs in sorted(sold.items()):
        if uid in known:
            people.append({"user_id": uid, "seconds": dict(zero), "sales": figs})
    names = {
        r["id"]: r
        for r in conn.execute(
            "SELECT u.id, u.username, u.display_name, p.employee_no FROM users u"
            " LEFT JOIN staff_profiles p ON p.user_id = u.id"
        )
    }
    for p in people:
        u = names[p["user_id"]]
        p.update(
            username=u["username"],
            name=users.display_name(conn, u["id"], u["display_name"]),
            employee_no=u["employee_no"] or "",
        )
    people.sort(key=lambda p: (p["username"], p["user_id"]))
    totals = {k: sum(p["seconds"][k] for p in people) for k in (*CATEGORIES, "worked")}
    money = {k: sum(p["sales"][k] for p in people) for k in ("net_sales_minor", "refunded_minor", "commission_minor")}
    return {
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "people": people,
        "totals_s": totals,
        "totals_minor": money,
        "open_sessions": open_ids,
        "multipliers": settings.get(conn, "staff.pay_multipliers"),
    }


def users_known(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT id FROM users")}


def _rows(report: dict[str, Any]) -> list[list[Any]]:
    mult = report["multipliers"]
    rows = []
    for p in report["people"]:
        s = p["seconds"]
        weighted = sum(Decimal(s[k]) * Decimal(str(mult[k])) for k in CATEGORIES)
        rows.append(
            [
                p["employee_no"],
                p["username"],
                p["name"],
                *(_hours(s[k]) for k in CATEGORIES),
                _hours(s["worked"]),
                _hours(weighted),
                s["worked"],
                p["sales"]["net_sales_minor"],
                p["sales"]["refunded_minor"],
                p["sales"]["commission_minor"],
            ]
        )
    return rows


def to_csv(report: dict[str, Any]) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheets in zh-CN read it), CRLF lines, one row per person, then the
    multipliers; text cells guarded against formula injection."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for row in _rows(report):
        w.writerow([guard_cell(v) if isinstance(v, str) else str(v) for v in row])
    w.writerow([])
    w.writerow(["period", report["first_day"], report["last_day"]])
    for k in CATEGORIES:
        w.writerow([f"multiplier_{k}", str(report["multipliers"][k])])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def to_xlsx(report: dict[str, Any]) -> bytes:
    """The same table as a workbook (numbers as numbers), with the period and multipliers on a second sheet."""
    # openpyxl (~15 MB RSS): loaded by the first payroll export, not by every web worker at start (issue 12)
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "payroll"
    ws.append(list(COLUMNS))
    for row in _rows(report):
        ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
    info = wb.create_sheet("period")
    info.append(["first_day", report["first_day"]])
    info.append(["last_day", report["last_day"]])
    for k in CATEGORIES:
        info.append([f"multiplier_{k}", report["multipliers"][k]])
    pinned = datetime.combine(date.fromisoformat(report["last_day"]), time(0))
    wb.properties.creator = "StoreHub"
    wb.properties.created = pinned
    wb.properties.modified = pinned
    wb.properties.lastModifiedBy = "StoreHub"
    raw = io.BytesIO()
    wb.save(raw)
    return _pin_zip(raw.getvalue(), pinned.strftime("%Y-%m-%dT%H:%M:%SZ"))


# openpyxl stamps docProps/core.xml's "modified" with the time of saving, whatever the workbook says
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _pin_zip(data: bytes, modified: str) -> bytes:
    """The same archive with every entry's time set to one date and the document's "modified" pinned: zip entries
    carry the time they were written and openpyxl stamps the save time, which would make two exports differ."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            pinned = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o600 << 16
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(rb"\g<1>" + modified.encode() + rb"\g<2>", body)
            dst.writestr(pinned, body)
    return out.getvalue()


def _approved(conn: sqlite3.Connection, first_day: date, last_day: date) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM staff_pay_periods WHERE first_day = ? AND last_day = ?",
        (first_day.isoformat(), last_day.isoformat()),
    ).fetchone()
    return dict(row) if row else None


def export(conn: sqlite3.Connection, first_day: date, last_day: date, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, file name, media type) of a period's export: the stored file once approved, else computed now."""
    _check_range(first_day, last_day)
    name = f"payroll-{first_day.isoformat()}-{last_day.isoformat()}.{fmt}"
    media = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stored = _approved(conn, first_day, last_day)
    if stored is not None:
        return bytes(stored[fmt]), name, media
    report = compute(conn, first_day, last_day)
    return (to_csv(report) if fmt == "csv" else to_xlsx(report)), name, media


def summary(conn: sqlite3.Connection, first_day: date, last_day: date) -> dict[str, Any]:
    """The period's figures in hours for the screen, and whether it is approved."""
    report = compute(conn, first_day, last_day)
    stored = _approved(conn, first_day, last_day)
    report["approved"] = (
        None if stored is None else {k: stored[k] for k in ("approved_by", "approved_at", "sha256_csv", "sha256_xlsx")}
    )
    report["rows"] = [
        dict(zip(COLUMNS, [str(v) if isinstance(v, Decimal) else v for v in r], strict=True)) for r in _rows(report)
    ]
    return report


def approve(
    conn: sqlite3.Connection, first_day: date, last_day: date, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Approve and lock a period that has ended: no session still open in it, no correction pending, no overlap
    with an approved period. Its files are stored and served as they are from then on."""
    attendance.require_supervisor(conn, actor, "manager")
    _check_range(first_day, last_day)
    tz = attendance.zone(conn)
    if last_day >= utcnow().astimezone(tz).date():
        raise Conflict("a pay period is approved once it has ended", code="period_not_over")
    overlap = conn.execute(
        "SELECT first_day, last_day FROM staff_pay_periods WHERE first_day <= ? AND last_day >= ?",
        (last_day.isoformat(), first_day.isoformat()),
    ).fetchone()
    if overlap:
        raise Conflict("this period overlaps an approved one", code="period_locked", details=dict(overlap))
    report = compute(conn, first_day, last_day)
    if report["open_sessions"]:
        raise Conflict(
            "sessions without a clock-out: close them first",
            code="open_sessions",
            details={"session_ids": report["open_sessions"]},
        )
    lo, hi = iso(rules.local_at(first_day, 0, tz)), iso(rules.local_at(last_day + timedelta(days=1), 0, tz))
    pending = [
        r["id"]
        for r in conn.execute(
            "SELECT id FROM staff_corrections WHERE status = 'pending' AND started_at < ? AND ended_at >= ?", (hi, lo)
        )
    ]
    if pending:
        raise Conflict(
            "corrections are waiting for a decision", code="corrections_pending", details={"correction_ids": pending}
        )
    csv_bytes, xlsx_bytes = to_csv(report), to_xlsx(report)
    row = {
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "approved_by": actor,
        "sha256_csv": hashlib.sha256(csv_bytes).hexdigest(),
        "sha256_xlsx": hashlib.sha256(xlsx_bytes).hexdigest(),
    }
    conn.execute(
        "INSERT INTO staff_pay_periods(first_day, last_day, status, approved_by, approved_at, csv, xlsx,"
        " sha256_csv, sha256_xlsx) VALUES (?,?, 'approved', ?,?,?,?,?,?)",
        (
            row["first_day"],
            row["last_day"],
            actor,
            iso(datetime.now(UTC)),
            csv_bytes,
            xlsx_bytes,
            row["sha256_csv"],
            row["sha256_xlsx"],
        ),
    )
    rows = [
        {
            "user_id": p["user_id"],
            "employee_no": p["employee_no"],
            "seconds": p["seconds"],
            **{k: p["sales"][k] for k in ("net_sales_minor", "refunded_minor", "commission_minor")},
        }
        for p in report["people"]
    ]
    outbox.record(
        conn,
        "staff.payroll.approved",
        {
            **row,
            "people": len(report["people"]),
            "totals_s": report["totals_s"],
            "multipliers": report["multipliers"],
            "rows": rows,
        },
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.payroll_approved",
        target=f"{row['first_day']}..{row['last_day']}",
        details={**row, "totals_s": report["totals_s"]},
    )
    return row


def performance(
    conn: sqlite3.Connection, first_day: date, last_day: date, *, user_id: str | None = None
) -> dict[str, Any]:
    """Per person: sales and items at the till, items per worked hour, net sales, refunds taken back and
    commission — for the person themselves (``user_id``) or their supervisor. Sorted by name, never ranked."""
    report = compute(conn, first_day, last_day)
    acts = commission.activity(conn, *attendance._range_utc(conn, first_day, last_day))
    known = {p["user_id"] for p in report["people"]}
    zero = dict.fromkeys((*CATEGORIES, "worked"), 0)
    for uid in sorted(set(acts) - known):  # picked or voided without a closed session or a sale in the period
        row = conn.execute("SELECT username, display_name FROM users WHERE id = ?", (uid,)).fetchone()
        if row is not None:
            report["people"].append(
                {
                    "user_id": uid,
                    "username": row["username"],
                    "name": users.display_name(conn, uid, row["display_name"]),
                    "seconds": dict(zero),
                    "sales": dict(_NO_COMMISSION),
                }
            )
    people = []
    for p in sorted(report["people"], key=lambda p: (p["username"], p["user_id"])):
        if user_id is not None and p["user_id"] != user_id:
            continue
        s = p["sales"]
        act = acts.get(p["user_id"]) or dict.fromkeys(
            ("voided_lines", "voided_carts", "overrides", "picks", "picked_units", "shorts"), 0
        )
        people.append(
            {
                "user_id": p["user_id"],
                "username": p["username"],
                "name": p["name"],
                "worked_hours": str(_hours(p["seconds"]["worked"])),
                "sales": s["sales"],
                "items": s["items"],
                "items_per_hour": commission.per_hour(s["items"], p["seconds"]["worked"]),
                "sales_per_hour": commission.per_hour(s["sales"], p["seconds"]["worked"]),
                "net_sales_minor": s["net_sales_minor"],
                "returns": s["returns"],
                "refunded_minor": s["refunded_minor"],
                "commissionable_minor": s["commissionable_minor"],
                "commission_minor": s["commission_minor"],
                **act,
                "picks_per_hour": commission.per_hour(act["picks"], p["seconds"]["worked"]),
            }
        )
    return {"first_day": report["first_day"], "last_day": report["last_day"], "people": people}
