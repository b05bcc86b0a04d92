"""A simulated integrated bank-card terminal on a TCP socket, speaking the generic ECR framing of
``hub.protocol.ecr`` byte for byte (STX … ETX LRC, ACK/NAK, a request acknowledged at once and its final result
sent when the "customer" is done).

What the customer does is chosen by the amount's last two digits (minor units), as an acquirer's test cards do:
``51`` declined (05); ``52`` cancelled by the customer on the PIN pad (17); ``53`` no card presented in time (68);
``54`` the terminal acknowledges and then never answers (the link is silent); ``55`` approved, but the terminal
closes the connection before the answer goes out (the answer is lost: ask for the last transaction); anything
else approved (00). Link faults for tests: ``nak_requests`` (NAK the next N good request frames), ``corrupt_answers``
(send the next N answer frames with a wrong LRC), ``mute`` (read everything, answer nothing, not even ACK).

A request whose ``ecr_ref`` the terminal already processed is answered with the stored result, so a resent sale
never charges twice; ``last`` answers the stored result for the reference (``25`` when there is none).
``snapshot()`` shows every transaction (for tests). Stdlib only."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

from hub.protocol.ecr import GENERIC_ECR, FrameReader, TerminalProtocol

log = logging.getLogger(__name__)

SCENARIOS = {51: "declined", 52: "cancelled", 53: "timeout", 54: "silent", 55: "answer_lost"}
CODES = {"approved": "00", "declined": "05", "cancelled": "17", "timeout": "68", "not_found": "25"}


class TerminalSim:
    def __init__(
        self,
        protocol: TerminalProtocol = GENERIC_ECR,
        *,
        delay_s: float = 0.05,
        pan: str = "6222021234567890",
        scheme: str = "UNIONPAY",
        batch: int = 1,
    ):
        self.p = protocol
        self.delay_s = delay_s
        self.pan, self.scheme, self.batch = pan, scheme, batch
        self.lock = threading.Lock()
        self.txns: dict[str, dict[str, Any]] = {}
        self.nak_requests = 0
        self.corrupt_answers = 0
        self.mute = False
        self.received: list[bytes] = []  # every raw chunk read (tests look at the exact bytes)
        self.on_request: Callable[[str, dict[str, Any]], None] | None = None  # told every decoded request
        self._rrn = 0

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(self.txns))

    # --- what the terminal decides ---------------------------------------------------------------------------
    def _result(self, ref: str, request: str, code: str, amount: int, approved: bool) -> dict[str, Any]:
        self._rrn += 1
        return {
            "ecr_ref": ref,
            "request": request,
            "code": code,
            "amount": amount,
            "approval_code": f"{secrets.randbelow(10**6):06d}" if approved else "",
            "pan_last4": self.pan[-4:] if approved or code == "05" else "",
            "scheme": self.scheme if approved or code == "05" else "",
            "batch": self.batch,
            "reference": f"{int(time.time()) % 10**6:06d}{self._rrn:06d}",
        }

    def decide(self, kind: str, v: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """(behaviour, result) for a request: behaviour ``answer`` | ``silent`` | ``answer_lost``."""
        ref = v["ecr_ref"]
        with self.lock:
            if kind == "last":
                t = self.txns.get(ref)
                if t is None or t["result"] is None:  # never heard of, or never completed
                    return "answer", self._result(ref, "L", CODES["not_found"], 0, False)
                return "answer", t["result"]
            if ref in self.txns:  # the same request again: the stored answer, nothing charged twice
                self.txns[ref]["repeats"] += 1
                return "answer", self.txns[ref]["result"]
            letter = self.p.requests[kind].type
            if kind == "void":
                orig = self.txns.get(v["orig_ref"])
                if orig is None or orig["state"] != "approved":
                    res = self._result(ref, letter, CODES["not_found"], v["amount"], False)
                else:
                    orig["state"] = "voided"
                    res = self._result(ref, letter, CODES["approved"], v["amount"], True)
                self.txns[ref] = {"kind": kind, "amount": v["amount"], "state": "done", "result": res, "repeats": 0}
                return "answer", res
            scenario = SCENARIOS.get(v["amount"] % 100, "approved")
            outcome = "approved" if scenario in ("answer_lost",) else scenario
            if scenario == "silent":
                self.txns[ref] = {"kind": kind, "amount": v["amount"], "state": "pending", "result": None, "repeats": 0}
                return "silent", None
            res = self._result(ref, letter, CODES[outcome], v["amount"], outcome == "approved")
            self.txns[ref] = {
                "kind": kind,
                "amount": v["amount"],
                "orig_ref": v.get("orig_ref"),
                "state": outcome,
                "result": res,
                "repeats": 0,
            }
            return ("answer_lost" if scenario == "answer_lost" else "answer"), res

    # --- the link ------------------------------------------------------------------------------------------------
    def serve(self, sock: socket.socket) -> None:
        try:
            self._serve(sock)
        except OSError:  # the ECR went away mid-exchange (a hub killed while the customer paid): its loss
            return

    def _serve(self, sock: socket.socket) -> None:
        f = self.p.framing
        reader = FrameReader(f)
        sock.settimeout(0.2)
        pending: bytes | None = None  # an answer frame waiting for its ACK
        sent_at, resends = 0.0, 0
        while True:
            try:
                data = sock.recv(4096)
                if not data:
                    return
            except TimeoutError:
                data = b""
            except OSError:
                return
            if data:
                with self.lock:
                    self.received.append(data)
            if self.mute:
                continue
            for ev in reader.feed(data):
                if ev[0] == "bad":
                    sock.sendall(bytes([f.nak]))
                elif ev[0] == "ack" and pending is not None:
                    pending = None
                elif ev[0] == "nak" and pending is not None:
                    if resends >= f.max_resends:
                        pending = None
                        continue
                    resends += 1
                    sock.sendall(pending)
                    sent_at = time.monotonic()
                elif ev[0] == "frame":
                    with self.lock:
                        nak = self.nak_requests > 0
                        self.nak_requests -= 1 if nak else 0
                    if nak:
                        sock.sendall(bytes([f.nak]))
                        continue
                    try:
                        kind, values = self.p.decode(ev[1])
                    except ValueError as exc:
                        log.warning("terminal sim: %s", exc)
                        sock.sendall(bytes([f.nak]))
                        continue
                    sock.sendall(bytes([f.ack]))
                    if self.on_request is not None:
                        self.on_request(kind, values)
                    behaviour, res = self.decide(kind, values)
                    if behaviour == "silent" or res is None:
                        continue
                    time.sleep(self.delay_s)
                    if behaviour == "answer_lost":
                        sock.close()
                        return
                    frame = self.p.encode("result", res)
                    with self.lock:
                        corrupt = self.corrupt_answers > 0
                        self.corrupt_answers -= 1 if corrupt else 0
                    sock.sendall(frame[:-1] + bytes([frame[-1] ^ 0xFF]) if corrupt else frame)
                    pending, sent_at, resends = frame, time.monotonic(), 0
            if pending is not None and time.monotonic() - sent_at > f.ack_timeout_s:
                if resends >= f.max_resends:
                    pending = None
                else:
                    resends += 1
                    sock.sendall(pending)
                    sent_at = time.monotonic()


def make_server(sim: TerminalSim, host: str = "127.0.0.1", port: int = 0) -> socketserver.ThreadingTCPServer:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sim.serve(self.request)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer((host, port), Handler)
    srv.daemon_threads = True
    return srv


def run(host: str, port: int, delay_s: float) -> None:
    """Serve until stopped; prints one JSON line with the address, then one per request received (kind, ecr_ref,
    amount), so a test or an operator sees what the ECR sent."""
    sim = TerminalSim(delay_s=delay_s)
    out_lock = threading.Lock()

    def tell(kind: str, values: dict[str, Any]) -> None:
        with out_lock:
            print(
                json.dumps({"request": kind, "ecr_ref": values["ecr_ref"], "amount": values.get("amount")}), flush=True
            )

    sim.on_request = tell
    srv = make_server(sim, host, port)
    log.info("card terminal simulator (generic ECR) on %s:%s", *srv.server_address[:2])
    print(json.dumps({"host": srv.server_address[0], "port": srv.server_address[1]}), flush=True)
    srv.serve_forever()
