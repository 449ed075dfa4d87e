"""The gate: inspect -> clean -> inspect again -> connect, per end of every serial."""

from qa_station.gate.gate import Gate, GateRefused, InspectionRecorded
from qa_station.gate.interface import GateInterface
from qa_station.gate.state import AssemblyState, EndState, Escalation

__all__ = [
    "AssemblyState",
    "EndState",
    "Escalation",
    "Gate",
    "GateInterface",
    "GateRefused",
    "InspectionRecorded",
]
