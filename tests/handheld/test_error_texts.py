"""Every error the hub can answer with has words in both languages of the handheld.

The hub's errors carry a machine ``code`` and ``details``; the app shows ``err.<code>`` from
handheld_ui/i18n/errors.<lang>.json with ``{placeholders}`` filled from ``details`` (never the hub's English
``message``). This test reads the hub's source (no browser): every error raised with a literal code, every error
class's default code, and codes passed on from another error, and fails when one has no text in English or
Chinese — or when a text needs a placeholder that a raise site does not put in ``details`` and the catalog has no
``err.<code>.short`` variant without it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub"
CATALOGS = ROOT / "handheld_ui" / "i18n"
LANGS = ("en", "zh-CN")

# Raise sites whose code is not a literal: where it comes from, and the codes it can take.
DYNAMIC = {
    # "invalid_{what}_code" with what = badge | order (SHB-/SHO- codes with bad characters)
    ("hub/identify/barcode.py", "f'invalid_{what}_code'"): {"invalid_badge_code", "invalid_order_code"},
    # a barcode error passed on unchanged by the count scan (its codes are BarcodeError's, collected anyway)
    ("hub/stocktake/scans.py", "exc.code"): set(),
    # unknown_code becomes unknown_item for picking/packing, anything else passes unchanged
    ("hub/orders/scanning.py", "'unknown_item' if exc.code == 'unknown_code' else exc.code"): {"unknown_item"},
    # a carton code nobody knows at goods-in, recorded as a refused scan: receiving._refusal builds the dict
    # ({"code": "unknown_code", ...}) and refusal_error raises it
    ("hub/purchasing/receiving.py", "refused['code']"): {"unknown_code"},
}
# Answers the HTTP layer builds itself (hub/http/framework.py json_errors): werkzeug's own 404/405 on an API
# path and an unexpected exception.
HTTP_CODES = {"not_found", "method_not_allowed", "internal_error"}


def _error_classes(trees: dict[Path, ast.Module]) -> dict[str, str | None]:
    """Every StoreHubError subclass in the hub → its default code (inherited when it sets none)."""
    bases: dict[str, list[str]] = {}
    own: dict[str, str | None] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                own[node.name] = None
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)
                    ):
                        own[node.name] = stmt.value.value
    classes: dict[str, str | None] = {}

    def resolve(name: str) -> bool:
        if name == "StoreHubError":
            classes[name] = own.get(name)
            return True
        if name in classes:
            return True
        ok = False
        for b in bases.get(name, []):
            if resolve(b):
                ok = True
                classes[name] = own.get(name) or classes[b]
        return ok

    for name in bases:
        resolve(name)
    return classes


def raised_codes() -> dict[str, list[tuple[str, set[str] | None]]]:
    """code → [(where, keys of the literal details dict or None when there are none / they are not literal)]."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(HUB.rglob("*.py"))}
    classes = _error_classes(trees)
    assert {"StoreHubError", "ValidationError", "NotFound", "BarcodeError", "LoginThrottled"} <= set(classes)
    out: dict[str, list] = {c: [("class default", None)] for c in set(classes.values()) if c}
    seen_dynamic = set()
    helpers: dict[str, tuple[int, str]] = {}  # helper name → (position, name) of its code parameter
    for path, tree in trees.items():
        rel = str(path.relative_to(ROOT))
        parent_fn = {}
        for fn_node in ast.walk(tree):
            if isinstance(fn_node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(fn_node):
                    parent_fn.setdefault(sub, fn_node)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            if name == "error_body" and node.args and isinstance(node.args[0], ast.Constant):
                out.setdefault(node.args[0].value, []).append((f"{rel}:{node.lineno}", None))
                continue
            if name not in classes:
                continue
            kw = {k.arg: k.value for k in node.keywords}
            code_node = kw.get("code")
            if code_node is None and name == "BarcodeError" and node.args:
                code_node = node.args[0]  # BarcodeError(code, message, details)
            if code_node is None:
                code_node = ast.Constant(classes[name])
            details = kw.get("details")
            if details is None and name == "BarcodeError" and len(node.args) > 2:
                details = node.args[2]
            keys = (
                {k.value for k in details.keys if isinstance(k, ast.Constant)}
                if isinstance(details, ast.Dict)
                else None
            )
            where = f"{rel}:{node.lineno}"
            if isinstance(code_node, ast.Constant):
                if code_node.value:
                    out.setdefault(code_node.value, []).append((where, keys))
                continue
            # a helper that builds the error from its own `code` parameter: its callers' literals are the codes
            enclosing = parent_fn.get(node)
            if isinstance(code_node, ast.Name) and enclosing is not None:
                params = [a.arg for a in enclosing.args.args]
                if code_node.id in params:
                    helpers[enclosing.name] = (params.index(code_node.id), code_node.id)
                    continue
            key = (rel, ast.unparse(code_node))
            assert key in DYNAMIC, f"{where}: error code {key[1]} is not a literal; list what it can be in DYNAMIC"
            seen_dynamic.add(key)
            for c in DYNAMIC[key]:
                out.setdefault(c, []).append((where, keys))
    for path, tree in trees.items():
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            if name not in helpers:
                continue
            pos, pname = helpers[name]
            arg = {k.arg: k.value for k in node.keywords}.get(pname)
            if arg is None and len(node.args) > pos:
                arg = node.args[pos]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.setdefault(arg.value, []).append((f"{rel}:{node.lineno}", None))
    assert seen_dynamic == set(DYNAMIC), f"DYNAMIC lists sites that are gone: {set(DYNAMIC) - seen_dynamic}"
    for c in HTTP_CODES:
        out.setdefault(c, []).append(("hub/http/framework.py", None))
    return out


def _catalog(lang: str) -> dict[str, str]:
    return json.loads((CATALOGS / f"errors.{lang}.json").read_text(encoding="utf-8"))


def test_the_collector_sees_the_errors_staff_meet():
    codes = raised_codes()
    # from the issue: a bad check digit, an item not in the order, device refusals, a class default
    for c in (
        "invalid_check_digit",
        "not_in_order",
        "reader_busy",
        "unknown_command",
        "validation_error",
        "login_throttled",
        "invalid_order_code",
    ):
        assert c in codes, c
    assert "STORE" not in codes  # locations.create(code="STORE") is not an error


def test_every_raised_error_code_has_text_in_both_languages():
    codes = raised_codes()
    cats = {lang: _catalog(lang) for lang in LANGS}
    missing = {lang: sorted(c for c in codes if f"err.{c}" not in cat) for lang, cat in cats.items()}
    assert missing == {lang: [] for lang in LANGS}, f"error codes without text: {missing}"


def test_placeholders_come_from_details_at_every_raise_site():
    codes = raised_codes()
    cats = {lang: _catalog(lang) for lang in LANGS}
    problems = []
    for code, sites in codes.items():
        for lang, cat in cats.items():
            text = cat.get(f"err.{code}")
            if text is None:
                continue
            need = set(re.findall(r"\{(\w+)\}", text))
            if not need:
                continue
            short = cat.get(f"err.{code}.short")
            for where, keys in sites:
                if where == "class default" or (keys is not None and need <= keys):
                    continue
                if short is None or re.search(r"\{\w+\}", short):
                    problems.append(
                        f"{lang} err.{code} needs {sorted(need)} but {where} gives "
                        f"{sorted(keys) if keys is not None else 'no details'} (and no plain .short text)"
                    )
    assert not problems, "\n".join(problems)


def test_error_catalogs_match_between_languages():
    en, zh = _catalog("en"), _catalog("zh-CN")
    assert set(en) == set(zh), set(en) ^ set(zh)
    for k in en:
        assert k.startswith("err."), k
        assert en[k].strip() and zh[k].strip(), k
        assert set(re.findall(r"\{(\w+)\}", en[k])) == set(re.findall(r"\{(\w+)\}", zh[k])), k
    # nothing in the Chinese catalog is left in English
    assert not [k for k, v in zh.items() if re.fullmatch(r"[\x00-\x7f]+", v)], "untranslated Chinese texts"
