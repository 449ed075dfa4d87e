"""The gate: inspect -> clean -> inspect again -> connect, per end of every serial."""

from qa_station.gate.actions import GateActions
from qa_station.gate.gate import Gate, GateRefused, InspectionRecorded
from qa_station.gate.state import AssemblyState, EndState, Escalation

__all__ = [
    "AssemblyState",
    "EndState",
    "Escalation",
    "Gate",
    "GateActions",
    "GateRefused",
    "InspectionRecorded",
]
