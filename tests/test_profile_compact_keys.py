"""The EV NET COMPACT profile against its manual 004, continued from
test_profile_compact.py: the configuration keys (004 §7 Appendix II, as spelled, counted
and defaulted there, and the keys the manual omits), the meter measurands, OCPP support,
the web client's labels as printed, and the RS-485 channel. Expected values are read from
004, not from the YAML."""

from __future__ import annotations

import re

from evrig.rig.profile import Profile
from tests.test_profile_compact import (  # noqa: F401 - the fixtures `spec`, `sister`
    MANUAL,
    PATH,
    sister_fixture,
    spec_fixture,
)

# 004 §7 Appendix II, in the manual's order and spelling.
APPENDIX_II = [
    "AllowOfflineTxForUnknownId", "AuthorizationEnabled", "AuthorizeRemoteTxRequests",
    "ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit",
    "ChargingScheduleMaxPeriods", "ClockAlignedDataInterval", "ConnectionTimeOut",
    "ConnectorSwitch3to1PhaseSupported", "c_ChargingVentilatedEnabled", "c_DeviceLimit_I",
    "c_MainFuseLimit", "c_RCDProtectionType", "c_VoltageProtectionOffset",
    "GetConfigurationMaxKeys", "HeartbeatInterval", "LightIntensity", "LocalAuthListEnabled",
    "LocalAuthListMaxLength", "LocalAuthorizeOffline", "LocalPreAuthorize",
    "MaxChargingProfilesInstalled", "MeterValueSampleInterval", "MeterValuesSampledData",
    "NumberOfConnectors", "SendLocalListMaxLength", "StopTransactionOnEVSideDisconnect",
    "StopTransactionOnInvalidId", "UnlockConnectorOnEVSideDisconnect", "c_MainOfflineTimeout",
    "c_FallbackOfflineTimeout", "c_FallbackOnlineTimeout", "C_OCPPNetLog",
    "c_ChargeOffPeriod1", "c_ChargeOffPeriod2", "c_MaxStartDelay", "c_LockerDisengage",
    "c_CTClamp", "c_CTClampValue", "c_MainNetworkInterface", "c_FallbackNetworkInterface",
    "c_APN",
]
# 004 §7 Appendix II "Example Value" column (OCPP strings: booleans lower case, null = "").
APPENDIX_II_VALUES = {
    "AllowOfflineTxForUnknownId": "true", "AuthorizationEnabled": "true",
    "AuthorizeRemoteTxRequests": "true", "ChargeProfileMaxStackLevel": "100",
    "ChargingScheduleAllowedChargingRateUnit": "A,W", "ChargingScheduleMaxPeriods": "60",
    "ClockAlignedDataInterval": "0", "ConnectionTimeOut": "90",
    "ConnectorSwitch3to1PhaseSupported": "false", "c_ChargingVentilatedEnabled": "false",
    "c_DeviceLimit_I": "320", "c_MainFuseLimit": "600", "c_RCDProtectionType": "0",
    "c_VoltageProtectionOffset": "0", "GetConfigurationMaxKeys": "5",
    "HeartbeatInterval": "60", "LightIntensity": "100", "LocalAuthListEnabled": "false",
    "LocalAuthorizeOffline": "true", "LocalPreAuthorize": "false",
    "MaxChargingProfilesInstalled": "10", "MeterValueSampleInterval": "60",
    "NumberOfConnectors": "1", "StopTransactionOnEVSideDisconnect": "true",
    "StopTransactionOnInvalidId": "true", "UnlockConnectorOnEVSideDisconnect": "true",
    "c_MainOfflineTimeout": "", "c_FallbackOfflineTimeout": "", "c_FallbackOnlineTimeout": "",
    "C_OCPPNetLog": "false", "c_ChargeOffPeriod1": "enable,08:00,11:00",
    "c_ChargeOffPeriod2": "enable,16:00,22:00", "c_MaxStartDelay": "600",
    "c_LockerDisengage": "true", "c_CTClamp": "false", "c_CTClampValue": "65535",
    "c_MainNetworkInterface": "0", "c_FallbackNetworkInterface": "0", "c_APN": "0",
}
# The two App. II values the profile deliberately does not copy (their notes say why).
CHOSEN_OVER_APPENDIX_II = {"LocalAuthListMaxLength": "0", "SendLocalListMaxLength": "0"}
# Keys with "yes" in App. II's "In use" column.
IN_USE = {"AllowOfflineTxForUnknownId", "ChargingScheduleAllowedChargingRateUnit",
          "GetConfigurationMaxKeys", "HeartbeatInterval", "LightIntensity",
          "MeterValueSampleInterval", "MeterValuesSampledData",
          "UnlockConnectorOnEVSideDisconnect"} | {k for k in APPENDIX_II if k[:2] in ("c_", "C_")}


