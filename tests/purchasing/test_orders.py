"""Purchase orders: approval by value limits and role, two-step over the head-office threshold, approved twice,
cancel with reason, the CSV sent to the supplier (en and zh-CN, formula-guarded)."""

from __future__ import annotations

import csv
import io

import pytest

from hub.kernel import settings
from hub.kernel.errors import Conflict, Forbidden, ValidationError
from hub.purchasing import orders, rules


def _po(conn, s, cases, key="k-1"):
    po, _ = orders.create(
        conn,
        supplier_id=s["supplier"]["id"],
        lines=[{"item_id": s["milk"]["id"], "cases": cases}],
        actor="sup-1",
        role="supervisor",
        idempotency_key=key,
    )
    return po


def test_approval_plan_rules():
    assert rules.approval_plan(100, supervisor_limit_minor=100, two_step_above_minor=1000) == rules.ApprovalPlan(
        1, "supervisor", None
    )
    assert rules.approval_plan(101, supervisor_limit_minor=100, two_step_above_minor=1000).first_role == "manager"
    assert rules.approval_plan(1001, supervisor_limit_minor=100, two_step_above_minor=1000) == rules.ApprovalPlan(
        2, "manager", "admin"
    )


def test_supervisor_limit_then_manager(hubctx, supplied):
    with hubctx.db.write() as conn:
        settings.put(conn, "purchasing.supervisor_limit_minor", 10_000)
        small = _po(conn, supplied, 1)  # 12 × 700 = 8,400
        assert small["total_minor"] == 8400 and small["lines"][0]["qty"] == 12
        big = _po(conn, supplied, 2, key="k-2")  # 16,800: above the supervisor's limit
        for po in (small, big):
            orders.submit(conn, po["id"], actor="sup-1", role="supervisor")
        assert orders.approve(conn, small["id"], actor="sup-2", role="supervisor")["status"] == "approved"
        with pytest.raises(Forbidden) as e:
            orders.approve(conn, big["id"], actor="sup-2", role="supervisor")
        assert e.value.code == "approval_limit" and e.value.details["needed"] == "manager"
        assert orders.approve(conn, big["id"], actor="mgr-1", role="manager")["status"] == "approved"
        with pytest.raises(Conflict) as e:
            orders.approve(conn, big["id"], actor="mgr-2", role="manager")
        assert e.value.code == "po_already_approved"
        approvals = orders.get(conn, big["id"])["approvals"]
        assert [a["approved_by"] for a in approvals] == ["mgr-1"]


def test_two_step_over_head_office_threshold(hubctx, supplied):
    with hubctx.db.write() as conn:
        settings.put(conn, "purchasing.supervisor_limit_minor", 1000)
        settings.put(conn, "purchasing.two_step_above_minor", 50_000)
        po = _po(conn, supplied, 10)  # 84,000
        orders.submit(conn, po["id"], actor="sup-1", role="supervisor")
        first = orders.approve(conn, po["id"], actor="mgr-1", role="manager")
        assert first["status"] == "pending_approval" and len(first["approvals"]) == 1
        with pytest.raises(Conflict) as e:
            orders.approve(conn, po["id"], actor="mgr-1", role="manager")
        assert e.value.code == "po_already_approved_by_you"
        with pytest.raises(Forbidden) as e:
            orders.approve(conn, po["id"], actor="mgr-2", role="manager")
        assert e.value.details == {"needed": "admin", "have": "manager", "step": 2, "total_minor": 84000}
        assert orders.approve(conn, po["id"], actor="ho-1", role="admin")["status"] == "approved"
        steps = [
            r[0]
            for r in conn.execute(
                "SELECT json_extract(payload, '$.step') FROM outbox WHERE kind = 'po.step' ORDER BY seq"
            )
        ]
        assert steps == ["created", "submitted", "approved", "approved"]
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'po.approved' AND target = ?", (po["id"],)
            ).fetchone()[0]
            == 2
        )


def test_create_is_idempotent_and_checks_lines(hubctx, supplied):
    with hubctx.db.write() as conn:
        a = _po(conn, supplied, 1)
        again, created = orders.create(
            conn,
            supplier_id=supplied["supplier"]["id"],
            lines=[{"item_id": supplied["milk"]["id"], "cases": 1}],
            actor="sup-1",
            role="supervisor",
            idempotency_key="k-1",
        )
        assert again["id"] == a["id"] and not created
        with pytest.raises(Forbidden):
            orders.create(
                conn,
                supplier_id=supplied["supplier"]["id"],
                lines=[{"item_id": supplied["milk"]["id"], "qty": 1}],
                actor="a",
                role="associate",
                idempotency_key="k-9",
            )
        from hub.kernel.errors import Unprocessable

        with pytest.raises(Unprocessable) as e:
            orders.create(
                conn,
                supplier_id=supplied["supplier"]["id"],
                lines=[{"item_id": supplied["apples"]["id"], "qty": 1000}],
                actor="s",
                role="supervisor",
                idempotency_key="k-10",
            )
        assert e.value.code == "item_not_from_supplier"


def test_cancel_needs_reason_and_status(hubctx, supplied):
    with hubctx.db.write() as conn:
        po = _po(conn, supplied, 1)
        with pytest.raises(ValidationError):
            orders.cancel(conn, po["id"], reason="  ", actor="sup-1", role="supervisor")
        out = orders.cancel(conn, po["id"], reason="supplier out of stock", actor="sup-1", role="supervisor")
        assert out["status"] == "cancelled" and out["cancel_reason"] == "supplier out of stock"
        with pytest.raises(Conflict) as e:
            orders.submit(conn, po["id"], actor="sup-1", role="supervisor")
        assert e.value.code == "po_wrong_status"


def test_csv_in_both_languages(hubctx, supplied):
    with hubctx.db.write() as conn:
        conn.execute("UPDATE suppliers SET name = '=HYPERLINK(\"x\")' WHERE id = ?", (supplied["supplier"]["id"],))
        po = _po(conn, supplied, 2)
        en = list(csv.reader(io.StringIO(orders.to_csv(conn, po["id"], lang="en"))))
        zh = list(csv.reader(io.StringIO(orders.to_csv(conn, po["id"], lang="zh-CN"))))
    assert en[0] == ["Purchase order", po["number"]] and zh[0] == ["采购订单", po["number"]]
    assert en[1][2].startswith("'=")  # formula guard
    line_en = en[7]
    assert line_en[1] == "MILK-1L" and line_en[3] == "Milk 1L" and line_en[4] == "2" and line_en[6] == "24"
    assert line_en[8] == "7.00" and line_en[9] == "168.00" and en[-1][-1] == "168.00"
    assert zh[7][3] == "牛奶 1升" and zh[6][0] == "行"
