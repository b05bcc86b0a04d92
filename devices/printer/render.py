"""Blocks → ESC/POS bytes with python-escpos (rendered on ``Dummy``, sent in one write).

Text: ASCII/Latin through code page PC437 (``ESC t 0``, as python-escpos emits it); when the printer is set
up for Chinese (``cjk=True``; most printers sold in China) CJK text is sent as GB18030 inside Kanji mode
(``FS &`` … ``FS .``). Double size is ``GS !`` (it enlarges Kanji too; ``ESC !`` would leave Chinese small).
Barcodes use the printer's own renderer (``GS k``: EAN-13 as function A m=2, NUL-terminated; Code 128 as
function B m=73) with a module width (``GS w``) that keeps the symbol and its quiet zones on the paper
(``width`` columns × 12 dots in font A) and QR codes the native ``GS ( k`` commands.
"""

from __future__ import annotations

import contextlib
import io

from escpos.printer import Dummy

from devices.printer.documents import Block

FS_KANJI_ON, FS_KANJI_OFF = b"\x1c&", b"\x1c."
GS_SIZE = {1: b"\x1d!\x00", 2: b"\x1d!\x11"}
DOTS_PER_COLUMN = 12  # font A is 12 × 24 dots
QUIET_MODULES = 20  # 10 modules of white either side, so a scanner finds the symbol


def barcode_modules(symbology: str, value: str) -> int:
    """Modules (narrowest bar widths) of a symbol, quiet zones excluded."""
    if symbology == "ean13":
        return 95
    if symbology == "ean8":
        return 67
    # Code 128 set B: start, one symbol per character, check symbol (11 modules each), stop (13)
    return 11 * (len(value) + 2) + 13


def module_width(symbology: str, value: str, width: int) -> int:
    """The widest module (python-escpos's default 3 dots at most) with which the symbol fits the paper; 2 is the
    narrowest ``GS w`` takes, which holds a 12-character Code 128 (``SHO-`` and an 8-digit order) on 58 mm."""
    room = width * DOTS_PER_COLUMN
    return max(2, min(3, room // (barcode_modules(symbology, value) + QUIET_MODULES)))


def encode_text(text: str, cjk: bool) -> bytes:
    if all(ord(c) < 128 for c in text):
        return text.encode("ascii")
    out = bytearray()
    in_kanji = False
    for ch in text:
        try:
            b = ch.encode("cp437")
            if in_kanji:
                out += FS_KANJI_OFF
                in_kanji = False
            out += b
            continue
        except UnicodeEncodeError:
            pass
        if cjk:
            if not in_kanji:
                out += FS_KANJI_ON
                in_kanji = True
            out += ch.encode("gb18030")
        else:
            out += b"?"
    if in_kanji:
        out += FS_KANJI_OFF
    return bytes(out)


def render(
    blocks: list[Block], *, profile: str = "TM-T88V", width: int = 42, cjk: bool = False, copies: int = 1
) -> bytes:
    p = Dummy(profile=profile)
    for _ in range(copies):
        p.hw("INIT")
        p._raw(b"\x1bt\x00")  # code page PC437
        for b in blocks:
            if b.kind == "text":
                p.set(align=b.align, bold=b.bold, normal_textsize=True)
                p._raw(GS_SIZE[2 if b.size == 2 else 1] + encode_text(b.text, cjk) + b"\n")
            elif b.kind == "rule":
                p.set(align="left", bold=False, normal_textsize=True)
                p._raw(GS_SIZE[1] + b"-" * width + b"\n")
            elif b.kind == "barcode":
                mw = module_width(b.symbology, b.text, width)
                with contextlib.redirect_stdout(io.StringIO()):  # python-escpos print()s its renderer choice
                    if b.symbology == "ean13":
                        p.barcode(b.text, "EAN13", function_type="A", width=mw)
                    elif b.symbology == "ean8":
                        p.barcode(b.text, "EAN8", function_type="A", width=mw)
                    else:
                        p.barcode("{B" + b.text, "CODE128", function_type="B", width=mw)
                p.set(align="left")
            elif b.kind == "qr":
                p.set(align="center")
                p.qr(b.text, native=True, size=6)
                p.set(align="left")
            elif b.kind == "feed":
                p.ln(int(b.extra.get("lines", 1)))
            elif b.kind == "cut":
                p.cut()
            elif b.kind == "drawer":
                p.cashdraw(2)
    return p.output
