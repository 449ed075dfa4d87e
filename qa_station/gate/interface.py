"""What a gate does, as one interface: the record's ``Gate`` and the bench's ``FloorGate``.

The floor gate adds an outbox for when the floor database is down, but an action
means the same on either; code that only acts (the demo, a script) is typed
against ``GateInterface`` and works with both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from qa_station.catalog import Catalog, Identified
from qa_station.gate.gate import Actor, InspectionRecorded
from qa_station.gate.state import AssemblyState
from qa_station.scan import ScanResult
from qa_station.store import Store


class GateInterface(Protocol):
    """The operator's and the supervisor's actions on the record, and reading it."""

    @property
    def store(self) -> Store: ...

    @property
    def catalog(self) -> Catalog: ...

    def state(self, serial: str) -> AssemblyState: ...

    def register(self, label: str, actor: Actor) -> tuple[Identified, AssemblyState]: ...

    def record_inspection(
        self, serial: str, end: str, scan: ScanResult, actor: Actor, probe_id: str
    ) -> InspectionRecorded: ...

    def record_cleaning(
        self,
        serial: str,
        end: str,
        method: str,
        tool_id: str,
        adapter_cleaned: bool,
        actor: Actor,
    ) -> AssemblyState: ...

    def connect(
        self, serial: str, end: str, actor: Actor, mode: str = "connected"
    ) -> AssemblyState: ...

    def record_refusal(
        self, serial: str, end: str | None, actor: Actor, action: str, reason: str
    ) -> None: ...

    def override_connect(
        self, serial: str, end: str, supervisor: Actor, reason: str, mode: str = "connected"
    ) -> AssemblyState: ...

    def release_for_rework(
        self, serial: str, end: str, supervisor: Actor, reason: str
    ) -> AssemblyState: ...

    def reject(self, serial: str, supervisor: Actor, reason: str) -> AssemblyState: ...


if TYPE_CHECKING:  # both gates keep the one interface: the type checker holds them to it
    from qa_station.gate.gate import Gate
    from qa_station.gate.offline import FloorGate

    def _both(gate: Gate, floor: FloorGate) -> tuple[GateInterface, GateInterface]:
        return gate, floor
