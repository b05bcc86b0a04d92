"""Seed data for the demo supermarket: bilingual catalog, location tree, opening stock.

Deterministic (fixed random seed) so two demo runs look the same. GTINs use the
GS1 China prefix range 690–699 with valid check digits; produce sold by weight
carries a PLU and an in-store variable-measure base GTIN (prefix 2)."""

from __future__ import annotations

import random

from hub.inventory import catalog, ledger, locations
from hub.inventory.ledger import MovementRequest
from hub.kernel.db import Database

GROCERY = [
    ("Jasmine Rice", "茉莉香米", [("1kg", 1290), ("2.5kg", 2990), ("5kg", 5490)]),
    ("Soy Sauce", "酱油", [("500ml", 890), ("1L", 1590)]),
    ("Dark Soy Sauce", "老抽", [("500ml", 990)]),
    ("Rice Vinegar", "米醋", [("500ml", 790)]),
    ("Sesame Oil", "芝麻油", [("250ml", 1890), ("500ml", 3290)]),
    ("Peanut Oil", "花生油", [("1.8L", 4590), ("5L", 10990)]),
    ("Instant Noodles", "方便面", [("single", 350), ("5-pack", 1590)]),
    ("Dried Noodles", "挂面", [("500g", 690), ("1kg", 1190)]),
    ("Green Tea", "绿茶", [("100g", 2890), ("250g", 5990)]),
    ("Oolong Tea", "乌龙茶", [("100g", 3290)]),
    ("Jasmine Tea", "茉莉花茶", [("100g", 2490)]),
    ("Milk", "纯牛奶", [("250ml", 350), ("1L", 1290)]),
    ("Yogurt", "酸奶", [("200g", 590), ("4x100g", 1290)]),
    ("Soy Milk", "豆奶", [("250ml", 300), ("1L", 990)]),
    ("Mineral Water", "矿泉水", [("550ml", 200), ("1.5L", 400), ("12x550ml", 2200)]),
    ("Cola", "可乐", [("330ml", 300), ("2L", 790)]),
    ("Orange Juice", "橙汁", [("1L", 1590)]),
    ("Biscuits", "饼干", [("100g", 590), ("300g", 1390)]),
    ("Sunflower Seeds", "瓜子", [("250g", 1090)]),
    ("Chocolate", "巧克力", [("100g", 1290)]),
    ("Potato Chips", "薯片", [("70g", 690), ("150g", 1190)]),
    ("Frozen Dumplings", "速冻水饺", [("500g", 1890), ("1kg", 3290)]),
    ("Tofu", "豆腐", [("400g", 450)]),
    ("Eggs", "鸡蛋", [("10 pcs", 1290), ("30 pcs", 3490)]),
    ("Bread", "面包", [("400g", 990)]),
    ("Oyster Sauce", "蚝油", [("500g", 1290)]),
    ("Chili Sauce", "辣椒酱", [("280g", 990)]),
    ("Salt", "食盐", [("400g", 250)]),
    ("Sugar", "白砂糖", [("500g", 590)]),
    ("Flour", "面粉", [("1kg", 890), ("5kg", 3490)]),
    ("Coffee", "咖啡", [("200g", 4590)]),
    ("Canned Fish", "鱼罐头", [("180g", 1190)]),
]
HOUSEHOLD = [
    ("Dish Soap", "洗洁精", [("500ml", 990), ("1.5L", 1990)]),
    ("Laundry Detergent", "洗衣液", [("1kg", 2490), ("3kg", 5990)]),
    ("Toilet Paper", "卷纸", [("10 rolls", 2990), ("24 rolls", 5990)]),
    ("Tissues", "抽纸", [("3 packs", 1290)]),
    ("Shampoo", "洗发水", [("400ml", 3990)]),
    ("Toothpaste", "牙膏", [("120g", 1290)]),
    ("Toothbrush", "牙刷", [("2 pcs", 1590)]),
    ("Trash Bags", "垃圾袋", [("50 pcs", 1190)]),
    ("Sponges", "海绵", [("5 pcs", 890)]),
    ("Batteries AA", "5号电池", [("4 pcs", 1990)]),
    ("Light Bulb", "灯泡", [("LED 9W", 1590)]),
    ("Hand Soap", "洗手液", [("300ml", 1490)]),
]
APPAREL = [
    ("T-Shirt", "T恤", ["S", "M", "L", "XL"], 5900),
    ("Socks", "袜子", ["S", "M", "L"], 1500),
    ("Hoodie", "卫衣", ["S", "M", "L", "XL"], 12900),
    ("Jeans", "牛仔裤", ["28", "30", "32", "34", "36"], 15900),
    ("Cap", "帽子", ["One size"], 3900),
    ("Slippers", "拖鞋", ["38", "40", "42", "44"], 2900),
]
COLOURS = [("Black", "黑色"), ("White", "白色"), ("Navy", "藏青"), ("Grey", "灰色"), ("Red", "红色")]
PRODUCE = [
    ("Apples", "苹果", 1290),
    ("Pears", "梨", 990),
    ("Bananas", "香蕉", 790),
    ("Oranges", "橙子", 1190),
    ("Grapes", "葡萄", 1990),
    ("Mandarins", "砂糖橘", 1090),
    ("Tomatoes", "西红柿", 690),
    ("Cucumbers", "黄瓜", 590),
    ("Potatoes", "土豆", 390),
    ("Carrots", "胡萝卜", 390),
    ("Bok Choy", "小白菜", 490),
    ("Napa Cabbage", "大白菜", 290),
    ("Onions", "洋葱", 350),
    ("Garlic", "大蒜", 1190),
    ("Ginger", "生姜", 1290),
    ("Mushrooms", "香菇", 1990),
    ("Pork Belly", "五花肉", 3290),
    ("Chicken Thighs", "鸡腿", 1890),
    ("Beef Brisket", "牛腩", 6890),
    ("Shrimp", "虾", 5990),
    ("Grass Carp", "草鱼", 1690),
    ("Watermelon", "西瓜", 290),
]
BRANDS = [
    ("Golden Field", "金田"),
    ("Harmony", "和谐"),
    ("Blue River", "蓝河"),
    ("Sunrise", "旭日"),
    ("Jade Hill", "玉山"),
    ("East Star", "东星"),
    ("Lotus", "莲花"),
    ("Happy Home", "乐家"),
    ("Great Wall", "长城"),
    ("Pearl", "明珠"),
    ("Silk Road", "丝路"),
    ("Red Lantern", "红灯笼"),
]


