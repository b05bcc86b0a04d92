"""``storehub init`` creates the store CA and hub certificate; ``storehub pki status|renew|export-ca``;
``storehub serve`` refuses plain HTTP off loopback."""

from __future__ import annotations

import json
import subprocess
import sys

from cryptography import x509

from hub.pki import certs
from tests.support.common import ROOT


def storehub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )


def test_init_status_renew_and_export(tmp_path):
    d = tmp_path / "hub"
    out = storehub("init", "--data-dir", str(d), "--store", "s-042", "--tls-name", "hub.store.lan")
    assert out.returncode == 0, out.stderr
    files = certs.PkiFiles.in_data_dir(d)
    fp = certs.fingerprint(certs.load_ca(files))
    assert f"store CA created: SHA-256 {fp}" in out.stdout
    assert "enrol handhelds at http://hub.store.lan:8001/enrol" in out.stdout
    again = storehub("init", "--data-dir", str(d), "--store", "s-042")
    assert again.returncode == 0 and "store CA kept" in again.stdout and fp in again.stdout  # never replaced

    status = json.loads(storehub("pki", "status", "--data-dir", str(d), "--json").stdout)
    assert status["ca"]["fingerprint_sha256"] == fp and "hub.store.lan" in status["hub"]["names"]
    assert {"localhost", "127.0.0.1"} <= set(status["hub"]["names"]) and status["renewal_due"] is None
    assert fp in storehub("pki", "status", "--data-dir", str(d)).stdout

    serial = certs.load_hub(files).serial_number
    r = storehub("pki", "renew", "--data-dir", str(d), "--name", "till-gw.internal")
    assert r.returncode == 0 and "issued (names)" in r.stdout and "till-gw.internal" in r.stdout
    assert certs.load_hub(files).serial_number != serial
    assert "still good" in storehub("pki", "renew", "--data-dir", str(d)).stdout
    assert "issued (forced)" in storehub("pki", "renew", "--data-dir", str(d), "--force").stdout
    r = storehub("pki", "renew", "--data-dir", str(d), "--name", "not a name")
    assert r.returncode == 2 and "not a host name" in r.stderr

    pem = storehub("pki", "export-ca", "--data-dir", str(d)).stdout.encode()
    assert x509.load_pem_x509_certificate(pem) == certs.load_ca(files)
    der_file = tmp_path / "ca.crt"
    assert storehub("pki", "export-ca", "--data-dir", str(d), "--format", "der", "-o", str(der_file)).returncode == 0
    assert certs.fingerprint(x509.load_der_x509_certificate(der_file.read_bytes())) == fp
    assert storehub("pki", "enrolled", "--data-dir", str(d)).stdout == ""


def test_serve_refuses_plain_http_off_loopback(tmp_path):
    r = storehub("serve", "--data-dir", str(tmp_path / "hub"), "--host", "0.0.0.0", "--no-tls")
    assert r.returncode == 2 and "plain HTTP is only for a loopback address" in r.stderr
