"""SCPI instruments through pyvisa (pyvisa-py): AC source and AC load.

Vendor command sets are data (``models/<model>.yaml``); the classes here only know
our verbs. See :mod:`drivers.scpi.models`.
"""

from evrig.drivers.scpi.ac_load import AcLoad
from evrig.drivers.scpi.ac_source import AcSource
from evrig.drivers.scpi.instrument import Reading, ScpiInstrument
from evrig.rig.tables.scpi_models import ModelError, ModelTable, available_models, load_model

__all__ = ["AcLoad", "AcSource", "ModelError", "ModelTable", "Reading", "ScpiInstrument",
           "available_models", "load_model"]
