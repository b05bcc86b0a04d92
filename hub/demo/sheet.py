"""A printable sheet of the demo store's own barcodes, so a newcomer can try a real scanner on day one.

``storehub demo`` writes ``<data dir>/demo-barcodes.html`` (one self-contained page, SVG barcodes drawn by
python-barcode at sizes a hand scanner reads from paper: EAN-13 at the nominal 0.33 mm module, Code 128 at
0.25 mm, each with its quiet zones). It holds items' GTINs (EAN-13), a variable-measure price label from the
produce scale (EAN-13, CN layout ``20 IIIII VVVVV K``), location labels ``SHL-``, staff badges ``SHB-`` and an
order's hand-over code ``SHO-`` (Code 128), each with what the hub makes of it. Every code states what the
scan resolver (``hub.identify.resolve.resolve``) answers for it in ``data-expect``; tests/demo checks that it does.
"""

from __future__ import annotations

import html
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import barcode
from barcode.writer import SVGWriter

from hub.demo.data import check_digit
from hub.kernel import settings
from hub.store import open_db

FILE_NAME = "demo-barcodes.html"
SECTIONS = (
    ("item", "商品 Items — scan in Lookup, Count or Pick"),
    ("location", "货位标签 Location labels — scan to pick a bin when counting or picking"),
    ("badge", "员工工牌 Staff badges — scan on the login or lock screen"),
    ("order", "订单交接码 Order hand-over — scan on the Orders screen"),
)
# Module widths in mm: EAN-13's nominal X-dimension, and a Code 128 that fits three to an A4 row.
WRITER = {
    "ean13": {"module_width": 0.33, "module_height": 18.0, "quiet_zone": 3.7, "font_size": 9, "text_distance": 3.5},
    "code128": {"module_width": 0.25, "module_height": 12.0, "quiet_zone": 2.5, "font_size": 8, "text_distance": 3.5},
}
PRICE_LABEL_GRAMS = 500


@dataclass(frozen=True)
class Code:
    kind: str  # what the scan resolver answers: item | location | badge | order
    value: str  # what the scanner sends
    symbology: str  # ean13 | code128
    title: str  # what it is, for people
    expect: dict[str, Any] = field(default_factory=dict)  # the resolver's answer (see tests/demo)


def price_label(plu: str, price_fen: int) -> str:
    """A produce scale's EAN-13 in the CN layout: 20, the 5-digit PLU, the 5-digit price in fen, check digit."""
    body = f"20{int(plu):05d}{price_fen:05d}"
    return body + check_digit(body)


def _items(conn: sqlite3.Connection) -> list[Code]:
    out = []
    for category, n in (("grocery", 3), ("household", 1), ("apparel", 1)):
        for r in conn.execute(
            "SELECT i.sku, i.name_zh, i.name_en, g.gtin FROM items i JOIN item_gtins g ON g.item_id = i.id"
            " WHERE i.category = ? AND i.active = 1 AND g.gtin LIKE '0%' ORDER BY i.sku LIMIT ?",
            (category, n),
        ):
            # stored as GTIN-14; a GTIN-13 (indicator 0) is printed as the EAN-13 on the pack
            out.append(
                Code("item", r["gtin"][1:], "ean13", f"{r['name_zh']} {r['name_en']}", {"sku": r["sku"], "qty": 1})
            )
    # the first produce item whose per-kg price makes a 500 g label an exact amount in fen
    for r in conn.execute(
        "SELECT sku, name_zh, name_en, plu, price_minor FROM items WHERE variable_measure = 1"
        " AND active = 1 AND plu IS NOT NULL ORDER BY sku"
    ):
        if r["price_minor"] * PRICE_LABEL_GRAMS % 1000 == 0:
            price = r["price_minor"] * PRICE_LABEL_GRAMS // 1000
            out.append(
                Code(
                    "item",
                    price_label(r["plu"], price),
                    "ean13",
                    f"{r['name_zh']} {r['name_en']}: scale label ¥{price / 100:.2f} = {PRICE_LABEL_GRAMS} g",
                    {"sku": r["sku"], "qty": PRICE_LABEL_GRAMS, "weight_g": PRICE_LABEL_GRAMS},
                )
            )
            break
    return out


