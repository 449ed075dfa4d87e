"""Put a bench together from the station config (or the command line's choices).

The composition root for devices: the only place that knows which probe and
fixture classes exist. A simulated probe needs the simulated bench behind the
fixture it looks through, so the combinations that cannot work are refused
with a reason instead of producing frames that do not follow the fixture.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import dataclass

from hardware.probes.base import Probe
from hardware.probes.replay import ReplayProbe
from hardware.probes.uvc import UvcProbe
from hardware.simulated.assembly import EndSpec, VirtualAssembly
from hardware.simulated.bench import SimulatedBench
from hardware.simulated.fixture import SimulatedFixture
from hardware.simulated.probe import SimulatedProbe
from hardware.stages.base import Fixture
from hardware.stages.emulator import FixtureEmulator
from hardware.stages.serial_fixture import SerialFixture
from qa_station.catalog import EndDefinition, Identified
from qa_station.config import SIMULATED_PROBE_ID, Calibration, ConfigError, StationConfig, tip_for


@dataclass
class Bench:
    probe: Probe
    fixture: Fixture
    config: StationConfig
    probe_id: str
    simulated: SimulatedBench | None = None
    emulator: FixtureEmulator | None = None
    probe_source: str = ""
    fixture_source: str = ""

    def calibration(self, end: EndDefinition) -> Calibration:
        """The probe's calibration with the tip this end needs; refuses to guess a scale."""
        tip = tip_for(end.connector)
        cal = self.config.calibration(self.probe_id, tip)
        if cal is None:
            raise ConfigError(
                f"probe {self.probe_id} has no calibration for the {tip} tip: "
                "calibrate it before grading with it"
            )
        return cal

    def load(self, identified: Identified, scenario: str | None = None) -> None:
        """Put the assembly in the fixture (only the simulated bench needs to be told)."""
        if self.simulated is not None:
            self.simulated.load(virtual_assembly(identified, scenario))

    # What the operator does to the assembly by hand. Real devices see it for themselves;
    # the simulated bench is told, under the caller's device lock (it draws the frames).
    def uncapped(self, end: str, lock: AbstractContextManager[object]) -> None:
        """The end's dust cap is off for an inspection."""
        sim = self.simulated
        if sim is not None:
            with lock:
                sim.uncap(end)

    def cleaned(
        self,
        end: str,
        method: str,
        tool_id: str,
        adapter: bool,
        lock: AbstractContextManager[object],
    ) -> None:
        """The end (and its adapter, if ``adapter``) was cleaned with ``tool_id``. A tool for
        male connectors (its id says MALE) reaches around the pins; on a female end any tool
        reaches the whole face."""
        sim = self.simulated
        if sim is None or sim.assembly is None:
            return
        with lock:
            male_tool = "MALE" in tool_id.upper()
            sim.clean(end, method, male_tool=male_tool or not sim.assembly.ends[end].male)
            if adapter:
                sim.clean_adapter(end)

    def released(self, end: str, mode: str, lock: AbstractContextManager[object]) -> None:
        """The end was mated into its adapter (``connected``) or capped."""
        sim = self.simulated
        if sim is not None:
            with lock:
                if mode == "connected":
                    sim.mate(end)
                else:
                    sim.cap(end)

    def close(self) -> None:
        for closer in (self.probe.close, self.fixture.close):
            with contextlib.suppress(Exception):
                closer()
        if self.emulator is not None:
            self.emulator.stop()


def virtual_assembly(identified: Identified, scenario: str | None = None) -> VirtualAssembly:
    specs = [
        EndSpec(e.label, e.geometry, e.fiber, e.polish, e.gender) for e in identified.product.ends
    ]
    return VirtualAssembly.build(identified.serial, specs, scenario)


def open_bench(
    config: StationConfig,
    probe: str | None = None,
    fixture: str | None = None,
    realtime: bool = True,
) -> Bench:
    probe_src = probe or config.probe
    fixture_src = fixture or config.fixture
    simulated_probe = probe_src == "simulated"
    needs_sim = simulated_probe or fixture_src in ("simulated", "emulator")
    if simulated_probe and fixture_src.startswith("serial:"):
        raise ConfigError(
            "the simulated probe can only look through the simulated fixture or its emulator, "
            f"not a real one at {fixture_src[len('serial:') :]}"
        )
    sim = SimulatedBench() if needs_sim else None
    probe_id = SIMULATED_PROBE_ID if simulated_probe else config.probe_id
    # The probe stamps its base scale on frames; the scan uses the calibration of the tip.
    base = config.calibration(probe_id)
    scale = base.um_per_px if base else None
    if simulated_probe and sim is not None:
        prb: Probe = SimulatedProbe(sim, um_per_px=scale, realtime=realtime)
    elif probe_src.startswith("uvc:"):
        src = probe_src[len("uvc:") :]
        prb = UvcProbe(
            int(src) if src.isdigit() else src, probe_id=config.probe_id, um_per_px=scale
        )
    elif probe_src.startswith("replay:"):
        prb = ReplayProbe(probe_src[len("replay:") :], probe_id=config.probe_id, um_per_px=scale)
    else:
        raise ConfigError(f"unknown probe {probe_src!r}: simulated, uvc:INDEX|PATH or replay:PATH")
    emulator = None
    if fixture_src == "simulated" and sim is not None:
        fx: Fixture = SimulatedFixture(sim)
    elif fixture_src == "emulator" and sim is not None:
        emulator = FixtureEmulator(SimulatedFixture(sim))
        port = emulator.start()
        fx = _serial_fixture(port, config)
    elif fixture_src.startswith("serial:"):
        fx = _serial_fixture(fixture_src[len("serial:") :], config)
    else:
        raise ConfigError(f"unknown fixture {fixture_src!r}: simulated, emulator or serial:PORT")
    bench = Bench(prb, fx, config, probe_id, sim, emulator, probe_src, fixture_src)
    try:
        prb.open()
        fx.open()
    except Exception:
        bench.close()
        raise
    return bench


def _serial_fixture(port: str, config: StationConfig) -> SerialFixture:
    return SerialFixture(
        port,
        baudrate=config.fixture_baudrate,
        timeout_s=config.fixture_timeout_s,
        motion_timeout_s=config.fixture_motion_timeout_s,
    )
