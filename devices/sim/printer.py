"""An ESC/POS network printer (raw TCP, like port 9100) that decodes what it receives.

Each finished job (ended by a cut or by the end of the connection) becomes a dict with ``lines``,
``barcodes`` [{symbology, value}], ``qr`` [text], ``cut``, ``drawer``, ``elements`` (everything in order, with
styles) and ``unknown`` commands; with ``out_dir`` it is also written as ``job-NNNN.json`` and a picture of the
paper ``job-NNNN.png``. Real-time status requests (``DLE EOT n``) are answered from :attr:`state` — set
``sim.state.paper = "out"`` to simulate an empty roll. With ``http_port`` a small page lists the jobs.

The paper is ``columns`` font-A columns wide (12 dots each at 203 dpi: 48 for an 80 mm roll, 32 for 58 mm).
Each job says ``paper_columns`` and lists in ``overflow`` every text line and barcode wider than the paper
(counted from the bytes received, see :mod:`devices.sim.escpos_decode`): a real printer would cut or wrap
those, and the PNG shows them running off the paper.

Use in tests::

    with PrinterSim(out_dir=tmp_path / "paper") as sim:
        ... print to tcp://127.0.0.1:{sim.port} ...
        job = sim.wait_for_jobs(1)[0]
        assert "SHO-1001" in job["lines"]
"""

from __future__ import annotations

import html
import json
import logging
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devices.sim.escpos_decode import EscposDecoder, Job, PrinterState
from hub.protocol.timeutil import now_iso

log = logging.getLogger(__name__)

FONT_PATHS = ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
PAPER_COLUMNS = 48  # 80 mm roll: 576 dots at 203 dpi, font A 12 dots wide
DOTS_PER_COLUMN = 12
PAPER_PX = PAPER_COLUMNS * DOTS_PER_COLUMN


class PrinterSim:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        out_dir: Path | str | None = None,
        http_port: int | None = None,
        render_png: bool = True,
        answer_status: bool = True,
        columns: int = PAPER_COLUMNS,
    ):
        self.state = PrinterState()
        self.columns = columns
        self.answer_status = answer_status  # False: a printer that ignores DLE EOT (many cheap ones)
        self.out_dir = Path(out_dir) if out_dir else None
        if self.out_dir:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.render_png = render_png
        self.jobs: list[dict] = []
        self.connections = 0
        self._cond = threading.Condition()
        sim = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                sim._serve(self.request, self.client_address)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._http = None
        if http_port is not None:
            self._http = ThreadingHTTPServer((host, http_port), _viewer(self))
            self._http.daemon_threads = True
            self.http_port = self._http.server_address[1]
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> PrinterSim:
        for srv in filter(None, (self._server, self._http)):
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for srv in filter(None, (self._server, self._http)):
            srv.shutdown()
            srv.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_for_jobs(self, n: int, timeout: float = 10.0) -> list[dict]:
        end = time.monotonic() + timeout
        with self._cond:
            while len(self.jobs) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"printer got {len(self.jobs)} job(s), wanted {n}")
                self._cond.wait(left)
            return list(self.jobs)

    # ---------------------------------------------------------------- serving
    def _serve(self, sock: socket.socket, peer) -> None:
        self.connections += 1
        decoder = EscposDecoder(self.state)
        sock.settimeout(0.5)
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            reply = decoder.feed(data)
            if reply and self.answer_status:
                sock.sendall(reply)
            self._collect(decoder, peer)
        decoder.close()
        self._collect(decoder, peer)

    def _collect(self, decoder: EscposDecoder, peer) -> None:
        while decoder.jobs:
            self._add(decoder.jobs.pop(0), peer)

    def _add(self, job: Job, peer) -> None:
        with self._cond:
            seq = len(self.jobs) + 1
            d = {
                "id": f"job-{seq:04d}",
                "received_at": now_iso(),
                "peer": f"{peer[0]}:{peer[1]}",
                "paper": self.state.paper,
                **job.to_dict(),
                "paper_columns": self.columns,
                "overflow": overflow(job, self.columns),
            }
            if self.out_dir:
                d["json_path"] = str(self.out_dir / f"{d['id']}.json")
                if self.render_png:
                    d["png_path"] = str(self.out_dir / f"{d['id']}.png")
                    render_png(job, self.columns * DOTS_PER_COLUMN).save(d["png_path"])
                tmp = Path(d["json_path"] + ".tmp")  # readers never see half a file
                tmp.write_text(json.dumps(d, ensure_ascii=False, indent=1), encoding="utf-8")
                tmp.replace(d["json_path"])
            self.jobs.append(d)
            self._cond.notify_all()
        log.info(
            "printed %s: %d line(s), %d barcode(s), %d QR", d["id"], len(d["lines"]), len(d["barcodes"]), len(d["qr"])
        )


def overflow(job: Job, columns: int) -> list[dict]:
    """The text lines and barcodes of ``job`` wider than a paper of ``columns`` columns."""
    out = []
    for el in job.elements:
        if el["type"] == "text" and el["columns"] > columns:
            out.append({"type": "text", "text": el["text"], "columns": el["columns"]})
        elif el["type"] == "barcode" and (el.get("dots") or 0) > columns * DOTS_PER_COLUMN:
            out.append({"type": "barcode", "value": el["value"], "dots": el["dots"]})
    return out


