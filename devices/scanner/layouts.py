"""Keyboard layouts as data: which character each Linux keycode gives, per modifier level.

A USB HID scanner is a keyboard: it sends key positions (HID usages → Linux keycodes), not characters. The
scanner is configured for a keyboard country; the host must decode with the SAME layout or a UK scanner's
``"`` arrives as ``@`` and a Belgian scanner's digits as ``à&é…``. Each layout is a table of physical key
rows; a row lists the keycodes of that row and the characters at each level:

    levels: "normal", "shift", "altgr", "shift_altgr" — strings aligned with the row's keycodes;
    a space in a level string means "nothing at this level" (the space bar is handled separately);
    dead keys are listed in ``dead`` (they combine with the next key; dead key + space = the accent itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Linux input keycodes of each physical row (linux/input-event-codes.h)
ROW_E = [41, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]  # `1234567890-=
ROW_D = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]  # qwertyuiop[]
ROW_C = [30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 43]  # asdfghjkl;'  + the key left of Enter (43)
ROW_B = [86, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53]  # 102nd key (ISO), zxcvbnm,./

KEY_ENTER, KEY_KPENTER, KEY_TAB, KEY_SPACE = 28, 96, 15, 57
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTALT, KEY_RIGHTALT = 29, 97, 56, 100
KEY_NUMLOCK = 69
# keypad digits (NumLock on) — scanners in "Alt + keypad" mode type character codes on these
KEYPAD = {
    82: "0",
    79: "1",
    80: "2",
    81: "3",
    75: "4",
    76: "5",
    77: "6",
    71: "7",
    72: "8",
    73: "9",
    83: ".",
    98: "/",
    55: "*",
    74: "-",
    78: "+",
}
# Ctrl + a key gives a C0 control code by the key's US position (HID usage): Ctrl+] = GS (0x1D)
CTRL_BY_KEYCODE = {
    27: "\x1d",
    26: "\x1b",
    43: "\x1c",
    7: "\x1e",
    12: "\x1f",
    3: "\x00",
    **{
        kc: chr(i + 1)
        for i, kc in enumerate(
            [30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50, 49, 24, 25, 16, 19, 31, 20, 22, 47, 17, 45, 21, 44]
        )
    },
}


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    rows: tuple[tuple[list[int], dict[str, str]], ...]
    dead: dict[str, str] = field(default_factory=dict)  # dead char -> its spacing form

    def table(self) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        for keycodes, levels in self.rows:
            for level, chars in levels.items():
                if len(chars) != len(keycodes):
                    raise ValueError(
                        f"layout {self.name}: level {level} has {len(chars)} chars for {len(keycodes)} keys"
                    )
                for kc, ch in zip(keycodes, chars):
                    if ch != " ":
                        out.setdefault(kc, {})[level] = ch
        return out


US = Layout(
    "us",
    "US English (ANSI; the 102nd key is absent)",
    (
        (ROW_E, {"normal": "`1234567890-=", "shift": "~!@#$%^&*()_+"}),
        (ROW_D, {"normal": "qwertyuiop[]", "shift": "QWERTYUIOP{}"}),
        (ROW_C, {"normal": "asdfghjkl;'\\", "shift": 'ASDFGHJKL:"|'}),
        (ROW_B, {"normal": "\\zxcvbnm,./", "shift": "|ZXCVBNM<>?"}),
    ),
)

UK = Layout(
    "uk",
    "United Kingdom (ISO)",
    (
        (ROW_E, {"normal": "`1234567890-=", "shift": '¬!"£$%^&*()_+', "altgr": "¦   €        "}),
        (ROW_D, {"normal": "qwertyuiop[]", "shift": "QWERTYUIOP{}"}),
        (ROW_C, {"normal": "asdfghjkl;'#", "shift": "ASDFGHJKL:@~"}),
        (ROW_B, {"normal": "\\zxcvbnm,./", "shift": "|ZXCVBNM<>?"}),
    ),
)

DE = Layout(
    "de",
    "German (QWERTZ)",
    (
        (ROW_E, {"normal": "^1234567890ß´", "shift": '°!"§$%&/()=?`', "altgr": "  ²³   {[]}\\ "}),
        (ROW_D, {"normal": "qwertzuiopü+", "shift": "QWERTZUIOPÜ*", "altgr": "@ €        ~"}),
        (ROW_C, {"normal": "asdfghjklöä#", "shift": "ASDFGHJKLÖÄ'"}),
        (ROW_B, {"normal": "<yxcvbnm,.-", "shift": ">YXCVBNM;:_", "altgr": "|      µ   "}),
    ),
    dead={"^": "^", "´": "´", "`": "`"},
)

BE = Layout(
    "be",
    "Belgian (AZERTY)",
    (
        (ROW_E, {"normal": "²&é\"'(§è!çà)-", "shift": "³1234567890°_", "altgr": " |@#  ^  {}  "}),
        (ROW_D, {"normal": "azertyuiop^$", "shift": "AZERTYUIOP¨*", "altgr": "  €       []"}),
        (ROW_C, {"normal": "qsdfghjklmùµ", "shift": "QSDFGHJKLM%£", "altgr": "          ´`"}),
        (ROW_B, {"normal": "<wxcvbn,;:=", "shift": ">WXCVBN?./+", "altgr": "\\         ~"}),
    ),
    dead={"^": "^", "¨": "¨", "´": "´", "`": "`", "~": "~"},
)

FR = Layout(
    "fr",
    "French (AZERTY)",
    (
        (ROW_E, {"normal": "²&é\"'(-è_çà)=", "shift": " 1234567890°+", "altgr": "  ~#{[|`\\^@]}"}),
        (ROW_D, {"normal": "azertyuiop^$", "shift": "AZERTYUIOP¨£", "altgr": "  €         "}),
        (ROW_C, {"normal": "qsdfghjklmù*", "shift": "QSDFGHJKLM%µ"}),
        (ROW_B, {"normal": "<wxcvbn,;:!", "shift": ">WXCVBN?./§"}),
    ),
    dead={"^": "^", "¨": "¨"},
)

LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (US, UK, DE, BE, FR)}

# dead key + letter (the few a barcode could carry; everything else: accent then letter)
COMPOSE = {
    ("^", "a"): "â",
    ("^", "e"): "ê",
    ("^", "i"): "î",
    ("^", "o"): "ô",
    ("^", "u"): "û",
    ("¨", "a"): "ä",
    ("¨", "e"): "ë",
    ("¨", "i"): "ï",
    ("¨", "o"): "ö",
    ("¨", "u"): "ü",
    ("´", "e"): "é",
    ("`", "e"): "è",
    ("`", "a"): "à",
    ("~", "n"): "ñ",
}
