"""Catalog CSV with a picture column: files from the --pictures folder and URLs fetched over real HTTP from a
server on loopback; a bad picture is reported with its row and reason while the items and other pictures import."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from hub.cli import main
from hub.inventory import catalog, catalog_pictures, pictures
from hub.store import initialise, open_db

HEADER = "sku,name_en,price_minor,picture"


def jpeg(color=(200, 30, 30), size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=85)
    return out.getvalue()


def png(color=(30, 30, 200, 255), size=(300, 500)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, "PNG")
    return out.getvalue()


class _Pictures(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def picture_server():
    _Pictures.files = {"/img/bread.png": png(), "/img/notes.txt": b"not a picture"}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pictures)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def make_hub(path: Path):
    _cfg, db = open_db(path)
    initialise(db, store_id="pic-store", currency="CNY")
    return db


def invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


def test_import_with_pictures_and_bad_rows(tmp_path, picture_server):
    db = make_hub(tmp_path / "hub")
    pics = tmp_path / "pics"
    (pics / "dairy").mkdir(parents=True)
    (pics / "dairy" / "milk.jpg").write_bytes(jpeg())
    (pics / "broken.jpg").write_bytes(jpeg()[:600])  # cut short
    (tmp_path / "secret.jpg").write_bytes(jpeg())  # outside the folder
    rows = [
        "MILK,Milk,1250,dairy/milk.jpg",  # row 2: a file
        f"BREAD,Bread,800,{picture_server}/img/bread.png",  # row 3: a URL
        "EGGS,Eggs,1500,",  # row 4: no picture
        "BROKEN,Broken,100,broken.jpg",  # row 5: damaged
        "MISSING,Missing,100,nope.jpg",  # row 6: no such file
        "ESCAPE,Escape,100,../secret.jpg",  # row 7: leaves the folder
        f"TEXT,Text,100,{picture_server}/img/notes.txt",  # row 8: not a picture
        f"GONE,Gone,100,{picture_server}/img/gone.png",  # row 9: HTTP 404
        "MILK2,Milk again,1250,dairy/milk.jpg",  # row 10: the same file as row 2
    ]
    f = tmp_path / "items.csv"
    f.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    res = CliRunner().invoke(
        main, ["catalog", "import", str(f), "--pictures", str(pics), "--data-dir", str(tmp_path / "hub")]
    )
    assert res.exit_code == 3, res.output
    out = res.output
    assert "created 9" in out and "pictures attached 3" in out
    for needle in (
        "row 5: picture: broken.jpg:",
        "row 6: picture: no file nope.jpg",
        "row 7: picture: ../secret.jpg is outside the pictures folder",
        "row 8: picture:",
        "row 9: picture:",
        "HTTP 404",
        "not a JPEG, PNG or WebP picture",
    ):
        assert needle in out, (needle, out)
    conn = db.read()
    got = {r["sku"]: r["picture_sha256"] for r in conn.execute("SELECT sku, picture_sha256 FROM items")}
    assert len(got) == 9  # every item imported, with or without its picture
    assert got["MILK"] and got["MILK"] == got["MILK2"] and got["BREAD"] and got["BREAD"] != got["MILK"]
    assert all(got[s] is None for s in ("EGGS", "BROKEN", "MISSING", "ESCAPE", "TEXT", "GONE"))
    assert conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0] == 2
    data, media = pictures.variant(conn, got["BREAD"], 1024)
    assert media == "image/webp" and hashlib.sha256(data).hexdigest() == got["BREAD"]
    assert Image.open(io.BytesIO(data)).size == (300, 500)
    assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'item.picture.set'").fetchone()[0] == 3

    # the same file again: nothing changes, the same rows are reported
    res = CliRunner().invoke(
        main, ["catalog", "import", str(f), "--pictures", str(pics), "--data-dir", str(tmp_path / "hub")]
    )
    assert res.exit_code == 3 and "unchanged 9" in res.output and "pictures attached 0" in res.output
    assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'item.picture.set'").fetchone()[0] == 3


def test_file_names_need_the_folder_and_dry_run_writes_nothing(tmp_path):
    db = make_hub(tmp_path / "hub")
    pics = tmp_path / "pics"
    pics.mkdir()
    (pics / "milk.jpg").write_bytes(jpeg())
    f = tmp_path / "items.csv"
    f.write_text(HEADER + "\nMILK,Milk,1250,milk.jpg\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["catalog", "import", str(f), "--data-dir", str(tmp_path / "hub")])
    assert res.exit_code == 3 and "row 2: picture: milk.jpg is a file name: give the folder" in res.output
    assert catalog.get_item_by_sku(db.read(), "MILK")["picture_sha256"] is None
    res = invoke("catalog", "import", f, "--pictures", pics, "--dry-run", "--data-dir", tmp_path / "hub")
    assert res.exit_code == 0 and "pictures would attach 1" in res.output
    assert catalog.get_item_by_sku(db.read(), "MILK")["picture_sha256"] is None
    res = invoke("catalog", "import", f, "--pictures", pics, "--data-dir", tmp_path / "hub")
    assert res.exit_code == 0 and "pictures attached 1" in res.output
    assert catalog.get_item_by_sku(db.read(), "MILK")["picture_sha256"]


def test_fetch_size_cap_and_timeout(tmp_path, picture_server, monkeypatch):
    monkeypatch.setattr(pictures, "MAX_BYTES", 1000)
    with pytest.raises(catalog_pictures.SourceError, match="bytes; at most 1000"):
        catalog_pictures.read(f"{picture_server}/img/bread.png", None)
    # a server that accepts and never answers: the fetch gives up after its timeout
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        with pytest.raises(catalog_pictures.SourceError, match="could not be fetched"):
            catalog_pictures.read(f"http://127.0.0.1:{silent.getsockname()[1]}/x.png", None, timeout=0.5)
    finally:
        silent.close()
    with pytest.raises(catalog_pictures.SourceError, match="only http"):
        catalog_pictures.read("file:///etc/passwd", tmp_path)
