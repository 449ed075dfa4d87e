"""Inspection probes: anything that delivers end-face frames (UVC camera, replay, simulated)."""

from hardware.probes.base import (
    Frame,
    Probe,
    ProbeDisconnected,
    ProbeError,
    ProbeInfo,
    ProbeNotFound,
    ProbeTimeout,
)
from hardware.probes.replay import ReplayProbe
from hardware.probes.uvc import UvcProbe

__all__ = [
    "Frame",
    "Probe",
    "ProbeDisconnected",
    "ProbeError",
    "ProbeInfo",
    "ProbeNotFound",
    "ProbeTimeout",
    "ReplayProbe",
    "UvcProbe",
]
