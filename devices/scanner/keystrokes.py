"""The inverse of the wedge decoder: the key events a scanner set to a given layout sends for a text.

Used by the wedge-scanner simulator and the tests (it builds the exact ``(type, code, value)`` sequences)."""

from __future__ import annotations

from devices.scanner import layouts as L

EV_KEY, EV_SYN, EV_MSC = 1, 0, 4


def _index(layout: L.Layout) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
    """(plain characters, dead keys) → (keycode, level)."""
    idx: dict[str, tuple[int, str]] = {}
    dead: dict[str, tuple[int, str]] = {}
    for level in ("normal", "shift", "altgr", "shift_altgr"):
        for kc, levels in sorted(layout.table().items()):
            ch = levels.get(level)
            if not ch:
                continue
            target = dead if ch in layout.dead else idx
            target.setdefault(ch, (kc, level))
    return idx, dead


def _tap(kc: int, mods: list[int]) -> list[tuple[int, int, int]]:
    ev = []
    for m in mods:
        ev += [(EV_MSC, 4, 0), (EV_KEY, m, 1), (EV_SYN, 0, 0)]
    ev += [(EV_MSC, 4, 0), (EV_KEY, kc, 1), (EV_SYN, 0, 0), (EV_MSC, 4, 0), (EV_KEY, kc, 0), (EV_SYN, 0, 0)]
    for m in reversed(mods):
        ev += [(EV_KEY, m, 0), (EV_SYN, 0, 0)]
    return ev


def keystrokes(
    text: str, layout: L.Layout | str = "us", *, enter: bool = True, gs_as: str = "ctrl"
) -> list[tuple[int, int, int]]:
    """Events for ``text`` (GS typed as Ctrl+] or, with ``gs_as='alt'``, as Alt+0,2,9 on the keypad)."""
    lay = L.LAYOUTS[layout] if isinstance(layout, str) else layout
    idx, dead = _index(lay)
    mods_for = {
        "normal": [],
        "shift": [L.KEY_LEFTSHIFT],
        "altgr": [L.KEY_RIGHTALT],
        "shift_altgr": [L.KEY_LEFTSHIFT, L.KEY_RIGHTALT],
    }
    events: list[tuple[int, int, int]] = []
    for ch in text:
        if ch == "\x1d":
            if gs_as == "alt":
                events += [(EV_KEY, L.KEY_LEFTALT, 1)]
                for d in "029":
                    kc = next(k for k, v in L.KEYPAD.items() if v == d)
                    events += [(EV_KEY, kc, 1), (EV_KEY, kc, 0)]
                events += [(EV_KEY, L.KEY_LEFTALT, 0), (EV_SYN, 0, 0)]
            else:
                events += _tap(27, [L.KEY_LEFTCTRL])
            continue
        if ch == " ":
            events += _tap(L.KEY_SPACE, [])
            continue
        if ch in idx:
            kc, level = idx[ch]
            events += _tap(kc, mods_for[level])
        elif ch in dead:  # a dead key followed by space types the accent itself
            kc, level = dead[ch]
            events += _tap(kc, mods_for[level]) + _tap(L.KEY_SPACE, [])
        else:
            raise ValueError(f"{ch!r} cannot be typed on the {lay.name} layout")
    if enter:
        events += _tap(L.KEY_ENTER, [])
    return events