def check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def gtin13(company: int, item: int) -> str:
    body = f"69{company:05d}{item:05d}"
    return body + check_digit(body)


def build_locations(db: Database) -> list[dict]:
    """Areas, aisles and bins with a walk order that snakes through the store."""
    bins = []
    with db.write() as conn:
        store = locations.get_by_code(conn, "STORE")
        floor = locations.create(
            conn,
            code="FLOOR",
            name="卖场 Sales floor",
            kind="area",
            parent_id=store["id"],
            walk_seq=100,
            actor="system:demo",
            audit_it=False,
        )
        back = locations.create(
            conn,
            code="BACK",
            name="仓库 Backroom",
            kind="area",
            parent_id=store["id"],
            walk_seq=5000,
            actor="system:demo",
            audit_it=False,
        )
        seq = 100
        for a in range(1, 13):
            aisle = locations.create(
                conn,
                code=f"A{a:02d}",
                name=f"{a}号通道 Aisle {a}",
                kind="aisle",
                parent_id=floor["id"],
                walk_seq=seq,
                actor="system:demo",
                audit_it=False,
            )
            bays = range(1, 7) if a % 2 else range(6, 0, -1)  # serpentine walk
            for b in bays:
                seq += 10
                bay = locations.create(
                    conn,
                    code=f"A{a:02d}-{b:02d}",
                    name=f"Aisle {a} bay {b}",
                    kind="bay",
                    parent_id=aisle["id"],
                    walk_seq=seq,
                    actor="system:demo",
                    audit_it=False,
                )
                for s in range(1, 5):
                    seq += 1
                    bins.append(
                        locations.create(
                            conn,
                            code=f"A{a:02d}-{b:02d}-{s}",
                            name=f"A{a} bay {b} shelf {s}",
                            kind="bin",
                            parent_id=bay["id"],
                            walk_seq=seq,
                            actor="system:demo",
                            audit_it=False,
                        )
                    )
        for r in range(1, 5):
            rack = locations.create(
                conn,
                code=f"R{r:02d}",
                name=f"Backroom rack {r}",
                kind="aisle",
                parent_id=back["id"],
                walk_seq=5000 + r * 10,
                actor="system:demo",
                audit_it=False,
            )
            for s in range(1, 6):
                locations.create(
                    conn,
                    code=f"R{r:02d}-{s}",
                    name=f"Rack {r} shelf {s}",
                    kind="bin",
                    parent_id=rack["id"],
                    walk_seq=5000 + r * 10 + s,
                    actor="system:demo",
                    audit_it=False,
                )
    return bins


