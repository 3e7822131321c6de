"""Words a charger profile may use (OCPP 1.6 enumerations, recovery actions, light
colours, configuration key types, supply systems, display quantities): anything else
in a profile is a typo."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# OCPP 1.6 enumerations the profile may name; anything else is a typo.
OCPP_ERROR_CODES = _words(
    "ConnectorLockFailure EVCommunicationError GroundFailure HighTemperature InternalError"
    " LocalListConflict NoError OtherError OverCurrentFailure OverVoltage PowerMeterFailure"
    " PowerSwitchFailure ReaderFailure ResetFailure UnderVoltage WeakSignal"
)
OCPP_OPERATIONS = _words(
    "CancelReservation ChangeAvailability ChangeConfiguration ClearCache ClearChargingProfile"
    " DataTransfer GetCompositeSchedule GetConfiguration GetDiagnostics GetLocalListVersion"
    " RemoteStartTransaction RemoteStopTransaction ReserveNow Reset SendLocalList"
    " SetChargingProfile TriggerMessage UnlockConnector UpdateFirmware"
)
# What a charge point sends on its own (a family that lists them, EV PLUS 003 §8.1.4).
OCPP_CP_OPERATIONS = _words(
    "Authorize BootNotification DataTransfer DiagnosticsStatusNotification"
    " FirmwareStatusNotification Heartbeat MeterValues StartTransaction StatusNotification"
    " StopTransaction"
)
OCPP_STATUSES = _words(
    "Available Preparing Charging SuspendedEVSE SuspendedEV Finishing Reserved Unavailable"
    " Faulted"
)
OCPP_FEATURE_PROFILES = _words(
    "Core FirmwareManagement LocalAuthListManagement Reservation SmartCharging"
    " RemoteTrigger"
)
OCPP_PURPOSES = frozenset({"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"})
OCPP_MEASURANDS = _words(
    "Current.Export Current.Import Current.Offered Energy.Active.Export.Register"
    " Energy.Active.Import.Register Energy.Reactive.Export.Register"
    " Energy.Reactive.Import.Register Energy.Active.Export.Interval"
    " Energy.Active.Import.Interval Energy.Reactive.Export.Interval"
    " Energy.Reactive.Import.Interval Frequency Power.Active.Export Power.Active.Import"
    " Power.Factor Power.Offered Power.Reactive.Export Power.Reactive.Import RPM SoC"
    " Temperature Voltage"
)
OCPP_PHASES = _words("L1 L2 L3 N L1-N L2-N L3-N L1-L2 L2-L3 L3-L1")
OCPP_UNITS = _words("Wh kWh varh kvarh W kW VA kVA var kvar A V Celsius Fahrenheit K Percent")
RECOVERY = ("auto", "unplug", "power_cycle", "web_clear")
# What restarts a charger (the profile's reset_reasons[].after).
RESET_CAUSES = ("power_on", "ocpp_soft_reset", "ocpp_hard_reset", "web_restart",
                "firmware_update")
COLOURS = frozenset({"blue", "yellow", "green", "orange", "brown", "dark_grey", "red",
                     "white"})  # white: EV PLUS belt self-test, plug/charging LEDs (003)
CONFIG_TYPES = ("bool", "int", "csl", "string")

# Fault conditions, vendor-neutral (design §5): what the twin detects. A profile maps
# each to what its vendor shows (EVNET: an RTM code with its OCPP errorCode and
# recovery); a new family adds words here, not code. EV PLUS (003 §7.1.2) added the
# socket/plug temperature (apart from the board's), a blocked fan and the CAN bus of
# load balancing (003 §11).
FAULT_CONDITIONS = _words(
    "leakage_ac leakage_dc neutral_fault overcurrent overtemperature overvoltage"
    " undervoltage phase_missing relay_fault relay_live_welded relay_live_stuck_open"
    " relay_neutral_welded relay_neutral_stuck_open lock_failed unlock_failed"
    " module_missing host_link_lost calibration_lost cp_level_invalid ev_diode_missing"
    " pp_missing tamper_cover tamper_panel meter_missing phase_config_mismatch"
    " ct_missing connector_overtemperature fan_failed can_bus_fault"
)
# Earthing systems of the installation (IEC 60364-1), as a manual lists the ones the
# charger may be supplied from (EV PLUS 003 §6.7).
SUPPLY_SYSTEMS = ("TN-S", "TN-C", "TN-C-S", "TT", "IT")
# What a character display's rotation shows (EV PLUS 003 §7.1.2), named as the twin's
# quantities (unit in the name) so a display reader and the twin mean the same value.
DISPLAY_QUANTITIES = ("voltage_v", "current_a", "frequency_hz", "energy_kwh",
                      "duration_min")
# Outcomes of a firmware upgrade a charger reports itself (on its display: EV PLUS
# 003 §7.1.2, §12), vendor-neutral.
UPGRADE_RESULTS = ("installed", "write_failed", "checksum_mismatch", "timeout",
                   "wrong_image")
