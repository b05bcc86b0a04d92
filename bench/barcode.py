"""Barcode benchmark (issue "Hub core", barcode resolution and catalog CSV).

In-process figures, no HTTP (bench/api.py measures the HTTP lookup under gunicorn):
* ``parse_ean13_per_s``, ``parse_gs1_per_s``, ``parse_digital_link_per_s``: hub.identify.barcode.parse throughput.
* ``resolve_p50_ms`` / ``resolve_p99_ms``: hub.identify.resolve.resolve (parse + indexed lookups + stock) over a
  catalog of 50,000 items, random known EAN-13s and variable-measure labels.
* ``csv_import_rows_per_s`` / ``csv_export_rows_per_s``: catalog CSV import (validate + apply) and export.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biip.checksums import gs1_standard_check_digit  # noqa: E402

from hub.identify import resolve as scan
from hub.identify.barcode import ParseOptions, parse  # noqa: E402
from hub.inventory import catalog_csv  # noqa: E402
from hub.kernel import settings
from hub.store import database  # noqa: E402

N_ITEMS = 50_000


def gtin13(n: int) -> str:
    body = f"690{n:09d}"
    return body + str(gs1_standard_check_digit(body))


def rate(fn, code: str, seconds: float = 1.5) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            fn(code)
        n += 200
    return n / (time.perf_counter() - t0)


def csv_text(n: int) -> str:
    buf = io.StringIO()
    buf.write(",".join(catalog_csv.COLUMNS) + "\n")
    for i in range(n):
        kg = i % 10 == 0
        buf.write(
            f"SKU-{i:06d},Item {i},商品 {i},Brand,Grocery,{'kg' if kg else 'each'},{100 + i},{50 + i},"
            f"{gtin13(i)},{'true' if kg else 'false'},{i if kg else ''},0,0,,true\n"
        )
    return buf.getvalue()


def main() -> None:
    opts = ParseOptions(region="CN")
    out: dict[str, float] = {}
    out["parse_ean13_per_s"] = round(rate(lambda c: parse(c, opts), "5901234123457"))
    out["parse_gs1_per_s"] = round(
        rate(lambda c: parse(c, opts), "]C101095011015310003103000750\x1d3922000349\x1d10LOT1")
    )
    out["parse_digital_link_per_s"] = round(
        rate(lambda c: parse(c, opts), "https://id.gs1.org/01/09506000134352/10/ABC?17=270630")
    )

    with tempfile.TemporaryDirectory() as d:
        db = database(Path(d) / "hub.db")
        db.migrate()
        text = csv_text(N_ITEMS)
        t0 = time.perf_counter()
        plan = catalog_csv.plan_import(db.read(), text)
        assert plan.ok, plan.errors[:3]
        with db.write() as conn:
            res = catalog_csv.apply_plan(conn, plan, actor="bench")
        out["csv_import_rows_per_s"] = round(res.created / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        n = catalog_csv.export_csv(db.read(), io.StringIO())
        out["csv_export_rows_per_s"] = round(n / (time.perf_counter() - t0))

        conn = db.read()
        rnd = random.Random(7)
        codes = [gtin13(rnd.randrange(N_ITEMS)) for _ in range(4000)]
        # CN price labels: 2-digit flag, 5-digit PLU, 5-digit price (PLUs are on every 10th item)
        for _ in range(1000):
            plu = rnd.randrange(0, N_ITEMS, 10)
            if plu >= 100_000:
                continue
            body = f"22{plu:05d}{rnd.randrange(1, 99999):05d}"
            codes.append(body + str(gs1_standard_check_digit(body)))
        rnd.shuffle(codes)
        lat = []
        for c in codes:
            t = time.perf_counter()
            r = scan.resolve(conn, c, settings=settings.get_all(conn))
            lat.append((time.perf_counter() - t) * 1000)
            assert r.kind == "item"
        lat.sort()
        out["resolve_p50_ms"] = round(lat[len(lat) // 2], 3)
        out["resolve_p99_ms"] = round(lat[int(len(lat) * 0.99)], 3)
        out["resolve_count"] = len(lat)
        out["catalog_items"] = N_ITEMS
        db.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
