"""``storehub agent printer``: ``cmd/print`` {document} → ESC/POS on paper, exactly once per request_id.

Options:
  connection   tcp://host:9100 | serial:///dev/ttyUSB0?baudrate=19200 | usb://04b8:0202 | file:///dev/usb/lp0
  profile      python-escpos printer profile (default TM-T88V)
  width        characters per line in font A (default 42)
  cjk          true when the printer prints Chinese (GB18030 in Kanji mode)
  status_every seconds between status polls while idle (default 30; 0 = never)
"""

from __future__ import annotations

from devices.common.agent import CommandError, DeviceAgent
from devices.common.config import AgentConfig
from devices.printer.connection import PrinterOffline, close_quietly, open_printer, query_status
from devices.printer.documents import DocumentError, layout
from devices.printer.journal import Journal, doc_hash
from devices.printer.render import render


class PrinterAgent(DeviceAgent):
    kind = "printer"

    def __init__(self, cfg: AgentConfig):
        super().__init__(
            cfg,
            capabilities=[
                "print",
                "receipt",
                "shelf_label",
                "pick_label",
                "pack_label",
                "text",
                "qr",
                "ean13",
                "code128",
            ],
        )
        o = cfg.options
        if not o.get("connection"):
            raise ValueError("printer option 'connection' is required (e.g. tcp://192.168.1.50:9100)")
        self.connection = o["connection"]
        self.profile = o.get("profile", "TM-T88V")
        self.width = int(o.get("width", 42))
        self.cjk = str(o.get("cjk", "false")).lower() in ("1", "true", "yes")
        self.status_every = float(o.get("status_every", 30))
        self.model = f"ESC/POS ({self.profile})"
        self.journal = Journal(cfg.state_dir / f"{cfg.device}-jobs.sqlite")
        self.on_command("print", self._print_cmd)

    def close_device(self) -> None:
        self.journal.close()

    # ----------------------------------------------------------------- print
    def _print_cmd(self, body: dict) -> dict:
        return self.print_document(body["request_id"], body.get("document"))

    def print_document(self, request_id: str, doc) -> dict:
        try:
            blocks = layout(doc, self.width)
        except DocumentError as exc:
            raise CommandError(f"bad document: {exc}") from None
        digest = doc_hash(doc)
        job = self.journal.get(request_id)
        if job:
            if job["doc_hash"] != digest:
                raise CommandError(f"request_id {request_id} was already used for a different document")
            if job["state"] == "printed":
                self.log.info("job %s already printed at %s: not printing again", request_id, job["updated_at"])
                return {"duplicate": True, "printed_at": job["updated_at"]}
            if job["state"] == "uncertain":
                raise CommandError(
                    f"job {request_id} was interrupted while printing ({job['error']}); it may be "
                    "partly printed and is not resent: send a new request_id to print it again"
                )
        else:
            self.journal.begin(request_id, digest)
        data = render(blocks, profile=self.profile, width=self.width, cjk=self.cjk, copies=int(doc.get("copies", 1)))
        try:
            p = open_printer(self.connection, profile=self.profile)
        except PrinterOffline as exc:
            self.journal.set(request_id, "failed", str(exc))
            self.set_state(error=f"printer offline: {exc}")
            raise CommandError(f"printer offline: {exc}") from None
        try:
            try:
                st = query_status(p)
            except PrinterOffline as exc:
                self.journal.set(request_id, "failed", str(exc))
                self.set_state(error=str(exc))
                raise CommandError(str(exc)) from None
            if st.paper:
                self.set_state(paper=st.paper)
            if st.paper == "out":
                self.journal.set(request_id, "failed", "paper out")
                self.set_state(error="paper out")
                raise CommandError("paper out: load a new roll and retry")
            if st.online is False:
                self.journal.set(request_id, "failed", "printer offline (cover open or error)")
                self.set_state(error="printer offline (cover open or error)")
                raise CommandError("printer offline (cover open or error)")
            self.journal.set(request_id, "sending", nbytes=len(data))
            try:
                p._raw(data)
            except Exception as exc:  # noqa: BLE001 - any transport error mid-job: the outcome is unknown
                self.journal.set(request_id, "uncertain", f"link failed while sending: {exc}")
                self.set_state(error=f"printer link failed: {exc}")
                raise CommandError(f"printer link failed while sending ({exc}); job may be partly printed") from None
            self.journal.set(request_id, "printed", nbytes=len(data))
            self.set_state(error=None)
            self.log.info("printed %s (%s, %d bytes)", request_id, doc.get("type"), len(data))
            return {"bytes": len(data), **({"paper": st.paper} if st.paper else {})}
        finally:
            close_quietly(p)

    # ------------------------------------------------------------------ loop
    def poll_status(self) -> None:
        try:
            p = open_printer(self.connection, profile=self.profile, timeout=3)
        except PrinterOffline as exc:
            self.set_state(error=f"printer offline: {exc}")
            return
        try:
            st = query_status(p)
            changes = {}
            if st.paper:
                changes["paper"] = st.paper
            if st.paper == "out":
                changes["error"] = "paper out"
            elif st.online is False:
                changes["error"] = "printer offline (cover open or error)"
            else:
                changes["error"] = None
            self.set_state(**changes)
        except PrinterOffline as exc:
            self.set_state(error=str(exc))
        finally:
            close_quietly(p)

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.status_every > 0:
                self.poll_status()
                self.stopping.wait(self.status_every)
            else:
                self.stopping.wait(1.0)


def print_once(connection: str, document: dict, *, profile: str = "TM-T88V", width: int = 42, cjk: bool = False) -> int:
    """Render and send one document directly (no MQTT, no journal) — for tools and tests. Returns bytes sent."""
    data = render(layout(document, width), profile=profile, width=width, cjk=cjk, copies=document.get("copies", 1))
    p = open_printer(connection, profile=profile)
    try:
        p._raw(data)
    finally:
        close_quietly(p)
    return len(data)
