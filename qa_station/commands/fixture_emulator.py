"""``qa-station fixture-emulator``: the MPO stage's serial protocol on a pseudo-terminal.

Prints the port to connect to, then serves until interrupted. Behind it is
the simulated bench holding a virtual assembly (deterministic per serial), so
a driver or an integrator's script can be exercised without a stage.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from hardware.simulated.assembly import SCENARIOS
from hardware.simulated.bench import SimulatedBench
from hardware.simulated.fixture import SimulatedFixture
from hardware.stages.emulator import EmulatorFaults, FixtureEmulator
from qa_station.bench import virtual_assembly
from qa_station.catalog import CatalogError, load_catalog
from qa_station.paths import station_paths

FAULTS = ("garbage", "silent")


DESCRIPTION = __doc__


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", default="T12B-000001", help="assembly held by the virtual fixture")
    p.add_argument("--scenario", choices=SCENARIOS, help="how dirty the virtual assembly is")
    p.add_argument(
        "--fault", choices=FAULTS, action="append", default=[], help="misbehave on purpose"
    )
    p.add_argument("--vanish-after", type=int, metavar="N", help="drop the line after N commands")
    p.add_argument("--motion-delay", type=float, default=0.0, metavar="S", help="seconds per move")


def run(args: argparse.Namespace) -> int:
    try:
        identified = load_catalog(station_paths().products_file).identify(args.serial)
    except CatalogError as exc:
        print(f"qa-station fixture-emulator: error: {exc}", file=sys.stderr)
        return 2
    bench = SimulatedBench()
    bench.load(virtual_assembly(identified, args.scenario))
    faults = EmulatorFaults(
        garbage="garbage" in args.fault,
        silent="silent" in args.fault,
        vanish_after=args.vanish_after,
    )
    emulator = FixtureEmulator(SimulatedFixture(bench, motion_delay_s=args.motion_delay), faults)
    # The handler goes in before the port is printed: whoever reads the port may stop us at once.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    port = emulator.start()
    print(port, flush=True)
    print(
        f"serving {identified.product.name} {identified.serial} ({bench.assembly.scenario}); "
        "Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0
