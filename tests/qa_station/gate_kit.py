"""A gate on a real store with a fake clock, and synthetic scans of chosen verdicts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grading.results import Defect, FiberResult
from hardware.probes.base import Frame
from qa_station.accounts import Accounts, Session
from qa_station.catalog import Catalog, load_catalog, parse_products
from qa_station.gate import Gate
from qa_station.scan import ScanResult
from qa_station.store import Store
from tests.qa_station.files_kit import product_toml
from tests.qualify_kit import qualify_store

TRUNK = "T12B-000321"  # MPO-12 trunk: ends A and B, 12 fibres, clean-if-fail
JUMPER = "LCD-0004242"  # LC duplex jumper: ends A1 A2 B1 B2, one fibre each

# A product whose serials may hold any printable character: for file-name and path tests.
ODD_PRODUCT = product_toml(
    "odd-serials",
    "Jumper whose serials allow any printable character",
    "ODD-*",
    r"^ODD\S+$",
    "ODD-1",
)


def catalog_with_odd_serials() -> Catalog:
    """The shipped catalog plus ``ODD_PRODUCT`` (serials ``ODD`` and anything printable)."""
    return Catalog(load_catalog().products + parse_products(ODD_PRODUCT, "test catalog"))


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


PASSWORDS = {"admin": "admin-password", "olga": "olga-password", "sam": "sam-password"}


@dataclass
class Kit:
    store: Store
    gate: Gate
    clock: Clock
    accounts: Accounts
    sessions: dict[str, Session]

    def _signed(self, user: str) -> Session:
        """The person's session; signed in again when the test's clock left it (days on)."""
        s = self.sessions[user]
        if not s.issued_us <= self.clock() * 1e6 < s.expires_us:
            s = self.sessions[user] = self.accounts.sign_in(user, PASSWORDS[user])
        return s

    @property
    def operator(self) -> Session:
        return self._signed("olga")

    @property
    def supervisor(self) -> Session:
        return self._signed("sam")

    @property
    def admin(self) -> Session:
        return self._signed("admin")

    def sign_in_again(self) -> None:
        """Fresh sessions for everyone."""
        self.sessions = {u: self.accounts.sign_in(u, PASSWORDS[u]) for u in PASSWORDS}


def make_kit(tmp_path, url: str | None = None, catalog=None) -> Kit:
    clock = Clock()
    store = Store(url or f"sqlite:///{tmp_path}/gate.db", tmp_path / "images", "bench-t", clock)
    store.migrate()
    accounts = Accounts(store)
    accounts.add("admin", "admin", None, "Admin", PASSWORDS["admin"])
    admin = accounts.sign_in("admin", PASSWORDS["admin"])
    accounts.add("olga", "operator", admin, "Olga Operator", PASSWORDS["olga"])
    accounts.add("sam", "supervisor", admin, "Sam Supervisor", PASSWORDS["sam"])
    sessions = {u: accounts.sign_in(u, PASSWORDS[u]) for u in ("olga", "sam")}
    qualify_store(store)  # no station records an inspection unqualified (issue 14)
    gate = Gate(store, catalog or load_catalog())
    return Kit(store, gate, clock, accounts, {"admin": admin, **sessions})


def scan(
    serial: str,
    end: str,
    failing: dict[int, list[tuple[str, float, float, float]]] | None = None,
    catalog=None,
) -> ScanResult:
    """A complete scan of ``end``; ``failing`` maps fibre -> [(kind, x_um, y_um, size_um)]."""
    cat = catalog or load_catalog()
    product = cat.identify(serial).product
    e = product.end(end)
    ruleset = e.ruleset()
    n = e.geometry.fiber_count
    result = ScanResult(
        end=end, connector=e.connector, rules=ruleset.name, rules_sha256=ruleset.sha256
    )
    s = 0.3125
    for i in range(1, n + 1):
        defects = []
        for kind, x, y, size in (failing or {}).get(i, []):
            defects.append(
                Defect(
                    kind=kind,
                    zone="A",
                    size_um=size,
                    center_px=(320 + x / s, 240 + y / s),
                    length_um=30.0 if kind == "scratch" else None,
                )
            )
        bad = bool(defects)
        result.fibers[i] = FiberResult(
            index=i,
            center_px=(320.0, 240.0),
            diameter_px=400.0,
            verdict="fail" if bad else "pass",
            defects=tuple(defects),
            failures=("zone A (core): 1 defect, none allowed",) if bad else (),
        )
        img = np.full((48, 64), 100 + i, np.uint8)
        img[i % 48, :] = 7 * len(defects)
        result.frames[i] = Frame(img, s, "sim-400x", 0.0, i, end=end, fiber=i)
        result.focus_scores[i] = 30.0
    result.um_per_px = s
    return result


def dirty(fibre: int = 3, where=(5.0, 2.0), size: float = 4.0, kind: str = "defect"):
    return {fibre: [(kind, where[0], where[1], size)]}
