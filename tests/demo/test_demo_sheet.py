"""The demo's printable barcode sheet: every code on it scans (decoded from the SVG the page draws, by the
zxing-cpp decoder) to the value it shows, and the hub's scan resolver answers for that value what the sheet says:
the item (and the weight of the scale label), the location, the badge (which logs its person in) and the order."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from hub.auth import users
from hub.demo import sheet
from hub.demo.runner import DEMO_USERS, seed_store
from hub.identify.resolve import resolve
from hub.kernel import settings
from hub.orders.demo import seed_orders
from hub.store import open_db

PX_PER_MM = 40


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []
        self._svg: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure":
            self.figures.append(
                {
                    "code": a["data-code"],
                    "kind": a["data-kind"],
                    "symbology": a["data-symbology"],
                    "expect": json.loads(a["data-expect"]),
                    "rects": [],
                }
            )
        elif tag == "rect" and "fill:black" in (a.get("style") or ""):
            self.figures[-1]["rects"].append(
                tuple(float(a[k].removesuffix("mm")) for k in ("x", "y", "width", "height"))
            )
        elif tag == "svg":
            self.figures[-1]["size"] = tuple(float(a[k].removesuffix("mm")) for k in ("width", "height"))


def _scan(fig: dict) -> list[tuple[str, str]]:
    """Rasterise the SVG's bars and read them as a scanner would: (format, text) of what is found."""
    w, h = fig["size"]
    img = Image.new("L", (int(w * PX_PER_MM) + 1, int(h * PX_PER_MM) + 1), 255)
    draw = ImageDraw.Draw(img)
    for x, y, bw, bh in fig["rects"]:
        draw.rectangle(
            [
                round(x * PX_PER_MM),
                round(y * PX_PER_MM),
                round((x + bw) * PX_PER_MM) - 1,
                round((y + bh) * PX_PER_MM) - 1,
            ],
            fill=0,
        )
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(img)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    seed_store(data_dir, "demo-sh-001")
    cfg, db = open_db(data_dir)
    seed_orders(db)
    path = sheet.write_demo_sheet(data_dir, DEMO_USERS)
    yield {"db": db, "cfg": cfg, "path": path}
    db.close()


def test_the_sheet_has_every_kind_of_code(demo):
    assert demo["path"].name == "demo-barcodes.html"
    p = _Figures()
    p.feed(demo["path"].read_text(encoding="utf-8"))
    kinds = [f["kind"] for f in p.figures]
    assert {"item", "location", "badge", "order"} <= set(kinds) and kinds.count("badge") == len(DEMO_USERS)
    assert any(f["code"].startswith("20") and f["expect"].get("weight_g") for f in p.figures)  # a scale label


def test_every_code_on_the_sheet_scans_and_resolves_to_what_it_says(demo):
    p = _Figures()
    p.feed(demo["path"].read_text(encoding="utf-8"))
    conn = demo["db"].read()
    opts = settings.get_all(conn)
    for fig in p.figures:
        fmt = {"ean13": "EAN13", "code128": "Code128"}[fig["symbology"]]
        assert _scan(fig) == [(fmt, fig["code"])], fig["code"]
        res = resolve(conn, fig["code"], settings=opts, with_stock=False)
        want = fig["expect"]
        assert res.kind == fig["kind"], fig["code"]
        if res.kind == "item":
            assert res.item["sku"] == want["sku"] and res.qty == want["qty"], fig["code"]
            assert res.weight_g == want.get("weight_g"), fig["code"]
        elif res.kind == "location":
            assert res.location["code"] == want["location"]
        elif res.kind == "order":
            assert res.order_ref == want["order_ref"]
            assert conn.execute("SELECT 1 FROM orders WHERE ref = ?", (res.order_ref,)).fetchone()
        else:
            assert res.badge == want["badge"]
            with demo["db"].write() as w:  # the badge logs its person in
                user = users.authenticate(w, secret_key=demo["cfg"].secret_key(), badge=res.badge)
            assert re.fullmatch(f"DEMO-{user['username'].upper()}", res.badge)