def _locations(conn: sqlite3.Connection) -> list[Code]:
    out = []
    for kind in ("aisle", "bay", "bin"):
        rows = conn.execute("SELECT code, name FROM locations WHERE kind = ? ORDER BY walk_seq, code LIMIT 2", (kind,))
        out += [
            Code("location", f"SHL-{r['code']}", "code128", f"{r['name']} ({kind})", {"location": r["code"]})
            for r in rows
        ]
    return out


def _orders(conn: sqlite3.Connection) -> list[Code]:
    r = conn.execute(
        "SELECT ref, customer_name, channel, fulfilment FROM orders WHERE status NOT IN"
        " ('cancelled', 'returned') ORDER BY created_at, ref LIMIT 1"
    ).fetchone()
    if r is None:
        return []
    return [
        Code(
            "order",
            f"SHO-{r['ref']}",
            "code128",
            f"Order {r['ref']}: {r['customer_name']} ({r['channel']}, {r['fulfilment']})",
            {"order_ref": r["ref"]},
        )
    ]


def sheet_codes(conn: sqlite3.Connection, staff: Iterable[tuple[str, str, str]]) -> list[Code]:
    """Every code on the sheet; ``staff`` is (badge, display name, role) of the demo staff."""
    badges = [
        Code("badge", f"SHB-{badge}", "code128", f"{name} ({role})", {"badge": badge}) for badge, name, role in staff
    ]
    return [*_items(conn), *_locations(conn), *badges, *_orders(conn)]


def svg(code: Code) -> str:
    """The code as an inline SVG element (python-barcode's document without its XML prolog)."""
    symbol = barcode.get(code.symbology, code.value, writer=SVGWriter())
    doc = symbol.render(WRITER[code.symbology]).decode("utf-8")
    return doc[doc.index("<svg") :]


_STYLE = """
@page { size: A4; margin: 12mm }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 0 auto; max-width: 190mm }
h1 { font-size: 15pt } h2 { font-size: 12pt; margin: 6mm 0 2mm; break-after: avoid }
p { font-size: 10pt }
.codes { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4mm }
figure { margin: 0; padding: 2mm; border: 1px dashed #999; break-inside: avoid; text-align: center }
figure svg { max-width: 100% }
figcaption { font-size: 9pt; line-height: 1.3 }
figcaption b { font-family: monospace; font-size: 10pt }
"""


def render_html(codes: list[Code], store_name: str) -> str:
    parts = [
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{html.escape(store_name)} — 扫码练习 Barcodes to scan</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(store_name)} — 扫码练习单 Barcodes to try with a scanner</h1>",
        "<p>Print this page at 100 % (no “fit to page”). Log in on a handheld with a badge below, then scan "
        "items in Lookup or a count, a location label to choose a bin, and the order code on the Orders "
        "screen. 打印时请选择 100% 比例。</p>",
    ]
    for kind, heading in SECTIONS:
        group = [c for c in codes if c.kind == kind]
        if not group:
            continue
        parts.append(f"<h2>{html.escape(heading)}</h2><div class='codes'>")
        for c in group:
            parts.append(
                f"<figure data-kind='{c.kind}' data-code='{html.escape(c.value, quote=True)}' "
                f"data-symbology='{c.symbology}' data-expect='{html.escape(json.dumps(c.expect), quote=True)}'>"
                f"{svg(c)}<figcaption><b>{html.escape(c.value)}</b><br>{html.escape(c.title)}</figcaption>"
                f"</figure>"
            )
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_sheet(conn: sqlite3.Connection, data_dir: Path, staff: Iterable[tuple[str, str, str]]) -> Path:
    """Write the sheet into the data directory (replacing an older one); returns its path."""
    path = Path(data_dir) / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_html(sheet_codes(conn, staff), settings.get(conn, "store_name")), encoding="utf-8")
    tmp.replace(path)
    return path


def demo_staff(demo_users: Iterable[tuple]) -> list[tuple[str, str, str]]:
    """(badge, display name, role) of ``hub.demo.runner.DEMO_USERS`` (username, role, name, PIN, password): the
    demo gives each the badge ``DEMO-<USERNAME>``."""
    return [(f"DEMO-{username.upper()}", name, role) for username, role, name, *_ in demo_users]


def write_demo_sheet(data_dir: Path, demo_users: Iterable[tuple]) -> Path:
    """``storehub demo``'s hook: the sheet of the seeded store (call it after the domains' demos seeded orders)."""
    _cfg, db = open_db(data_dir)
    try:
        return write_sheet(db.read(), data_dir, demo_staff(demo_users))
    finally:
        db.close()
