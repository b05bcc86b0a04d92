"""Decode an ESC/POS byte stream back into what the paper would show: text lines (with style), barcodes
(by their value), QR codes (by their content), raster images, cuts and drawer kicks.

:class:`EscposDecoder` is incremental — :meth:`feed` takes bytes as they arrive from the socket and returns
any real-time status replies the printer must send back (``DLE EOT n``, ``GS r n``); a command split across
two reads waits for the rest. Finished jobs (ended by a cut, or by the end of the connection) are collected
in :attr:`jobs`. Unknown commands are recorded, never guessed at.

Each text line carries ``columns``: how many font-A columns it takes on paper, counted from what the printer
received, not from what the text means — a single-byte code-page character is one column, a double-byte
Kanji-mode (GB18030) character two, all times the character width in force (``ESC !`` / ``GS !``). Each
barcode carries ``dots``, its printed width with the module width in force (``GS w``, 3 by default) and its
quiet zones. :class:`~devices.sim.printer.PrinterSim` compares both with its paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ESC, GS, DLE, FS, LF, CR, HT, FF, CAN = 0x1B, 0x1D, 0x10, 0x1C, 0x0A, 0x0D, 0x09, 0x0C, 0x18

CODEPAGES = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
}
BARCODE_A = {0: "upc-a", 1: "upc-e", 2: "ean13", 3: "ean8", 4: "code39", 5: "itf", 6: "codabar"}
BARCODE_B = {
    65: "upc-a",
    66: "upc-e",
    67: "ean13",
    68: "ean8",
    69: "code39",
    70: "itf",
    71: "codabar",
    72: "code93",
    73: "code128",
}
QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
QUIET_MODULES = 20  # 10 modules of white either side of a linear barcode
FIXED_MODULES = {"ean13": 95, "upc-a": 95, "ean8": 67, "upc-e": 51}


class _More(Exception):
    """The command is not complete yet: wait for more bytes."""


@dataclass
class PrinterState:
    paper: str = "ok"  # ok | low | out
    cover_open: bool = False

    def status(self, n: int) -> int:
        base = 0x12  # bits 1 and 4 are always 1
        offline = self.paper == "out" or self.cover_open
        if n == 1:
            return base | (0x08 if offline else 0)
        if n == 2:
            return base | (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
        if n == 3:
            return base
        if n == 4:
            return base | {"ok": 0, "low": 0x0C, "out": 0x6C}[self.paper]
        return base


@dataclass
class Job:
    elements: list[dict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    nbytes: int = 0
    cut: bool = False

    @property
    def lines(self) -> list[str]:
        return [e["text"] for e in self.elements if e["type"] == "text"]

    @property
    def barcodes(self) -> list[dict]:
        return [{"symbology": e["symbology"], "value": e["value"]} for e in self.elements if e["type"] == "barcode"]

    @property
    def qr_codes(self) -> list[str]:
        return [e["value"] for e in self.elements if e["type"] == "qr"]

    def to_dict(self) -> dict:
        return {
            "lines": self.lines,
            "barcodes": self.barcodes,
            "qr": self.qr_codes,
            "cut": self.cut,
            "drawer": any(e["type"] == "drawer" for e in self.elements),
            "elements": self.elements,
            "unknown": self.unknown,
            "bytes": self.nbytes,
        }


class EscposDecoder:
    def __init__(self, state: PrinterState | None = None):
        self.state = state or PrinterState()
        self.buf = bytearray()
        self.jobs: list[Job] = []
        self._reset_style()
        self.job = Job()
        self.line = bytearray()
        self.line_style: dict | None = None
        self.qr_data: bytes | None = None
        self.qr_size = 3
        self.qr_ec = "L"

    def _reset_style(self) -> None:
        self.bold = False
        self.underline = 0
        self.align = "left"
        self.width = 1
        self.height = 1
        self.codepage = 0
        self.kanji = False
        self.module = 3  # GS w: barcode module width in dots

    # --------------------------------------------------------------- public
    def feed(self, data: bytes) -> bytes:
        self.buf += data
        replies = bytearray()
        while self.buf:
            job = self.job
            try:
                used, reply = self._step()
            except _More:
                break
            job.nbytes += used
            del self.buf[:used]
            replies += reply
        return bytes(replies)

    def close(self) -> list[Job]:
        """End of the connection: whatever was received is a job too."""
        self._flush_line(force=False)
        if self.job.elements or self.job.unknown:
            self.jobs.append(self.job)
        self.job = Job()
        return self.jobs

    # -------------------------------------------------------------- helpers
    def _need(self, n: int) -> None:
        if len(self.buf) < n:
            raise _More

    def _style(self) -> dict:
        return {
            "bold": self.bold,
            "align": self.align,
            "width": self.width,
            "height": self.height,
            "underline": self.underline,
        }

    def _decode_text(self, raw: bytes, kanji: bool) -> str:
        if kanji:
            return raw.decode("gb18030", "replace")
        return raw.decode(CODEPAGES.get(self.codepage, "cp437"), "replace")

    def _text(self, raw: bytes) -> None:
        if self.line_style is None:
            self.line_style = self._style()
        self.line += raw

    def _flush_line(self, force: bool = True) -> None:
        if not self.line and not force:
            return
        text, columns = self._decode_line(bytes(self.line))
        style = self.line_style or self._style()
        self.job.elements.append({"type": "text", "text": text, **style, "columns": columns * style["width"]})
        self.line.clear()
        self.line_style = None

    def _decode_line(self, raw: bytes) -> tuple[str, int]:
        """The line's text and its columns at normal width (one per code-page byte, two per Kanji glyph)."""
        # the line holds markers \x00K / \x00k for kanji on/off inserted by _step
        out, kanji, chunk = [], False, bytearray()
        columns = 0

        def flush() -> None:
            nonlocal columns
            text = self._decode_text(bytes(chunk), kanji)
            out.append(text)
            columns += 2 * len(text) if kanji else len(chunk)
            chunk.clear()

        i = 0
        while i < len(raw):
            if raw[i] == 0 and i + 1 < len(raw) and raw[i + 1] in (ord("K"), ord("k")):
                flush()
                kanji = raw[i + 1] == ord("K")
                i += 2
                continue
            chunk.append(raw[i])
            i += 1
        flush()
        return "".join(out), columns

    def _element(self, el: dict) -> None:
        if self.line:
            self._flush_line()
        self.job.elements.append(el)

    def _end_job(self) -> None:
        self._flush_line(force=False)
        self.job.cut = True
        self.jobs.append(self.job)
        self.job = Job()

    # ------------------------------------------------------------------ step
    def _step(self) -> tuple[int, bytes]:
        b = self.buf
        c = b[0]
        if c == LF:
            self._flush_line()
            return 1, b""
        if c == CR:
            return 1, b""
        if c == HT:
            self._text(b"    ")
            return 1, b""
        if c in (FF, CAN):
            return 1, b""
        if c == DLE:
            return self._dle()
        if c == ESC:
            return self._esc()
        if c == GS:
            return self._gs()
        if c == FS:
            return self._fs()
        if c < 0x20:
            self.job.unknown.append(f"control 0x{c:02x}")
            return 1, b""
        if self.kanji and c >= 0x81:
            self._need(2)
            n = 4 if 0x30 <= b[1] <= 0x39 else 2
            self._need(n)
            self._text(bytes(b[:n]))
            return n, b""
        self._text(bytes([c]))
        return 1, b""

    def _dle(self) -> tuple[int, bytes]:
        b = self.buf
        self._need(2)
        if b[1] == 0x04:  # DLE EOT n: real-time status
            self._need(3)
            return 3, bytes([self.state.status(b[2])])
        if b[1] == 0x05:  # DLE ENQ n
            self._need(3)
            return 3, b""
        if b[1] == 0x14:  # DLE DC4 fn m t
            self._need(5)
            if b[2] == 1:
                self._element({"type": "drawer", "pin": b[3], "via": "DLE DC4"})
            return 5, b""
        self.job.unknown.append(f"DLE 0x{b[1]:02x}")
        return 2, b""

    def _esc(self) -> tuple[int, bytes]:
        b = self.buf
        self._need(2)
        cmd = b[1]
        if cmd == ord("@"):
            self._flush_line(force=False)
            self._reset_style()
            return 2, b""
        one_arg = {
            ord("E"),
            ord("-"),
            ord("G"),
            ord("M"),
            ord("a"),
            ord("t"),
            ord("{"),
            ord("d"),
            ord("J"),
            ord("3"),
            ord("R"),
            ord("V"),
            ord(" "),
            ord("%"),
            ord("r"),
            ord("c"),
            ord("U"),
            ord("!"),
            ord("e"),
            ord("K"),
        }
        if cmd in one_arg:
            self._need(3)
            n = b[2]
            if cmd == ord("!"):
                self.bold = bool(n & 0x08)
                self.height = 2 if n & 0x10 else 1
                self.width = 2 if n & 0x20 else 1
                self.underline = 1 if n & 0x80 else 0
            elif cmd == ord("E"):
                self.bold = bool(n & 1)
            elif cmd == ord("-"):
                self.underline = n & 3 if n < 48 else n - 48
            elif cmd == ord("a"):
                self.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}.get(n, "left")
                if self.line_style is not None and not self.line:
                    self.line_style = None
            elif cmd == ord("t"):
                self.codepage = n
            elif cmd == ord("d"):
                self._flush_line(force=False)
                if n:
                    self.job.elements.append({"type": "feed", "lines": n})
            elif cmd == ord("c"):
                self._need(4)  # ESC c 5 n / ESC c 3 n / ESC c 4 n
                return 4, b""
            return 3, b""
        if cmd == ord("2"):
            return 2, b""
        if cmd == ord("p"):  # ESC p m t1 t2: drawer kick
            self._need(5)
            self._element({"type": "drawer", "pin": b[2]})
            return 5, b""
        if cmd in (ord("$"), ord("\\")):
            self._need(4)
            return 4, b""
        if cmd == ord("*"):  # ESC * m nL nH d…: bit image
            self._need(5)
            m, n = b[2], b[3] + 256 * b[4]
            size = n * (3 if m in (32, 33) else 1)
            self._need(5 + size)
            self._element({"type": "image", "format": "bit-image", "width": n, "height": 24 if m in (32, 33) else 8})
            return 5 + size, b""
        if cmd == ord("D"):  # ESC D n1…nk NUL: tab stops
            end = b.find(b"\x00", 2)
            if end < 0:
                raise _More
            return end + 1, b""
        self.job.unknown.append(f"ESC 0x{cmd:02x}")
        return 2, b""

    def _gs(self) -> tuple[int, bytes]:
        b = self.buf
        self._need(2)
        cmd = b[1]
        if cmd in (
            ord("!"),
            ord("B"),
            ord("b"),
            ord("h"),
            ord("w"),
            ord("f"),
            ord("H"),
            ord("a"),
            ord("I"),
            ord("r"),
            ord("E"),
            ord("/"),
        ):
            self._need(3)
            n = b[2]
            if cmd == ord("!"):
                self.width = (n >> 4) + 1
                self.height = (n & 0x0F) + 1
            if cmd == ord("w"):
                self.module = n
            if cmd == ord("r"):
                return 3, bytes([0x00 if self.state.paper == "ok" else 0x03 if self.state.paper == "low" else 0x0F])
            if cmd == ord("I"):
                return 3, {1: b"\x20", 2: b"\x02", 3: b"\x40"}.get(n, b"_StoreHub sim\x00")
            return 3, b""
        if cmd in (ord("L"), ord("W"), ord("P")):
            self._need(4)
            return 4, b""
        if cmd == ord("V"):  # GS V m [n]: cut
            self._need(3)
            m = b[2]
            used = 4 if m in (65, 66, 97, 98, 103, 104) else 3
            self._need(used)
            self._end_job()
            return used, b""
        if cmd == ord("k"):
            return self._barcode()
        if cmd == ord("("):
            self._need(5)
            fn_group = b[2]
            length = b[3] + 256 * b[4]
            self._need(5 + length)
            body = bytes(b[5 : 5 + length])
            if fn_group == ord("k"):
                self._qr(body)
            elif fn_group == ord("L"):
                self._graphics(body)
            return 5 + length, b""
        if cmd == ord("8") and len(b) > 2 and b[2] == ord("L"):  # GS 8 L p1 p2 p3 p4 m fn …
            self._need(7)
            length = int.from_bytes(b[3:7], "little")
            self._need(7 + length)
            self._graphics(bytes(b[7 : 7 + length]))
            return 7 + length, b""
        if cmd == ord("v"):  # GS v 0 m xL xH yL yH d…
            self._need(8)
            xb = b[4] + 256 * b[5]
            y = b[6] + 256 * b[7]
            self._need(8 + xb * y)
            data = bytes(b[8 : 8 + xb * y])
            self._element({"type": "image", "format": "raster", "width": xb * 8, "height": y, "data": data.hex()})
            return 8 + xb * y, b""
        self.job.unknown.append(f"GS 0x{cmd:02x}")
        return 2, b""

    def _barcode(self) -> tuple[int, bytes]:
        b = self.buf
        self._need(3)
        m = b[2]
        if m <= 6:  # function A: data NUL-terminated
            end = b.find(b"\x00", 3)
            if end < 0:
                if len(b) > 300:
                    self.job.unknown.append("GS k A without NUL")
                    return 3, b""
                raise _More
            data = bytes(b[3:end])
            self._element(
                {
                    "type": "barcode",
                    "symbology": BARCODE_A[m],
                    "value": data.decode("ascii", "replace"),
                    "function": "A",
                    "dots": self._bar_dots(BARCODE_A[m], data),
                }
            )
            return end + 1, b""
        if m in BARCODE_B:  # function B: length byte
            self._need(4)
            n = b[3]
            self._need(4 + n)
            data = bytes(b[4 : 4 + n])
            sym = BARCODE_B[m]
            value = _code128_text(data) if sym == "code128" else data.decode("ascii", "replace")
            self._element(
                {
                    "type": "barcode",
                    "symbology": sym,
                    "value": value,
                    "function": "B",
                    "dots": self._bar_dots(sym, data),
                }
            )
            return 4 + n, b""
        self.job.unknown.append(f"GS k m={m}")
        return 3, b""

    def _bar_dots(self, symbology: str, data: bytes) -> int | None:
        """Printed width of a linear barcode in dots, quiet zones included (None: a symbology not measured)."""
        if symbology in FIXED_MODULES:
            modules = FIXED_MODULES[symbology]
        elif symbology == "code128":
            modules = 11 * (_code128_symbols(data) + 1) + 13  # symbols incl. start, check, stop
        else:
            return None
        return (modules + QUIET_MODULES) * self.module

    def _qr(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 0x31:  # cn 49 = QR code
            self.job.unknown.append(f"GS ( k cn={body[:1].hex()}")
            return
        fn = body[1]
        if fn == 0x43 and len(body) >= 3:
            self.qr_size = body[2]
        elif fn == 0x45 and len(body) >= 3:
            self.qr_ec = QR_EC.get(body[2], "?")
        elif fn == 0x50:
            self.qr_data = body[3:]
        elif fn == 0x51:
            if self.qr_data is None:
                self.job.unknown.append("QR print without stored data")
                return
            self._element(
                {
                    "type": "qr",
                    "value": self.qr_data.decode("utf-8", "replace"),
                    "size": self.qr_size,
                    "ec": self.qr_ec,
                    "align": self.align,
                }
            )
            self.qr_data = None

    def _graphics(self, body: bytes) -> None:
        if len(body) >= 2 and body[1] in (0x70, 112):  # store raster graphics
            self._element({"type": "image", "format": "graphics"})

    def _fs(self) -> tuple[int, bytes]:
        b = self.buf
        self._need(2)
        cmd = b[1]
        if cmd == ord("&"):
            self.kanji = True
            self._text(b"\x00K")
            return 2, b""
        if cmd == ord("."):
            self.kanji = False
            self._text(b"\x00k")
            return 2, b""
        if cmd in (ord("!"), ord("-"), ord("W"), ord("C")):
            self._need(3)
            return 3, b""
        if cmd == ord("p"):  # FS p n m: NV bit image
            self._need(4)
            self._element({"type": "image", "format": "nv", "number": b[2]})
            return 4, b""
        self.job.unknown.append(f"FS 0x{cmd:02x}")
        return 2, b""


def _code128_text(data: bytes) -> str:
    """Code 128 data with python-escpos/Epson code-set switches ({A {B {C, {1 = FNC1) back to text."""
    out = []
    i, cset = 0, "B"
    while i < len(data):
        if data[i] == 0x7B and i + 1 < len(data) and data[i + 1] in b"ABC1234{S":
            sel = chr(data[i + 1])
            if sel in "ABC":
                cset = sel
            elif sel == "1":
                out.append("\x1d")  # FNC1 → GS (as a scanner transmits it)
            elif sel == "{":
                out.append("{")
            i += 2
            continue
        if cset == "C":
            out.append(f"{data[i]:02d}")
        else:
            out.append(chr(data[i]))
        i += 1
    text = "".join(out)
    return text[1:] if text.startswith("\x1d") else text


def _code128_symbols(data: bytes) -> int:
    """Code 128 symbol characters in Epson's data (a ``{`` pair is one symbol: the start, a code-set switch or
    FNC; in set C one byte is one symbol holding two digits), the start included."""
    n, i = 0, 0
    while i < len(data):
        n += 1
        i += 2 if data[i] == 0x7B and i + 1 < len(data) else 1
    return n


def decode(data: bytes, state: PrinterState | None = None) -> list[Job]:
    d = EscposDecoder(state)
    d.feed(data)
    return d.close()
