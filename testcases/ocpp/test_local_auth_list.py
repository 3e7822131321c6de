"""OCTT module 18: Local Authorization List (LocalAuthListManagement)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, configure, plug_in

FEATURE = "LocalAuthListManagement"
# Only where the profile lists the feature's operations (EV PLUS: neither, 003 §8.1.4).
pytestmark = pytest.mark.applies(operations=("GetLocalListVersion", "SendLocalList"))


def _supported(spec) -> bool:
    return FEATURE in spec.ocpp.feature_profiles


def _version(csms) -> int:
    return csms.call(call.GetLocalListVersion()).list_version


def _entry(id_tag: str, status: str = "Accepted") -> dict:
    return {"id_tag": id_tag, "id_tag_info": {"status": status}}


@pytest.mark.octt("TC_042_2_CS")
def test_get_local_list_version_empty(csms, spec):
    """LocalAuthListEnabled=true, a Full SendLocalList without entries is Accepted,
    then GetLocalListVersion answers 0: version 0 means an empty list (OCPP 1.6 §5.10;
    PNA/EVR expect 0, EVT 1)."""
    if not _supported(spec):
        pytest.skip(f"{spec.model} does not support {FEATURE}")
    configure(csms, LocalAuthListEnabled=True)
    # A non-empty list first, so an answer of 0 cannot be a leftover default.
    filled = csms.call(call.SendLocalList(list_version=3, update_type="Full",
                                          local_authorization_list=[_entry(ACCEPTED_TAG)]))
    assert filled.status == "Accepted"
    assert _version(csms) == 3
    result = csms.call(call.SendLocalList(list_version=1, update_type="Full",
                                          local_authorization_list=[]))
    assert result.status == "Accepted"
    assert _version(csms) == 0


@pytest.mark.octt("TC_043_CS")
def test_send_local_list(csms, ev, charger, spec):
    """SendLocalList Full with entries, then Differential: both Accepted and the
    version follows. Effect: with LocalPreAuthorize a listed tag starts a
    transaction without Authorize.req; a tag the Differential update removed is
    asked for at the backend again."""
    if not _supported(spec):
        pytest.skip(f"{spec.model} does not support {FEATURE}")
    configure(csms, LocalAuthListEnabled=True, LocalPreAuthorize=True,
              AuthorizationCacheEnabled=False)
    other = "TAG-LOCAL-LIST-02"
    full = csms.call(call.SendLocalList(list_version=1, update_type="Full",
                                        local_authorization_list=[_entry(ACCEPTED_TAG)]))
    assert full.status == "Accepted"
    assert _version(csms) == 1
    diff = csms.call(call.SendLocalList(list_version=2, update_type="Differential",
                                        local_authorization_list=[_entry(other)]))
    assert diff.status == "Accepted"
    assert _version(csms) == 2

    csms.forbid("Authorize", idTag=ACCEPTED_TAG)
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.unplug()
    csms.wait_for("StopTransaction", idTag=ACCEPTED_TAG)
    csms.wait_for("StatusNotification", connectorId=1, status="Available", timeout=60)
    csms.allow("Authorize")

    # Differential without idTagInfo removes the entry (§5.16).
    removed = csms.call(call.SendLocalList(list_version=3, update_type="Differential",
                                           local_authorization_list=[{"id_tag": ACCEPTED_TAG}]))
    assert removed.status == "Accepted"
    assert _version(csms) == 3
    mark = csms.mark()
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("Authorize", idTag=ACCEPTED_TAG, since=mark)


@pytest.mark.octt("TC_043_2_CS")
def test_send_local_list_version_mismatch(csms, spec):
    """Full v2 → version 2, Full v5 → version 5, then a Differential v4 (older than
    the installed list) → VersionMismatch and the version stays 5 (§5.16)."""
    if not _supported(spec):
        pytest.skip(f"{spec.model} does not support {FEATURE}")
    configure(csms, LocalAuthListEnabled=True)
    for version in (2, 5):
        result = csms.call(call.SendLocalList(list_version=version, update_type="Full",
                                              local_authorization_list=[_entry(ACCEPTED_TAG)]))
        assert result.status == "Accepted"
        assert _version(csms) == version
    stale = csms.call(call.SendLocalList(list_version=4, update_type="Differential",
                                         local_authorization_list=[_entry("TAG-LOCAL-LIST-03")]))
    assert stale.status == "VersionMismatch"
    assert _version(csms) == 5


@pytest.mark.octt("TC_043_3_CS")
def test_send_local_list_failed(csms, spec):
    """SendLocalList the charger cannot apply → Failed, and the installed list
    (its version) is unchanged. Stimulus: one entry more than the charger's
    SendLocalListMaxLength (profile), the only failure a backend can provoke."""
    if not _supported(spec):
        pytest.skip(f"{spec.model} does not support {FEATURE}")
    configure(csms, LocalAuthListEnabled=True)
    installed = csms.call(call.SendLocalList(list_version=7, update_type="Full",
                                             local_authorization_list=[_entry(ACCEPTED_TAG)]))
    assert installed.status == "Accepted"
    too_many = int(spec.key("SendLocalListMaxLength").default) + 1
    entries = [_entry(f"TAG-BULK-{i:04d}") for i in range(too_many)]
    result = csms.call(call.SendLocalList(list_version=8, update_type="Full",
                                          local_authorization_list=entries))
    assert result.status == "Failed"
    assert _version(csms) == 7
