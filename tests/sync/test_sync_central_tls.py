"""The central keeps its own certificate (a public or corporate CA, not the store's): the sync worker verifies it
against the system CAs or the configured CA bundle (``ca_bundle``), host name included, and sends nothing to a
central it cannot verify. The central here is an HTTPS stand-in answering the uplink; what is tested is the
worker's TLS, not the central's logic."""

from __future__ import annotations

import json
import ssl
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub.pki import certs
from sync.worker import SyncError, SyncWorker, WorkerConfig
from tests.support.bus import make_hub_db

NOW = datetime.now(UTC)


def _ca_and_server_cert(root, names):
    """A CA standing in for the corporate one and a server certificate from it (``<root>/pki/hub.pem``)."""
    files = certs.PkiFiles(root / "pki")
    certs.create_ca(files, store_id="corp", names=names, now=NOW)
    certs.issue_hub(files, names, now=NOW)
    return files


@pytest.fixture
def central(tmp_path):
    """An HTTPS server for ``localhost`` only, counting the uplink requests that reach it."""
    files = _ca_and_server_cert(tmp_path / "corp", ["localhost"])
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            body = json.dumps({"acked_through": 0, "rejected": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(files.hub_pem))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield {"port": server.server_address[1], "ca": files.ca_cert, "seen": seen}
    finally:
        server.shutdown()
        server.server_close()


def _worker(db, url, ca_bundle):
    return SyncWorker(
        db, WorkerConfig(central_url=url, store_id="test-store", secret="s" * 32, ca_bundle=ca_bundle, timeout_s=10)
    )


def test_worker_verifies_the_centrals_certificate(tmp_path, data_dir, central):
    db = make_hub_db(data_dir)
    try:
        port = central["port"]
        # trusted through the configured corporate CA bundle: the heartbeat goes through
        assert _worker(db, f"https://localhost:{port}", str(central["ca"])).push_once(heartbeat=True) == 0
        assert central["seen"] == ["/sync/v1/stores/test-store/events"]
        # the default (system CAs) does not know that CA: refused before any request is sent
        with pytest.raises(SyncError, match="CERTIFICATE_VERIFY_FAILED"):
            _worker(db, f"https://localhost:{port}", None).push_once(heartbeat=True)
        # another CA in the bundle: refused
        other = _ca_and_server_cert(tmp_path / "other", ["localhost"])
        with pytest.raises(SyncError, match="CERTIFICATE_VERIFY_FAILED"):
            _worker(db, f"https://localhost:{port}", str(other.ca_cert)).push_once(heartbeat=True)
        # the right CA but a name the certificate does not carry: refused
        with pytest.raises(SyncError, match="CERTIFICATE_VERIFY_FAILED|match"):
            _worker(db, f"https://127.0.0.1:{port}", str(central["ca"])).push_once(heartbeat=True)
        assert len(central["seen"]) == 1
    finally:
        db.close()