def _font(size: int):
    from PIL import ImageFont

    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def render_png(job: Job, paper_px: int = PAPER_PX):
    """A picture of the paper: text lines, barcodes (bars + value), QR codes (a real, scannable QR)."""
    import qrcode
    from PIL import Image, ImageDraw

    items = []  # (height, draw_fn)
    for el in job.elements:
        t = el["type"]
        if t == "text":
            font = _font(22 * el.get("height", 1))
            items.append((30 * el.get("height", 1), ("text", el, font)))
        elif t == "barcode":
            items.append((110, ("barcode", el, _font(20))))
        elif t == "qr":
            img = qrcode.make(el["value"], border=1).get_image().convert("L")
            side = min(paper_px - 40, 40 * max(3, el.get("size", 3)))
            items.append((side + 30, ("qr", el, img.resize((side, side)))))
        elif t == "image" and el.get("format") == "raster":
            w, h = el["width"], el["height"]
            img = Image.frombytes("1", (w, h), bytes.fromhex(el["data"]))
            from PIL import ImageOps

            items.append((h + 10, ("image", el, ImageOps.invert(img.convert("L")))))
        elif t == "feed":
            items.append((8 * el["lines"], ("feed", el, None)))
        elif t == "drawer":
            items.append((24, ("text", {"text": "[cash drawer opened]", "align": "center"}, _font(16))))
    height = 20 + sum(h for h, _ in items) + (30 if job.cut else 0)
    img = Image.new("L", (paper_px, max(height, 60)), 255)
    draw = ImageDraw.Draw(img)
    y = 10

    def place(width, align):
        return {"center": (paper_px - width) // 2, "right": paper_px - width - 10}.get(align, 10)

    for h, (kind, el, extra) in items:
        if kind == "text":
            text = el["text"]
            w = draw.textlength(text, font=extra)
            x = place(int(w), el.get("align", "left"))
            draw.text((x, y), text, font=extra, fill=0)
            if el.get("bold"):
                draw.text((x + 1, y), text, font=extra, fill=0)
        elif kind == "barcode":
            value = el["value"]
            bw = el.get("dots") or min(paper_px - 40, 40 + 9 * len(value) * 2)  # wider than the paper: cut off
            x0 = (paper_px - bw) // 2
            seed = sum(value.encode())
            for i in range(0, bw, 3):
                if (i * 7 + seed + ord(value[(i // 3) % len(value)])) % 3:
                    draw.rectangle([x0 + i, y, x0 + i + 1, y + 70], fill=0)
            label = f"{value}  ({el['symbology']})"
            draw.text((place(int(draw.textlength(label, font=extra)), "center"), y + 78), label, font=extra, fill=0)
        elif kind in ("qr", "image"):
            img.paste(extra, (place(extra.width, el.get("align", "center")), y))
            if kind == "qr":
                lab = el["value"] if len(el["value"]) < 50 else el["value"][:47] + "..."
                f = _font(16)
                draw.text(
                    (place(int(draw.textlength(lab, font=f)), "center"), y + extra.height + 4), lab, font=f, fill=0
                )
        y += h
    if job.cut:
        for x in range(0, paper_px, 12):
            draw.line([x, y + 10, x + 6, y + 10], fill=0)
    return img


def _viewer(sim: PrinterSim):
    class Viewer(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path in ("/", "/index.html"):
                rows = "".join(
                    f"<div style='display:inline-block;margin:8px;vertical-align:top'><b>{html.escape(j['id'])}</b> "
                    f"{html.escape(j['received_at'])}<br><img style='border:1px solid #999;width:288px' "
                    f"src='/{html.escape(j['id'])}.png'></div>"
                    for j in reversed(sim.jobs[-30:])
                )
                body = (
                    f"<html><head><meta charset='utf-8'><meta http-equiv='refresh' content='5'>"
                    f"<title>Printer simulator</title></head><body><h1>Printer simulator "
                    f"(tcp {sim.port}, paper {sim.state.paper})</h1>{rows or 'no jobs yet'}</body></html>"
                )
                return self._send(200, "text/html; charset=utf-8", body.encode())
            if self.path == "/jobs.json":
                return self._send(200, "application/json", json.dumps(sim.jobs, ensure_ascii=False).encode())
            name = self.path.lstrip("/")
            job = next((j for j in sim.jobs if f"{j['id']}.png" == name and j.get("png_path")), None)
            if job:
                return self._send(200, "image/png", Path(job["png_path"]).read_bytes())
            self._send(404, "text/plain", b"not found")

        def _send(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Viewer


def run(host: str, port: int, out_dir: str, http_port: int | None) -> None:
    sim = PrinterSim(host, port, out_dir, http_port).start()
    print(
        f"ESC/POS printer simulator on tcp://{host}:{sim.port}, jobs in {out_dir}"
        + (f", viewer http://{host}:{sim.http_port}/" if http_port is not None else ""),
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