def catalog_rows() -> list[dict]:
    rows: list[dict] = []
    n = 0

    def add(**kw):
        nonlocal n
        n += 1
        rows.append(kw)

    for bi, (brand_en, brand_zh) in enumerate(BRANDS):
        for pi, (en, zh, sizes) in enumerate(GROCERY):
            for si, (size, price) in enumerate(sizes):
                p = price + (bi * 37) % 300
                add(
                    sku=f"GR-{bi:02d}{pi:02d}{si}",
                    name_en=f"{brand_en} {en} {size}",
                    name_zh=f"{brand_zh}{zh} {size}",
                    brand=brand_en,
                    category="grocery",
                    unit="each",
                    price_minor=p,
                    cost_minor=p * 68 // 100,
                    gtins=[gtin13(10000 + bi, pi * 10 + si)],
                    safety_stock=6,
                    reorder_point=12,
                )
        for pi, (en, zh, sizes) in enumerate(HOUSEHOLD):
            for si, (size, price) in enumerate(sizes):
                p = price + (bi * 53) % 400
                add(
                    sku=f"HH-{bi:02d}{pi:02d}{si}",
                    name_en=f"{brand_en} {en} {size}",
                    name_zh=f"{brand_zh}{zh} {size}",
                    brand=brand_en,
                    category="household",
                    unit="each",
                    price_minor=p,
                    cost_minor=p * 60 // 100,
                    gtins=[gtin13(20000 + bi, pi * 10 + si)],
                    safety_stock=4,
                    reorder_point=8,
                )
        for pi, (en, zh, sizes, price) in enumerate(APPAREL):
            for ci, (col_en, col_zh) in enumerate(COLOURS):
                for si, size in enumerate(sizes):
                    add(
                        sku=f"AP-{bi:02d}{pi:02d}{ci}{si}",
                        name_en=f"{brand_en} {en} {col_en} {size}",
                        name_zh=f"{brand_zh}{zh} {col_zh} {size}",
                        brand=brand_en,
                        category="apparel",
                        unit="each",
                        price_minor=price,
                        cost_minor=price * 45 // 100,
                        gtins=[gtin13(30000 + bi, pi * 1000 + ci * 100 + si)],
                        safety_stock=2,
                        reorder_point=4,
                    )
    for pi, (en, zh, per_kg) in enumerate(PRODUCE):
        plu = f"{4000 + pi}"
        base = f"20{int(plu):05d}00000"  # in-store label with the value zeroed
        add(
            sku=f"PR-{pi:03d}",
            name_en=f"{en} (per kg)",
            name_zh=f"{zh}(按公斤)",
            brand="",
            category="produce",
            unit="kg",
            price_minor=per_kg,
            cost_minor=per_kg * 55 // 100,
            variable_measure=True,
            plu=plu,
            gtins=[base + check_digit(base)],
            safety_stock=2000,
            reorder_point=5000,
        )
    return rows


def seed_catalog(db: Database, *, stock: bool = True) -> int:
    rng = random.Random(2026)
    bins = build_locations(db)
    rows = catalog_rows()
    with db.write() as conn:
        items = [catalog.create_item(conn, r, actor="system:demo", audit_it=False) for r in rows]
        if stock:
            for i, item in enumerate(items):
                loc = bins[i % len(bins)]
                qty = rng.randint(5_000, 40_000) if item["unit"] == "kg" else rng.randint(0, 60)
                if qty:
                    ledger.post(
                        conn,
                        MovementRequest(
                            "receive",
                            item["id"],
                            loc["id"],
                            qty,
                            "opening stock",
                            "system:demo",
                            f"demo-open-{item['sku']}",
                        ),
                    )
    return len(rows)
