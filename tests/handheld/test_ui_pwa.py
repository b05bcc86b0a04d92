"""The handheld PWA as served by the hub: manifest, icons, service worker shell list, headers."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "handheld_ui"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_manifest_is_installable(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200
    m = json.loads(r.data)
    assert m["display"] == "standalone" and m["start_url"] == "/" and m["scope"] == "/"
    assert m["name"] and m["short_name"] and m["theme_color"] and m["background_color"]
    sizes = set()
    for icon in m["icons"]:
        got = client.get("/" + icon["src"])
        assert got.status_code == 200, icon["src"]
        if icon["type"] == "image/png":
            w, h = _png_size(got.data)
            assert icon["sizes"] == f"{w}x{h}"
            sizes.add((w, icon.get("purpose", "any")))
    assert (192, "any") in sizes and (512, "any") in sizes and (512, "maskable") in sizes


def test_index_links_manifest_and_module(client):
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="manifest" href="manifest.webmanifest">' in html
    assert '<script type="module" src="js/app.js">' in html
    assert 'name="viewport"' in html


def test_service_worker_shell_list_exists_and_is_not_cached_by_http(client):
    src = (UI / "sw.js").read_text()
    shell = re.search(r"const SHELL = \[(.*?)\];", src, re.S).group(1)
    files = re.findall(r"'([^']+)'", shell)
    assert "index.html" in files and "js/app.js" in files
    for f in files:
        if f != "./":
            assert (UI / f).is_file(), f"sw.js precaches a missing file: {f}"
    # every core module the shell imports is precached
    for js in (UI / "js").glob("*.js"):
        assert f"js/{js.name}" in files, f"js/{js.name} missing from the sw.js SHELL list"
    r = client.get("/sw.js")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache"
    assert "javascript" in r.headers["Content-Type"]
    assert "/api/" in src  # the API is never intercepted


def test_the_hub_lists_every_screen_module_and_each_has_its_catalogs(client):
    r = client.get("/screens.json")
    assert r.status_code == 200 and r.is_json
    names = r.get_json()["screens"]
    assert len(names) == len(set(names)), names
    # a module no domain declares would never load; a declared screen without its module breaks the install
    assert set(names) == {p.stem for p in (UI / "screens").glob("*.js")}
    for sid in names:
        src = (UI / "screens" / f"{sid}.js").read_text()
        assert re.search(rf"id: '{sid}'", src), f"screens/{sid}.js must export id: '{sid}' (file name = id)"
        for lang in ("en", "zh-CN"):
            assert (UI / "i18n" / f"{sid}.{lang}.json").is_file(), f"i18n/{sid}.{lang}.json missing"


def test_service_worker_precaches_the_screen_list_in_every_language():
    src = (UI / "sw.js").read_text()
    assert "'screens.json'" in src and "screens/${n}.js" in src
    langs = re.search(r"const LANGUAGES = \[(.*?)\];", src).group(1)
    app_langs = re.search(r"export const LANGUAGES = \[(.*?)\];", (UI / "js" / "i18n.js").read_text()).group(1)
    assert re.findall(r"'([^']+)'", langs) == re.findall(r"'([^']+)'", app_langs)