# --- configuration keys (004 §7 Appendix II) ---------------------------------------------
def test_appendix_ii_keys_as_spelled_and_counted(spec: Profile) -> None:
    assert len(APPENDIX_II) == 42
    names = list(spec.config_keys)
    assert names[:42] == APPENDIX_II
    assert "C_OCPPNetLog" in spec.config_keys and "C_OCPCNetLog" not in spec.config_keys
    comment = PATH.read_text(encoding="utf-8").split("\nconfig_keys:")[0][-600:]
    said = re.search(r"all (\d+) keys", comment)  # the section comment states the count
    assert said is not None and int(said.group(1)) == len(APPENDIX_II)


def test_appendix_ii_defaults(spec: Profile) -> None:
    for name, value in APPENDIX_II_VALUES.items():
        assert spec.config_keys[name].default == value, name
    assert spec.config_keys["MeterValuesSampledData"].default == (
        "Voltage.L1-N,Voltage.N,Temperature,Current.Offered.L1,Current.Import.L1,"
        "Power.Active.Import.L1,Energy.Active.Import.Register.L1")
    for name, printed in CHOSEN_OVER_APPENDIX_II.items():
        key = spec.config_keys[name]
        assert key.default != printed and f"prints {printed}" in (key.note or ""), name
    assert "1 1:00" in (spec.config_keys["c_ChargeOffPeriod1"].note or "")
    assert spec.key("ConnectionTimeOut").default == "90"


def test_appendix_ii_columns(spec: Profile) -> None:
    for name in APPENDIX_II:
        key = spec.config_keys[name]
        assert key.custom == (name[:2] in ("c_", "C_")), name
        assert key.in_use == (name in IN_USE), name
        assert key.source and MANUAL in key.source, name
        assert key.check(key.default) is None, name


def test_keys_the_manual_omits_are_marked(spec: Profile) -> None:
    extra = [n for n in spec.config_keys if n not in APPENDIX_II]
    assert {"SupportedFeatureProfiles", "ResetRetries", "ConnectorPhaseRotation",
            "StopTxnSampledData", "TransactionMessageAttempts"} <= set(extra)
    for name in extra:
        key = spec.config_keys[name]
        assert key.source is None and "not in the manual" in (key.note or ""), name
    assert spec.key("SupportedFeatureProfiles").default.split(",") == list(
        spec.ocpp.feature_profiles)
    for key in spec.config_keys.values():
        assert key.source or key.note, key.name


def test_meter_measurands_are_the_sampled_data_default(spec: Profile) -> None:
    listed = [f"{m.measurand}.{m.phase}" if m.phase else m.measurand
              for m in spec.meter_measurands]
    assert listed == ["Voltage.L1-N", "Voltage.N", "Temperature", "Current.Offered.L1",
                      "Current.Import.L1", "Power.Active.Import.L1",
                      "Energy.Active.Import.Register.L1"]


# --- OCPP, web client, RS-485 -------------------------------------------------------------
def test_ocpp_support(spec: Profile) -> None:
    assert spec.ocpp.version == "1.6"
    for op in ("Reset", "UpdateFirmware", "ReserveNow", "CancelReservation",
               "SetChargingProfile"):  # 004: remote reset, firmware, Reserved, DLM/profiles
        assert op in spec.ocpp.operations_csms_to_cp, op
    assert spec.firmware_image is not None and spec.firmware_image.file_type == ".bin"


def test_web_client_labels_as_printed(spec: Profile, sister: Profile) -> None:
    pages = spec.web_client
    assert set(sister.web_client) <= set(pages)  # the driver's entry names
    status = pages["device_status"].fields
    assert {"Device Model(efuse)", "Phases configured", "Charger Limit"} <= set(status)
    measured = pages["measurements"].fields
    assert len(measured) == 18
    assert {"Power L1(imported from grid)", "Power L3(exported to grid)", "Active Power L2",
            "Voltage L3-N", "Voltage N", "Current L1", "Temperature L1-L2",
            "Temperature L1-N"} <= set(measured)
    assert pages["device_control"].fields == (
        "Stop Wifi Scan", "Clear Faults", "Unlock Connector", "Set Available",
        "Clear Reservation")
    assert pages["date_time"].tab == "Time & Charge Times Configuration"
    assert pages["firmware_update"].tab == "Device Configuration"
    assert pages["phases_configuration"].fields == ("Phases Number",)
    assert pages["locker_configuration"].fields == (
        "Locker", "Unlock Connector On Charging Session End")
    assert pages["rs485_bus_device"].heading == "RS485 Bus Device Connected Configuration"
    assert "RAM Queue Size" in pages["offline_messages"].fields
    assert pages["main_fuse"].fields == ("Main Fuse Limit", "Main Fuse Reading")


def test_rs485_channel_1(spec: Profile) -> None:
    bus = spec.rs485
    assert bus is not None
    assert (bus.baud, bus.bytesize, bus.parity, bus.stopbits, bus.device_id) == (
        9600, 8, "N", 1, 0x01)
    assert bus.meter_registers == {
        "voltage_l1": 30001, "voltage_l2": 30003, "voltage_l3": 30005,
        "current_l1": 30007, "current_l2": 30009, "current_l3": 30011,
        "power_l1": 30013, "power_l2": 30015, "power_l3": 30017,
        "import_kwh": 30073, "export_kwh": 30075}
    assert "Channel 2" in (bus.note or "") and "DLM" in (bus.note or "")
