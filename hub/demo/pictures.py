"""Pictures for a handful of demo items, drawn with Pillow when the demo store is seeded, so a newcomer sees item
pictures in lookup, counting and picking. Each goes through the same path as an upload
(:func:`hub.inventory.pictures.prepare` then ``attach``): a drawn PNG, checked, resized and stored as WebP."""

from __future__ import annotations

import io

from hub.inventory import catalog, pictures
from hub.kernel.db import Database

# (SKU from hub.demo.data.catalog_rows, shape, main colour, label colour, words on the label)
DEMO_PICTURES: tuple[tuple[str, str, tuple[int, int, int], tuple[int, int, int], str], ...] = (
    ("GR-00000", "bag", (236, 226, 200), (176, 38, 38), "RICE"),
    ("GR-00010", "bottle", (70, 40, 25), (214, 160, 40), "SOY"),
    ("GR-00110", "carton", (245, 245, 250), (40, 110, 200), "MILK"),
    ("GR-00120", "cup", (250, 250, 250), (220, 80, 120), "YOG"),
    ("GR-00140", "bottle", (190, 225, 245), (30, 120, 190), "H2O"),
    ("GR-00080", "box", (60, 140, 70), (240, 230, 190), "TEA"),
    ("PR-000", "fruit", (200, 30, 40), (60, 140, 50), ""),
    ("PR-002", "banana", (245, 205, 40), (120, 90, 30), ""),
)
SIZE = 640


def draw(shape: str, main: tuple[int, int, int], accent: tuple[int, int, int], word: str) -> bytes:
    """A simple product drawing as PNG bytes (a soft background, the package, a label with a word)."""
    # Pillow only while seeding the demo (see hub.inventory.pictures.prepare for why it is not imported at start)
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (SIZE, SIZE), (238, 242, 247))
    d = ImageDraw.Draw(img)
    d.ellipse((90, 520, 550, 600), fill=(214, 220, 230))  # shadow
    if shape == "bottle":
        d.rounded_rectangle((270, 70, 370, 160), 18, fill=main)
        d.rounded_rectangle((260, 40, 380, 90), 12, fill=accent)
        d.rounded_rectangle((200, 140, 440, 560), 60, fill=main)
        label = (200, 290, 440, 420)
    elif shape == "carton":
        d.polygon([(200, 170), (320, 80), (440, 170)], fill=(220, 225, 235))
        d.rectangle((200, 170, 440, 560), fill=main)
        label = (200, 300, 440, 440)
    elif shape == "cup":
        d.polygon([(180, 220), (460, 220), (420, 560), (220, 560)], fill=main)
        d.rounded_rectangle((170, 190, 470, 235), 10, fill=accent)
        label = (205, 320, 435, 440)
    elif shape == "bag":
        d.rounded_rectangle((160, 110, 480, 570), 50, fill=main)
        d.rectangle((190, 90, 450, 130), fill=accent)
        label = (190, 300, 450, 440)
    elif shape == "box":
        d.rectangle((170, 130, 470, 560), fill=main)
        d.polygon([(170, 130), (230, 80), (530, 80), (470, 130)], fill=tuple(min(255, c + 40) for c in main))
        d.polygon([(470, 130), (530, 80), (530, 510), (470, 560)], fill=tuple(max(0, c - 30) for c in main))
        label = (190, 290, 450, 420)
    elif shape == "banana":
        d.pieslice((110, 60, 560, 560), 20, 160, fill=main)
        d.pieslice((170, 60, 500, 440), 20, 160, fill=(238, 242, 247))
        d.rounded_rectangle((528, 360, 556, 400), 6, fill=accent)  # the stem at the right tip
        label = None
    else:  # fruit
        d.ellipse((150, 150, 490, 540), fill=main)
        d.ellipse((210, 210, 290, 290), fill=tuple(min(255, c + 70) for c in main))
        d.rectangle((312, 95, 328, 170), fill=(110, 70, 30))
        d.ellipse((330, 95, 430, 150), fill=accent)
        label = None
    if label and word:
        d.rounded_rectangle(label, 16, fill=accent)
        font = ImageFont.load_default(size=84)
        cx, cy = (label[0] + label[2]) / 2, (label[1] + label[3]) / 2
        ink = (255, 255, 255) if sum(accent) < 450 else (30, 30, 30)
        d.text((cx, cy), word, fill=ink, font=font, anchor="mm")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def seed_pictures(db: Database) -> int:
    """Give the demo items of :data:`DEMO_PICTURES` their pictures (those that exist and have none). Returns how
    many got one."""
    todo = []
    conn = db.read()
    for sku, shape, main, accent, word in DEMO_PICTURES:
        item = catalog.get_item_by_sku(conn, sku)
        if item is not None and not item.get("picture_sha256"):
            todo.append((item["id"], pictures.prepare(draw(shape, main, accent, word))))
    if todo:
        with db.write() as c:
            for item_id, picture in todo:
                pictures.attach(c, item_id, picture, actor="system:demo")
    return len(todo)
