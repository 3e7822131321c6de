"""Security profiles 1 and 2 end to end: the twin connects with HTTP Basic auth,
over TLS for profile 2 (the EVNET ships configured for wss://, 000 §2.5.1)."""

from __future__ import annotations

import base64
import logging
import subprocess
from pathlib import Path

import pytest

from evrig.rig.assembly import Rig
from evrig.rig.config import load_rig
from evrig.rig.redaction import redact

RIG = """
profile: evnet-7kw
variant: S
sim: {{speed: 20}}
csms:
  security_profile: {profile}
  basic_auth_password_env: RIG_TEST_CSMS_PASSWORD
{tls}
"""


def _cert(tmp: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tmp / "csms.key"), "-out", str(tmp / "csms.pem")],
        check=True, capture_output=True,
    )


@pytest.mark.parametrize("profile", [1, 2])
def test_twin_connects_with_basic_auth(profile, tmp_path, monkeypatch):
    monkeypatch.setenv("RIG_TEST_CSMS_PASSWORD", "0123456789abcdef")
    tls = ""
    if profile == 2:
        _cert(tmp_path)
        tls = "  tls: {cert: csms.pem, key: csms.key}"  # relative to the rig file
    path = tmp_path / "rig.yaml"
    path.write_text(RIG.format(profile=profile, tls=tls))
    rig = Rig(load_rig(path))
    try:
        assert rig.csms.url.startswith("wss://" if profile == 2 else "ws://")
        rig.csms.wait_connected(60)
        rig.csms.wait_for("BootNotification", timeout=60)
        assert not [c for c in rig.csms.connections if c.event == "refused"]
    finally:
        rig.close()


def test_wrong_password_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RIG_TEST_CSMS_PASSWORD", "0123456789abcdef")
    path = tmp_path / "rig.yaml"
    path.write_text(RIG.format(profile=1, tls=""))
    rig = Rig(load_rig(path))
    try:
        rig.csms.wait_connected(60)
        rig.csms.basic_auth_password = "another-password-123"  # the backend's password changed
        rig.csms.disconnect(refuse_reconnect=False)  # the charger reconnects with its old one
        assert rig.clock.wait_until(
            lambda: any(c.reason == "HTTP Basic auth failed" for c in rig.csms.connections), 60)
    finally:
        rig.close()


def test_no_secret_in_any_log_record_at_debug(tmp_path, monkeypatch, caplog):
    """Issue 10 h: websockets logs every handshake header at DEBUG; the Basic-auth
    header (base64 of id:password) must be redacted before any handler sees it."""
    password = "0123456789abcdef"
    monkeypatch.setenv("RIG_TEST_CSMS_PASSWORD", password)
    path = tmp_path / "rig.yaml"
    path.write_text(RIG.format(profile=1, tls=""))
    caplog.set_level(logging.DEBUG)  # every logger, as --log-level=DEBUG
    rig = Rig(load_rig(path))
    try:
        rig.csms.wait_connected(60)
        rig.csms.wait_for("BootNotification", timeout=60)
        cp_id = rig.config.charger.charge_point_id
    finally:
        rig.close()
    token = base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Authorization: [redacted]" in text, "the handshake was not logged at DEBUG"
    assert token not in text and password not in text


def test_redaction_covers_the_header_forms():
    assert redact("> Authorization: Basic dXNlcjpwYXNz") == "> Authorization: [redacted]"
    assert redact("{'authorization': 'Bearer abc.def'}") == "{'authorization': '[redacted]'}"
    assert redact("Proxy-Authorization: Basic eA==, next") == \
        "Proxy-Authorization: [redacted], next"
    assert redact("no secret here") == "no secret here"
