"""Security profiles 1 and 2 end to end: the twin connects with HTTP Basic auth,
over TLS for profile 2 (the EVNET ships configured for wss://, 000 §2.5.1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from evrig.rig.assembly import Rig
from evrig.rig.config import load_rig

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
