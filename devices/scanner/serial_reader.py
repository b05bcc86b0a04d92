"""Serial / USB-CDC scanners: raw bytes, each code ended by CR and/or LF; AIM prefix and GS arrive intact."""

from __future__ import annotations


class LineSplitter:
    """Splits a byte stream into codes at CR, LF or CR LF (a CR LF pair ends ONE code)."""

    def __init__(self, max_len: int = 4096):
        self.buf = bytearray()
        self.max_len = max_len
        self.overflows = 0

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        for b in data:
            if b in (0x0D, 0x0A):
                if self.buf:
                    out.append(decode(bytes(self.buf)))
                    self.buf.clear()
                continue
            self.buf.append(b)
            if len(self.buf) > self.max_len:
                self.overflows += 1
                self.buf.clear()
        return out


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
