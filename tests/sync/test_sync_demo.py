"""The demo's sync wiring: provisioning, then the real central and worker processes."""

from __future__ import annotations

import subprocess
import sys

from hub.demo.context import DemoContext
from hub.synclink import state
from sync.demo import OFFICE_USER, components
from tests.support.common import free_port
from tests.support.sync import wait_until


def test_demo_components_provision_and_sync(tmp_path):
    import os

    import requests

    data = tmp_path / "demo"
    from hub.store import initialise, open_db

    cfg, db = open_db(data)
    initialise(db, store_id="demo-x", store_name="Demo X")
    db.close()
    ctx = DemoContext(
        data_dir=data, store_id="demo-x", hub_port=free_port(), central_port=free_port(), python=sys.executable
    )
    comps = components(ctx)
    assert [c.name.split(" ")[0] for c in comps] == ["e-invoice", "central", "e-invoice", "sync"]
    cred = state.read_credentials(data)
    assert cred["store_id"] == "demo-x" and cred["central_url"] == ctx.central_url
    assert oct((data / "sync.json").stat().st_mode & 0o777) == "0o600"
    components(ctx)  # running the demo again re-provisions cleanly
    procs = []
    try:
        for c in comps:
            procs.append(
                subprocess.Popen(
                    c.argv,
                    env={**os.environ, **c.env},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        from hub.store import open_db as reopen

        _cfg, db = reopen(data)
        from hub.synclink.state import status

        wait_until(
            lambda: status(db.read())["pending"] == 0 and status(db.read())["downlink_version"] == 3,
            60,
            0.3,
            "demo sync",
        )
        from hub.kernel import settings

        assert settings.get(db.read(), "receipt_footer").startswith("欢迎光临")
        assert settings.get(db.read(), "finance.einvoice_url") == ctx.central_url  # receipts carry the invoice QR
        # the central's e-invoice page is configured for the demo's simulator: a receipt not synced (yet) is
        # "not yet available" (not "e-invoices not offered"), with the token the hub prints
        from hub.finance.einvoice import invoice_link, token_key
        from sync.protocol import secret_digest

        link = invoice_link(
            ctx.central_url,
            "demo-x",
            "SHR-demo-x-20261201-9999",
            token_key(secret_digest(state.read_credentials(data)["secret"]), "demo-x"),
        )
        wait_until(lambda: requests.get(link, timeout=5).status_code == 404, 30, 0.3, "e-invoice page")
        s = requests.Session()
        page = s.get(ctx.central_url + "/login").text
        import re

        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        r = s.post(
            ctx.central_url + "/login", data={"username": OFFICE_USER[0], "password": OFFICE_USER[1], "csrf": csrf}
        )
        assert r.status_code == 200 and "demo-x" in r.text
        db.close()
    finally:
        import signal

        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(15)
