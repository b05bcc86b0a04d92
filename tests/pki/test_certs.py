"""The store CA and the hub certificate: names, file modes, renewal before expiry and on an address change, name
constraints — each certificate checked by an independent verifier (cryptography's RFC 5280 path builder)."""

from __future__ import annotations

import ipaddress
import os
import ssl
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from hub.kernel.errors import ValidationError
from hub.pki import certs, rules, workflow
from hub.pki.names import host_names, wanted_names
from hub.pki.tls import ContextCache, Renewer

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def names_with(*addresses: str):
    """A names(extra) function for a box called 'shelfhub' with these LAN addresses (no real interfaces)."""
    return lambda extra: wanted_names(extra=extra, hostname="shelfhub", addresses=addresses)


def verify(files: certs.PkiFiles, name: str, at: datetime = NOW) -> None:
    """Build and check the chain hub certificate → store CA for ``name``, as a TLS client would."""
    ca = certs.load_ca(files)
    hub = certs.load_hub(files)
    subject = x509.IPAddress(ipaddress.ip_address(name)) if rules.is_ip(name) else x509.DNSName(name)
    verifier = PolicyBuilder().store(Store([ca])).time(at).build_server_verifier(subject)
    verifier.verify(hub, [])


def test_sans_cover_host_names_extra_names_addresses_and_loopback(tmp_path):
    files = certs.PkiFiles.in_data_dir(tmp_path)
    certs.change_extra_names(files, add=["Hub.Store.LAN."])
    out = workflow.check(tmp_path, "store-007", now=NOW, names=names_with("192.168.1.20", "fd12::7"))
    assert out.ca_created and out.hub_issued == "missing" and out.left_out == []
    want = ["shelfhub", "shelfhub.local", "hub.store.lan", "192.168.1.20", "fd12::7", "localhost", "127.0.0.1", "::1"]
    assert certs.sans(certs.load_hub(files)) == want
    for name in want:
        verify(files, name)
    with pytest.raises(VerificationError):
        verify(files, "192.168.1.21")  # a name it does not carry is refused
    hub = certs.load_hub(files)
    assert hub.not_valid_after_utc - NOW <= rules.HUB_VALIDITY and hub.not_valid_before_utc < NOW
    assert (
        x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in hub.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    ca = certs.load_ca(files)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - NOW > timedelta(days=19 * 365)
    assert "store-007" in ca.subject.rfc4514_string()


def test_key_files_are_private_and_certificates_public(tmp_path):
    workflow.check(tmp_path, "s1", now=NOW, names=names_with("10.0.0.5"))
    files = certs.PkiFiles.in_data_dir(tmp_path)
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    assert mode(files.root) == 0o700
    assert mode(files.ca_key) == 0o600 and mode(files.hub_pem) == 0o600
    assert mode(files.ca_cert) == 0o644
    assert b"PRIVATE KEY" in files.hub_pem.read_bytes() and b"PRIVATE KEY" not in files.ca_cert.read_bytes()
    # a renewal writes the key file again: still 0600, and no temporary file is left behind
    workflow.check(tmp_path, "s1", now=NOW, force=True, names=names_with("10.0.0.5"))
    assert mode(files.hub_pem) == 0o600
    assert sorted(p.name for p in files.root.iterdir()) == [".lock", "hub.pem", "store-ca.crt", "store-ca.key"]


def test_renewed_before_expiry_not_before(tmp_path):
    names = names_with("192.168.1.20")
    workflow.check(tmp_path, "s1", now=NOW, names=names)
    files = certs.PkiFiles.in_data_dir(tmp_path)
    first = certs.load_hub(files)
    ca_fp = certs.fingerprint(certs.load_ca(files))
    end = first.not_valid_after_utc
    out = workflow.check(tmp_path, "s1", now=end - rules.RENEW_BEFORE - timedelta(hours=1), names=names)
    assert out.hub_issued is None and certs.load_hub(files).serial_number == first.serial_number
    later = end - rules.RENEW_BEFORE + timedelta(hours=1)
    assert workflow.status(tmp_path, now=later, names=names)["renewal_due"] == "expiring"
    out = workflow.check(tmp_path, "s1", now=later, names=names)
    assert out.hub_issued == "expiring" and not out.ca_created
    renewed = certs.load_hub(files)
    assert renewed.serial_number != first.serial_number and renewed.not_valid_after_utc > end
    assert certs.fingerprint(certs.load_ca(files)) == ca_fp  # the CA is kept: handhelds stay enrolled
    verify(files, "192.168.1.20", at=later)


def test_renewed_when_an_address_changes(tmp_path):
    workflow.check(tmp_path, "s1", now=NOW, names=names_with("192.168.1.20"))
    files = certs.PkiFiles.in_data_dir(tmp_path)
    assert workflow.check(tmp_path, "s1", now=NOW, names=names_with("192.168.1.20")).hub_issued is None
    out = workflow.check(tmp_path, "s1", now=NOW, names=names_with("192.168.1.77"))
    assert out.hub_issued == "names"
    verify(files, "192.168.1.77")
    with pytest.raises(VerificationError):
        verify(files, "192.168.1.20")  # the old address, maybe another box's now, is gone


def test_the_ca_is_name_constrained_to_the_lan(tmp_path):
    files = certs.PkiFiles.in_data_dir(tmp_path)
    out = workflow.check(tmp_path, "s1", now=NOW, names=names_with("192.168.1.20", "203.0.113.9"))
    assert out.left_out == ["203.0.113.9"] and "203.0.113.9" not in out.names
    nc = certs.load_ca(files).extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical
    assert set(certs.ca_dns_subtrees(certs.load_ca(files))) == {*rules.PERMITTED_DNS_SUFFIXES, "shelfhub"}
    # a certificate the CA key signs for a public name is refused by a verifier that honours the constraints;
    # the same certificate for a LAN name is accepted (so it is the name that is refused, nothing else)
    ca_key = certs.serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    hub = certs.load_hub(files)

    def signed_for(name: str) -> x509.Certificate:
        b = (
            x509.CertificateBuilder()
            .subject_name(hub.subject)
            .issuer_name(hub.issuer)
            .public_key(hub.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(hours=1))
            .not_valid_after(NOW + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        )
        for ext in hub.extensions:
            if not isinstance(ext.value, x509.SubjectAlternativeName):
                b = b.add_extension(ext.value, critical=ext.critical)
        return b.sign(ca_key, certs.hashes.SHA256())

    def check(name: str) -> None:
        PolicyBuilder().store(Store([certs.load_ca(files)])).time(NOW).build_server_verifier(x509.DNSName(name)).verify(
            signed_for(name), []
        )

    check("till.store.lan")
    with pytest.raises(VerificationError, match="(?i)constraint"):
        check("bank.example.com")


def test_the_ca_is_created_once_and_a_half_made_one_is_replaced(tmp_path):
    files = certs.PkiFiles.in_data_dir(tmp_path)
    workflow.check(tmp_path, "s1", now=NOW, names=names_with())
    with pytest.raises(FileExistsError):
        certs.create_ca(files, store_id="s1", names=[], now=NOW)
    files.ca_key.unlink()  # a CA certificate without its key cannot issue
    out = workflow.check(tmp_path, "s1", now=NOW, names=names_with())
    assert out.ca_created and out.hub_issued
    verify(files, "shelfhub.local")  # re-issued under the new CA


def test_extra_names_are_validated_kept_and_removed(tmp_path):
    files = certs.PkiFiles.in_data_dir(tmp_path)
    assert certs.change_extra_names(files, add=["hub.store.lan", "10.1.2.3"]) == ["hub.store.lan", "10.1.2.3"]
    assert certs.change_extra_names(files, add=["HUB.store.lan"], remove=["10.1.2.3"]) == ["hub.store.lan"]
    with pytest.raises(ValidationError) as e:
        certs.change_extra_names(files, add=["not a name"])
    assert e.value.code == "invalid_name"
    assert certs.extra_names(files) == ["hub.store.lan"]
    assert host_names("Box.Example.") == ["box", "box.local", "box.example"]


def test_rules_pick_language_and_renewal_reason():
    assert rules.pick_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert rules.pick_language("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert rules.pick_language("fr-FR, zh-TW;q=0.5") == "zh-CN"
    assert rules.pick_language("de, en;q=0") == "en"  # q=0 is "not this": the default
    assert rules.pick_language(None) == "en"
    end = NOW + timedelta(days=100)
    assert rules.renewal_reason(None, None, {"a"}, NOW) == "missing"
    assert rules.renewal_reason({"a"}, end, {"a"}, NOW) is None
    assert rules.renewal_reason({"a"}, end, {"a", "b"}, NOW) == "names"
    assert rules.renewal_reason({"a"}, NOW + rules.RENEW_BEFORE, {"a"}, NOW) == "expiring"


def test_tls_context_follows_a_renewal_and_the_renewer_checks_by_itself(tmp_path):
    addresses = ["192.168.1.20"]
    names = lambda extra: wanted_names(extra=extra, hostname="shelfhub", addresses=addresses)  # noqa: E731
    workflow.check(tmp_path, "s1", names=names)
    files = certs.PkiFiles.in_data_dir(tmp_path)
    cache = ContextCache(files.hub_pem)
    first = cache(None, lambda: None)
    assert isinstance(first, ssl.SSLContext) and cache.context() is first  # cached while the file is unchanged
    assert first.minimum_version == ssl.TLSVersion.TLSv1_2
    addresses[0] = "192.168.1.77"  # DHCP hands the box a new address
    renewer = Renewer(tmp_path, "s1", interval_s=0.05, names=names).start()
    try:
        done = threading.Event()
        for _ in range(100):
            if "192.168.1.77" in certs.sans(certs.load_hub(files)):
                done.set()
                break
            done.wait(0.05)
    finally:
        renewer.stop()
    assert done.is_set(), "the renewal thread did not reissue for the new address"
    assert cache.context() is not first  # the next connection gets the renewed certificate
