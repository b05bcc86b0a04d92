"""Demand-based rosters and commission: the pure functions on a known week, then over HTTP from real till sales
(the checkout's own routes), a return taking its commission back, and the payroll export's commission column."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.kernel import settings
from hub.staff import commission, demand, rules
from tests.checkout.conftest import shop, till  # noqa: F401  (fixtures: the till sells as "associate")

SH = ZoneInfo("Asia/Shanghai")
WEEK = date(2026, 3, 9)  # a Monday with no holiday
TARGETS = {
    "till_items_per_hour": 100,
    "min_staff": 1,
    "open": "09:00",
    "close": "21:00",
    "shift_hours": 6,
    "history_weeks": 4,
    "skill": "till",
}
RULES = {"min_rest_hours": 11, "max_hours_day": 10, "max_hours_week": 44}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH).astimezone(UTC)


def known_history() -> list[tuple[datetime, int]]:
    """Four weeks before WEEK: every Saturday 11:00-12:00 sells 1,000 items (in 4 weeks), Monday 10:00 400."""
    out = []
    for w in range(1, 5):
        sat, mon = WEEK - timedelta(weeks=w) + timedelta(days=5), WEEK - timedelta(weeks=w)
        out += [(local(sat, 11, m), 25) for m in range(0, 60, 6)]  # 10 sales × 25 items = 250 a week
        out += [(local(mon, 10, 30), 100)]
    return out


def test_need_per_hour_from_a_known_history():
    avg = demand.average_items(known_history(), 4, SH)
    assert avg == {(5, 11): 250.0, (0, 10): 100.0}
    need = demand.staff_needed(avg, TARGETS)
    assert need[(5, 11)] == 3  # 250 items ÷ 100 an hour, rounded up
    assert need[(0, 10)] == 1  # exactly one person's worth
    assert need[(2, 15)] == 1  # the least crew in an opening hour with no sales
    assert (0, 8) not in need and (0, 21) not in need  # closed
    assert len(need) == 7 * 12


def test_suggestion_covers_the_need_without_breaking_a_rule():
    need = demand.staff_needed(demand.average_items(known_history(), 4, SH), TARGETS)
    crew = [f"u{i}" for i in range(8)]
    people = rules.People(skills={u: frozenset({"till"}) for u in crew[:7]})  # u7 cannot work a till
    shifts, uncovered = demand.suggest(
        need,
        week_start=WEEK,
        candidates=crew,
        people=people,
        existing=[],
        roster_rules=RULES,
        zone=SH,
        shift_hours=6,
        close_hour=21,
    )
    assert uncovered == {}
    assert all(s.user_id != "u7" for s in shifts)
    as_rules = [
        rules.Shift(str(n), s.user_id, local(s.day, s.start_hour), local(s.day, s.end_hour), "till")
        for n, s in enumerate(shifts)
    ]
    assert rules.check_roster(as_rules, people, RULES, SH) == []
    have = demand.coverage(as_rules, WEEK, SH)
    assert all(have.get(slot, 0) >= n for slot, n in need.items())
    assert have[(5, 11)] == 3
    # 12 opening hours a day in 6-hour shifts: 2 a day, plus 2 more on Saturday at 11:00
    assert len(shifts) == 7 * 2 + 2


def test_suggestion_leaves_uncovered_what_the_rules_forbid():
    need = {(0, 9): 2, (0, 10): 2}
    people = rules.People(skills={"a": frozenset({"till"})})
    shifts, uncovered = demand.suggest(
        need,
        week_start=WEEK,
        candidates=["a"],
        people=people,
        existing=[],
        roster_rules=RULES,
        zone=SH,
        shift_hours=6,
        close_hour=21,
    )
    assert [(s.user_id, s.start_hour, s.end_hour) for s in shifts] == [("a", 9, 15)]
    assert uncovered == {(0, 9): 1, (0, 10): 1}  # a second shift the same day would be double booking


RULE = {
    "default_percent": 1,
    "categories": {"drinks": 5, "dairy": 2},
    "exclude_categories": ["tobacco"],
    "exclude_skus": ["GIFTCARD"],
    "tiers": [{"from_minor": 100_000, "bonus_percent": 1}],
}


def test_commission_by_category_with_exclusions_tiers_and_clawback():
    lines = [
        commission.Line("drinks", "COLA", 10_000),  # 5% = 500
        commission.Line("dairy", "MILK", 100_000),  # 2% = 2,000
        commission.Line("", "RICE", 50_000),  # default 1% = 500
        commission.Line("tobacco", "CIG", 90_000),  # excluded
        commission.Line("drinks", "GIFTCARD", 5_000),  # excluded by SKU
    ]
    got = commission.commission(lines, RULE)
    # commissionable 160,000: the tier adds 1% of the 60,000 above 100,000 = 600
    assert got == {"commissionable_minor": 160_000, "commission_minor": 500 + 2_000 + 500 + 600}
    refund = commission.commission([*lines, commission.Line("drinks", "COLA", -10_000)], RULE)
    assert refund == {"commissionable_minor": 150_000, "commission_minor": 2_000 + 500 + 500}
    only_refund = commission.commission([commission.Line("dairy", "MILK", -1_250)], RULE)
    assert only_refund == {"commissionable_minor": -1_250, "commission_minor": -25}  # taken back


def _sale(till, codes):  # noqa: F811
    c = till.cart()
    for code in codes:
        till.scan(c["id"], code)
    return till.pay(c["id"])["sale"]


def test_performance_commission_and_clawback_from_till_sales(till, client, auth, hubctx, crew):  # noqa: F811
    with hubctx.db.write() as conn:
        conn.execute("UPDATE items SET category = 'dairy' WHERE sku = 'MILK-1L'")
        settings.put(conn, "staff.commission_rules", RULE)
    sale = _sale(till, ["5901234123457", "5901234123457", "6901234567892"])  # 2 milk (dairy) + a cola (drinks)
    _sale(till, ["96385074"])  # rice: no category, the default percent
    s = till.call("GET", f"/sales/{sale['receipt_code']}")
    milk = next(ln for ln in s["lines"] if ln["sku"] == "MILK-1L")
    till.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": sale["receipt_code"],
            "idempotency_key": "ret-staff-1",
            "lines": [{"line_no": milk["line_no"], "qty": 1}],
        },
        status=201,
    )
    gone = till.cart()  # a line voided, then the whole cart: counted as the cashier's voids, never as sales
    scanned = till.scan(gone["id"], "5901234123457")
    till.scan(gone["id"], "96385074")
    till.call("POST", f"/carts/{gone['id']}/lines/{scanned['lines'][0]['id']}/void")
    till.call("POST", f"/carts/{gone['id']}/void", {"reason": "customer left"})
    today = hubctx.db.read().execute("SELECT business_date FROM checkout_sales LIMIT 1").fetchone()[0]
    q = {"from": today, "to": today}
    team = client.get("/api/v1/staff/performance", query_string=q, headers=auth("supervisor"))
    assert team.status_code == 200, team.get_json()
    cashier = crew["associate"]
    me = next(p for p in team.get_json()["people"] if p["user_id"] == cashier)
    assert (me["sales"], me["items"], me["returns"]) == (2, 4, 1)
    assert me["net_sales_minor"] == 2 * 1250 + 350 + 4990 and me["refunded_minor"] == 1250
    # dairy 2% of (2,500 − 1,250) = 25, drinks 5% of 350 = 17.5, rice 1% of 4,990 = 49.9: 92.4 → 92
    assert me["commission_minor"] == 92 and me["commissionable_minor"] == 1250 + 350 + 4990
    assert (me["voided_lines"], me["voided_carts"], me["overrides"]) == (1, 1, 0)
    assert (me["picks"], me["shorts"], me["picks_per_hour"]) == (0, 0, None)
    own = client.get("/api/v1/staff/me/performance", query_string=q, headers=auth("associate")).get_json()
    assert [p["user_id"] for p in own["people"]] == [cashier]
    assert client.get("/api/v1/staff/performance", query_string=q, headers=auth("associate")).status_code == 403
    export = client.get("/api/v1/staff/payroll/export", query_string={**q, "format": "csv"}, headers=auth("supervisor"))
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))
    row = next(r for r in rows if r["username"] == "associate")
    assert (row["net_sales_minor"], row["refunded_minor"], row["commission_minor"]) == ("7840", "1250", "92")
    assert row["worked_seconds"] == "0"  # sold without a closed session in the period: still paid commission


def test_demand_plan_from_till_sales_and_accepting_it(till, client, auth, hubctx, crew):  # noqa: F811
    with hubctx.db.write() as conn:
        settings.put(conn, "staff.demand_targets", {**TARGETS, "till_items_per_hour": 1, "min_staff": 0})
    sup = auth("supervisor")
    for name in ("li", "zhang", "associate"):
        r = client.put(f"/api/v1/staff/people/{crew[name]}", json={"skills": ["till"]}, headers=sup)
        assert r.status_code == 200, r.get_json()
    _sale(till, ["5901234123457"] * 8)  # 8 items now: over 4 weeks, 2 an hour → 2 people
    sold = hubctx.db.read().execute("SELECT ts FROM checkout_sales").fetchone()[0]
    tz = ZoneInfo(settings.get(hubctx.db.read(), "timezone"))
    at = datetime.fromisoformat(sold.replace("Z", "+00:00")).astimezone(tz)
    week = (at.date() - timedelta(days=at.weekday()) + timedelta(days=7)).isoformat()
    hours = {
        **TARGETS,
        "till_items_per_hour": 1,
        "min_staff": 0,
        "open": "00:00",
        "close": "24:00",
        "shift_hours": 1,
    }
    with hubctx.db.write() as conn:
        settings.put(conn, "staff.demand_targets", hours)
    plan = client.get(f"/api/v1/staff/roster/{week}/demand", headers=sup)
    assert plan.status_code == 200, plan.get_json()
    body = plan.get_json()
    slot = {"weekday": at.weekday(), "hour": at.hour}
    assert {**slot, "value": 2.0} in body["items"]
    assert [n for n in body["need"] if n["value"]] == [{**slot, "value": 2}]
    assert body["coverage"] == [] and body["uncovered"] == []
    assert len(body["suggested"]) == 2 and len({s["user_id"] for s in body["suggested"]}) == 2
    assert all(s["start"] == f"{at.hour:02d}:00" for s in body["suggested"])
    r = client.post(f"/api/v1/staff/roster/{week}/suggestion", json={"shifts": body["suggested"]}, headers=sup)
    assert r.status_code == 201, r.get_json()
    assert len(r.get_json()["added"]) == 2 and r.get_json()["refused"] == []
    again = client.get(f"/api/v1/staff/roster/{week}/demand", headers=sup).get_json()
    assert {**slot, "value": 2} in again["coverage"] and again["suggested"] == []
    # accepting the same again would book the same people twice: refused, naming the rule, nothing added
    r = client.post(f"/api/v1/staff/roster/{week}/suggestion", json={"shifts": body["suggested"]}, headers=sup)
    assert r.status_code == 201 and r.get_json()["added"] == []
    assert {rule for x in r.get_json()["refused"] for rule in x["rules"]} == {"double_booking"}
    assert client.get(f"/api/v1/staff/roster/{week}/demand", headers=auth("associate")).status_code == 403
