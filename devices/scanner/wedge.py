"""Keyboard-wedge scanners on evdev: keycodes → characters through the scanner's keyboard layout.

:class:`WedgeDecoder` is pure: feed it ``(type, code, value)`` tuples exactly as the kernel delivers them
(``EV_KEY`` value 1 down, 0 up, 2 repeat) and it returns the codes completed by the terminator key.
It tracks Shift, CapsLock, Ctrl (Ctrl+] = GS), AltGr and Alt+keypad character codes, and dead keys.
:func:`read_device` grabs the input device exclusively (nothing leaks into a focused window) and runs its
events through a decoder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from devices.scanner import layouts as L

log = logging.getLogger(__name__)

EV_KEY = 1


class WedgeDecoder:
    def __init__(self, layout: L.Layout | str = "us", *, terminators: Iterable[str] = ("enter",)):
        self.layout = L.LAYOUTS[layout] if isinstance(layout, str) else layout
        self.table = self.layout.table()
        self.terminators = set(terminators)
        self.unknown_keys = 0
        self.reset()

    def reset(self) -> None:
        self.buf: list[str] = []
        self.shift = set()
        self.ctrl = set()
        self.alt = False
        self.altgr = False
        self.caps = False
        self.dead: str | None = None
        self.alt_digits = ""

    def _level(self, keycode: int) -> str:
        entry = self.table.get(keycode, {})
        shifted = bool(self.shift)
        normal = entry.get("normal", "")
        # CapsLock shifts letters only (a key whose shifted char is its normal char in upper case)
        if self.caps and normal.isalpha() and entry.get("shift") == normal.upper():
            shifted = not shifted
        if self.altgr:
            return "shift_altgr" if shifted and "shift_altgr" in entry else "altgr"
        return "shift" if shifted else "normal"

    def _emit(self, ch: str) -> None:
        if self.dead is not None:
            dead, self.dead = self.dead, None
            combined = L.COMPOSE.get((dead, ch))
            if combined:
                self.buf.append(combined)
                return
            self.buf.append(self.layout.dead[dead])
        self.buf.append(ch)

    def _finish(self) -> list[str]:
        if self.dead is not None:
            self.buf.append(self.layout.dead[self.dead])
            self.dead = None
        code = "".join(self.buf)
        self.buf = []
        return [code] if code else []

    def feed(self, ev_type: int, code: int, value: int) -> list[str]:
        if ev_type != EV_KEY:
            return []
        if value == 0:
            return self._release(code)
        if code in (L.KEY_LEFTSHIFT, L.KEY_RIGHTSHIFT):
            self.shift.add(code)
            return []
        if code in (L.KEY_LEFTCTRL, L.KEY_RIGHTCTRL):
            self.ctrl.add(code)
            return []
        if code == L.KEY_LEFTALT:
            self.alt = True
            return []
        if code == L.KEY_RIGHTALT:
            self.altgr = True
            return []
        if code == L.KEY_CAPSLOCK:
            if value == 1:
                self.caps = not self.caps
            return []
        if code == L.KEY_NUMLOCK:
            return []
        if code in (L.KEY_ENTER, L.KEY_KPENTER) and "enter" in self.terminators:
            return self._finish()
        if code == L.KEY_TAB:
            if "tab" in self.terminators:
                return self._finish()
            self._emit("\t")
            return []
        if self.ctrl:
            ch = L.CTRL_BY_KEYCODE.get(code)
            if ch is not None:
                self.buf.append(ch)
            else:
                self.unknown_keys += 1
            return []
        if self.alt and code in L.KEYPAD and L.KEYPAD[code].isdigit():
            self.alt_digits += L.KEYPAD[code]
            return []
        if code in L.KEYPAD:
            self._emit(L.KEYPAD[code])
            return []
        if code == L.KEY_SPACE:
            if self.dead is not None:
                self.buf.append(self.layout.dead[self.dead])
                self.dead = None
            else:
                self.buf.append(" ")
            return []
        ch = self.table.get(code, {}).get(self._level(code))
        if ch is None:
            self.unknown_keys += 1
            log.debug("keycode %d has no character at level %s in layout %s", code, self._level(code), self.layout.name)
            return []
        if ch in self.layout.dead and self.dead is None:
            self.dead = ch
            return []
        self._emit(ch)
        return []

    def _release(self, code: int) -> list[str]:
        self.shift.discard(code)
        self.ctrl.discard(code)
        if code == L.KEY_RIGHTALT:
            self.altgr = False
        if code == L.KEY_LEFTALT:
            self.alt = False
            if self.alt_digits:
                n = int(self.alt_digits)
                self.alt_digits = ""
                # Alt+0nnn is the Windows (cp1252) code page; Alt+nnn below 128 is ASCII either way
                self.buf.append(bytes([n & 0xFF]).decode("cp1252", "replace") if n >= 128 else chr(n))
        return []

    def feed_all(self, events: Iterable[tuple[int, int, int]]) -> list[str]:
        out: list[str] = []
        for t, c, v in events:
            out += self.feed(t, c, v)
        return out


def iter_codes(events: Iterable, decoder: WedgeDecoder) -> Iterator[str]:
    """Codes from an iterable of evdev ``InputEvent`` objects (or (type, code, value) tuples)."""
    for ev in events:
        if isinstance(ev, tuple):
            t, c, v = ev
        else:
            t, c, v = ev.type, ev.code, ev.value
        yield from decoder.feed(t, c, v)


def open_device(path: str, grab: bool = True):
    """Open an evdev input device and grab it so its keystrokes go to us only."""
    import evdev

    dev = evdev.InputDevice(path)
    if grab:
        dev.grab()
    log.info("reading %s (%s)%s", path, dev.name, ", grabbed" if grab else "")
    return dev


def find_devices(name_contains: str) -> list[str]:
    import evdev

    out = []
    for path in evdev.list_devices():
        dev = evdev.InputDevice(path)
        try:
            if name_contains.lower() in dev.name.lower():
                out.append(path)
        finally:
            dev.close()
    return out
