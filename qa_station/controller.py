"""The bench session: everything the GUI (or a script) does at the bench, without Qt.

It holds the store, the gate, the catalog and the devices, and who is signed
in. The GUI is a view over it; the tests drive it headless. On the simulated
bench the operator's physical actions (cleaning, capping, mating) are carried
out on the virtual assembly too, so what the probe shows follows what was
done; on a real bench they are only recorded.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

from sqlalchemy.engine import make_url

from grading.results import EndFaceResult
from hardware.focus import FocusError, autofocus, focus_score
from hardware.probes.base import Frame, ProbeError
from hardware.stages.base import FixtureError
from qa_station.accounts import Accounts, AuthError, NotSignedIn, Remembered
from qa_station.accounts import Session as UserSession
from qa_station.bench import Bench, open_bench
from qa_station.bench_view import EXPECTED
from qa_station.catalog import Catalog, EndDefinition, Identified, load_catalog
from qa_station.config import (
    Calibration,
    StationConfig,
    load_config,
    save_config,
    tip_for,
    with_calibration,
)
from qa_station.gate import AssemblyState, Gate, GateRefused, InspectionRecorded
from qa_station.gate.gate import supervisor_refusal
from qa_station.gate.offline import FloorGate, ReplayReport
from qa_station.paths import ensure_dir, station_paths
from qa_station.qualification.policy import QualificationPolicy, Standing
from qa_station.record import AssemblyRecord, load_record
from qa_station.scan import ScanError, ScanProgress, ScanResult, grade_view, scan_end
from qa_station.store import Store, StoreError, StoreUnavailable
from qa_station.store.kinds import DECISIONS, Kind, decision
from qa_station.store.outbox import Outbox, OutboxError
from qa_station.store.queries import record_counts
from qa_station.store.store import open_store
from qa_station.store.verify import VerifyReport, verify

SIGN_IN_WINDOW = "window"  # where sign-ins come from: failures slow down only that place
SIGN_IN_BADGE = "badge"

if TYPE_CHECKING:
    from qa_station.qualification.issue import Qualified
    from qa_station.qualification.labels import ReferenceSet
    from qa_station.regrade import Regraded
RESUME_WITHIN_S = 300.0  # older grades of an interrupted scan are redone, not trusted
SUPERVISOR_ACTIONS = DECISIONS  # kinds of the event registry, shown by their labels


def _offline_store(config: StationConfig, db_url: str | None, down: StoreUnavailable) -> Store:
    """The floor store, not reached yet: a bench with an outbox opens on it all the same."""
    url = db_url or config.store_url
    if not url or url.startswith("sqlite") or not station_paths().outbox_file.exists():
        raise down
    p = station_paths()
    return Store(
        url,
        p.images_dir,
        station_id=config.station_id,
        keys_dir=p.keys_dir,
        witness_dir=p.witness_dir,
    )


def ensure_signing_key(config: StationConfig) -> str | None:
    """The first start creates the station's key; None when it is there, else why not."""
    from reports.signing import SigningError, ensure_station_key

    try:
        ensure_station_key(station_paths().keys_dir, config.station_id)
    except (OSError, SigningError) as exc:
        return f"certificates cannot be signed: the station key is unusable ({exc})"
    return None


@dataclass(frozen=True)
class FloorStatus:
    """The floor database as the bench last found it, read without asking anything.

    Refreshed by the worker that ran the last gate action or outbox attempt, so the
    window shows it every half second without a query on the GUI thread.
    """

    offline: bool = False
    reason: str | None = None
    pending: int = 0  # actions kept in this bench's outbox


_P = ParamSpec("_P")
_R = TypeVar("_R")
# A StationController method, as the decorators below take and give it back.
_Action = Callable[Concatenate["StationController", _P], _R]


def _notes_floor(method: _Action[_P, _R]) -> _Action[_P, _R]:
    """After the action (done or refused), note the floor database's state and outbox."""

    def wrapper(self: StationController, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.note_floor()

    functools.update_wrapper(wrapper, method)
    return wrapper


log = logging.getLogger(__name__)
REFUSALS: tuple[type[Exception], ...] = (GateRefused, AuthError, NotSignedIn)
DEVICE_ERRORS: tuple[type[Exception], ...] = (ScanError, FixtureError, ProbeError, FocusError)


@overload
def _logged(
    describe: Callable[..., str],
) -> Callable[[_Action[_P, _R]], _Action[_P, _R]]: ...


@overload
def _logged(
    describe: Callable[..., str], said: Callable[[_R], str]
) -> Callable[[_Action[_P, _R]], _Action[_P, _R]]: ...


def _logged(
    describe: Callable[..., str], said: Callable[[_R], str] | None = None
) -> Callable[[_Action[_P, _R]], _Action[_P, _R]]:
    """One line in the station's log per operator action: done, refused, stopped by a device,
    or failed (a store outage...). ``describe(self, *args)`` says what, never with anything
    typed that could be a password (a name typed in the wrong field is one); ``said(result)``
    adds what it did. An unforeseen fault is re-raised unlogged here: whoever ran the action
    logs its traceback.
    """

    def wrap(method: _Action[_P, _R]) -> _Action[_P, _R]:
        @functools.wraps(method)
        def wrapper(self: StationController, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            what = describe(self, *args, **kwargs)
            try:
                out = method(self, *args, **kwargs)
            except REFUSALS as exc:
                log.warning("%s: refused: %s", what, exc)
                raise
            except DEVICE_ERRORS as exc:
                log.warning("%s: device error: %s", what, exc)
                raise
            except EXPECTED as exc:
                log.warning("%s: failed: %s", what, exc)
                raise
            log.info("%s: done%s", what, f" ({said(out)})" if said else "")
            return out

        return wrapper

    return wrap


def _as_user(session: UserSession) -> str:
    """What a sign-in did: who it signed in."""
    return f"as {session.username}"


def _on_end(action: str) -> Callable[..., str]:
    """``action`` of the serial on the bench, at the end its first argument names."""

    def describe(
        self: StationController, end: str | None = None, *args: object, **kwargs: object
    ) -> str:
        serial = self.session.serial if self.session is not None else "no serial"
        return f"{action} {serial}" + (f" end {end}" if end else "") + f" by {self._name()}"

    return describe


@dataclass
class Session:
    """The serial on the bench now, and what the station knows of it."""

    identified: Identified
    state: AssemblyState
    scans: dict[str, ScanResult] = field(default_factory=dict)  # latest scan per end
    # A scan a device (or the operator) stopped part way, with when it stopped: the next
    # inspection of that end continues from it instead of grading every fibre again.
    interrupted: dict[str, tuple[ScanResult, float]] = field(default_factory=dict)

    @property
    def serial(self) -> str:
        return self.identified.serial

    @property
    def ends(self) -> tuple[EndDefinition, ...]:
        return self.identified.product.ends


class StationController:
    def __init__(
        self,
        config: StationConfig,
        store: Store,
        catalog: Catalog,
        bench: Bench,
        outbox: Outbox | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.catalog = catalog
        self.bench = bench
        if outbox is None and store.dialect != "sqlite":  # a floor database can go down
            outbox = Outbox(station_paths().outbox_file, config.station_id)
        policy = QualificationPolicy(config.qualification_max_age_days)
        self.gate = FloorGate(Gate(store, catalog, policy), outbox)
        self.last_replay: ReplayReport | None = None
        self.accounts = Accounts(store)
        self.actor: UserSession | None = None  # who is signed in at the bench
        self.session: Session | None = None
        self.device_lock = threading.RLock()  # one user of the probe and fixture at a time
        self.last_frame_at: list[float] = []
        self.last_focus: float | None = None
        self.signing_problem: str | None = None  # why certificates cannot be signed, if so
        self._migrated = True  # False: opened while the floor database was down
        self.floor = FloorStatus()

    @classmethod
    def open(
        cls,
        config: StationConfig | None = None,
        db_url: str | None = None,
        probe: str | None = None,
        fixture: str | None = None,
        realtime: bool = True,
    ) -> StationController:
        config = config or load_config()
        catalog = load_catalog(station_paths().products_file)
        down: StoreUnavailable | None = None
        try:
            store = open_store(config, url=db_url)
        except StoreUnavailable as exc:
            store, down = _offline_store(config, db_url, exc), exc
        try:
            bench = open_bench(config, probe, fixture, realtime=realtime)
        except Exception:
            store.close()
            raise
        station = cls(config, store, catalog, bench)
        if down is None and station.accounts.is_demo_record():
            station.close()
            raise StoreError(
                f"{store.safe_url} is the demo's record (made by qa-station demo), with no "
                "accounts to sign in with: a station keeps its own record (see the demo's with "
                "qa-station --demo history SERIAL)"
            )
        station.signing_problem = ensure_signing_key(config)
        if down is not None:  # the floor database is down: go on from what this bench knew
            station._migrated = False
            station.gate.start_offline(str(down))
        elif station.gate.pending():  # left by a run that ended during an outage
            station.replay_outbox()
        station.note_floor()
        return station

    def close(self) -> None:
        self.bench.close()
        if self.gate.outbox is not None:
            self.gate.outbox.close()
        self.store.close()

    # -- the floor database --------------------------------------------------------------------
    @property
    def offline(self) -> bool:
        """The floor database is down: actions go to the local outbox."""
        return self.gate.offline

    def outbox_pending(self) -> int:
        return self.gate.pending()

    def note_floor(self) -> FloorStatus:
        """Look at the floor database's state and the outbox (a worker's job: it counts)."""
        self.floor = FloorStatus(self.gate.offline, self.gate.offline_reason, self.gate.pending())
        return self.floor

    @_notes_floor
    def replay_outbox(self) -> ReplayReport:
        """Send the outbox if the database is back; certificates due are issued after."""
        from qa_station.certificates.errors import CertificateError

        if not self._migrated:  # started offline: the schema is checked once it answers
            try:
                self.store.migrate()
            except StoreUnavailable as exc:
                self.gate.offline_reason = str(exc)
                return ReplayReport(pending=self.gate.pending(), problem=str(exc))
            self._migrated = True
        report = self.gate.replay()
        self.last_replay = report
        if report.problem is None and report.sent:
            if self.session is not None:
                with contextlib.suppress(StoreUnavailable, GateRefused):
                    self.refresh()
            for serial in report.accepted:
                try:
                    report.certificates.append(str(self.issue_certificate(serial)))
                except (CertificateError, StoreError, OSError) as exc:
                    report.certificate_problems.append(f"{serial}: certificate not issued: {exc}")
        return report

    # -- who is at the bench -----------------------------------------------------------------
    def needs_first_admin(self) -> bool:
        if self.offline:  # a bench that had people before; the first admin waits for the record
            return False
        return self.accounts.count() == 0

    def create_first_admin(
        self, username: str, password: str, name: str | None = None
    ) -> UserSession:
        self.accounts.add(username, "admin", None, name, password)
        return self.login(username, password)

    @_logged(lambda self, *a, **k: "sign-in", _as_user)
    def login(self, username: str, password: str) -> UserSession:
        """Sign in at the bench's window; while the floor database is down, only someone who
        signed in here before, with the password they had then (see ``FloorGate``)."""
        if not self.offline:
            try:
                session = self.accounts.sign_in(username, password, SIGN_IN_WINDOW)
            except StoreUnavailable as exc:
                if self.gate.outbox is None:
                    raise
                self.gate.offline_reason = str(exc)
            else:
                self._signed_in(session)
                self._keep_person(session)
                return session
        return self._signed_in(self._offline_login(username, password))

    @_logged(lambda self, *a, **k: "sign-in by badge", _as_user)
    def login_badge(self, badge: str) -> UserSession:
        return self._signed_in(self.accounts.sign_in_badge(badge, SIGN_IN_BADGE))

    def _signed_in(self, session: UserSession) -> UserSession:
        """The new person at the bench; whoever was signed in before is signed out."""
        self._end_session()
        self.actor = session
        return session

    def _keep_person(self, session: UserSession) -> None:
        """Who signed in here, to sign them in again if the bench restarts offline."""
        if self.gate.outbox is None:
            return
        with contextlib.suppress(StoreError):  # the database went away just now: next time
            p = self.accounts.remembered(session)
            self.gate.outbox.keep_person(
                p.username, p.display_name, p.role, p.password_hash, round(time.time() * 1e6)
            )

    def _offline_login(self, username: str, password: str) -> UserSession:
        """While the floor database is down: a session this bench issues from what it
        remembered, kept in its outbox; the record checks it (and what is done under it)
        against the account's role at the time when the outbox is sent."""
        known = self.gate.outbox.person(username) if self.gate.outbox is not None else None
        if known is None:
            raise StoreUnavailable(
                f"{self.gate.offline_reason}; while the floor database is down only people who "
                "signed in at this bench before can sign in: the others wait for it"
            )
        remembered = Remembered(username, *known)
        return self.gate.sign_in_offline(
            lambda at_us: self.accounts.sign_in_remembered(
                username, password, remembered, at_us, SIGN_IN_WINDOW
            ),
            SIGN_IN_WINDOW,
        )

    @_logged(lambda self: f"sign-out {self._name()}")
    def logout(self) -> None:
        """Nobody at the bench: the assembly they had open goes with them."""
        self._end_session()
        self.session = None

    def _end_session(self) -> None:
        actor, self.actor = self.actor, None
        if actor is not None:
            with contextlib.suppress(StoreError, OutboxError):  # it acts no more here anyway
                self.gate.sign_out(self.accounts, actor)

    def _name(self) -> str:
        """Who is signed in, for the log."""
        return self.actor.username if self.actor is not None else "nobody"

    def _who(self) -> UserSession:
        if self.actor is None:
            raise NotSignedIn("sign in first: every action is recorded under an operator's name")
        return self.actor

    # -- the assembly on the bench -------------------------------------------------------------
    @_logged(lambda self, label: f"open serial {label!r} by {self._name()}")
    @_notes_floor
    def open_serial(self, label: str) -> Session:
        actor = self._who()
        identified, state = self.gate.register(label, actor)
        with self.device_lock:
            self.bench.load(identified)
        self.session = Session(identified, state)
        return self.session

    def refresh(self) -> AssemblyState:
        s = self._session()
        s.state = self.gate.state(s.serial)
        return s.state

    def _session(self) -> Session:
        if self.session is None:
            raise GateRefused("scan or type an assembly's serial first")
        return self.session

    @_logged(_on_end("inspect"))
    @_notes_floor
    def inspect(
        self,
        end: str,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> InspectionRecorded:
        """Scan every fibre of the end and record the inspection (the gate may refuse)."""
        actor = self._who()
        s = self._session()
        definition = s.identified.product.end(end)
        # Ask the gate first: a refused inspection should not take a minute of scanning.
        from qa_station.gate import state as rules

        cal = self.bench.calibration(definition)
        reason = rules.refuse_inspect(self.refresh(), end) or self._not_qualified(definition, cal)
        if reason:
            self.gate.record_refusal(s.serial, end, actor, "inspect", reason)
            raise GateRefused(reason)
        resume = self._resumable(s, end)
        self.bench.uncapped(end, self.device_lock)
        with self.device_lock:
            try:  # a fixture unplugged mid-scan and plugged back in is opened again here
                self.bench.fixture.open()
            except FixtureError as exc:
                raise ScanError(f"the fixture cannot be reached: {exc}") from None
            try:
                scan = scan_end(
                    self.bench.probe,
                    self.bench.fixture,
                    definition,
                    cal.min_focus_score,
                    cal.scale,
                    progress=progress,
                    cancel=cancel,
                    resume=resume,
                )
            except ScanError as exc:
                if exc.partial is not None and exc.partial.fibers:
                    s.interrupted[end] = (exc.partial, time.monotonic())
                    graded = len(exc.partial.fibers)
                    raise type(exc)(
                        f"{exc} ({graded} fibre(s) graded are kept: inspect again to go on)",
                        exc.partial,
                    ) from None
                raise
        s.scans[end] = scan
        recorded = self.gate.record_inspection(
            s.serial, end, scan, actor, self.bench.probe.info.probe_id
        )
        s.state = recorded.state
        return recorded

    def _not_qualified(self, definition: EndDefinition, cal: Calibration) -> str | None:
        """Why this station may not inspect this end now (its qualification, a dirty probe);
        the gate asks again when it records."""
        if self.offline:
            return None
        scales = {tip_for(definition.connector): cal.scale}
        return self.gate.standing(self.bench.probe.info.probe_id, scales).reason

    def standing(self) -> Standing:
        """The station's qualification for its probe and every tip it is calibrated for."""
        probe = self.bench.probe.info.probe_id
        scales = {c.tip: c.scale for c in self.config.calibrations if c.probe == probe and c.tip}
        return self.gate.standing(probe, scales)

    @staticmethod
    def _resumable(s: Session, end: str) -> ScanResult | None:
        """The interrupted scan of this end, while its fibres are fresh enough to keep."""
        kept = s.interrupted.pop(end, None)
        if kept is None:
            return None
        partial, at = kept
        return partial if time.monotonic() - at <= RESUME_WITHIN_S else None

    @_logged(_on_end("clean"))
    @_notes_floor
    def clean(self, end: str, method: str, tool_id: str, adapter: bool) -> AssemblyState:
        actor = self._who()
        s = self._session()
        state = self.gate.record_cleaning(s.serial, end, method, tool_id, adapter, actor)
        s.interrupted.pop(end, None)  # what was graded before the cleaning is history
        self.bench.cleaned(end, method, tool_id, adapter, self.device_lock)
        s.state = state
        return state

    @_logged(_on_end("connect"))
    @_notes_floor
    def connect(self, end: str, mode: str = "connected") -> AssemblyState:
        actor = self._who()
        s = self._session()
        state = self.gate.connect(s.serial, end, actor, mode)
        self.bench.released(end, mode, self.device_lock)
        s.state = state
        return state

    @_logged(
        lambda self, username, password, action, reason, end, **k: _on_end(
            f"supervisor decision {getattr(action, 'label', action)}"
        )(self, end)
    )
    @_notes_floor
    def supervisor_decision(
        self, username: str, password: str, action: Kind | str, reason: str, end: str | None
    ) -> AssemblyState:
        """A supervisor signs in for one decision (``action``: one of ``DECISIONS``, the kind
        of event it records); the operator stays signed in."""
        action = decision(action)  # an unknown decision is refused before anyone signs in
        operator = self._who()
        s = self._session()
        supervisor = self.accounts.sign_in(username, password, SIGN_IN_WINDOW)
        try:
            refusal = supervisor_refusal(supervisor.username, supervisor.role, reason)
            if refusal:  # a decision tried and refused is on the record, like any refusal
                who = supervisor if not supervisor.supervises else operator
                self.gate.record_refusal(s.serial, end, who, action.label, refusal)
                if not supervisor.supervises:
                    raise AuthError(refusal)
                raise GateRefused(refusal)
            if action == Kind.END_OVERRIDE:
                end = _decided_end(end, action)
                state = self.gate.override_connect(s.serial, end, supervisor, reason)
                self.bench.released(end, "connected", self.device_lock)
            elif action == Kind.END_RELEASED_FOR_REWORK:
                end = _decided_end(end, action)
                state = self.gate.release_for_rework(s.serial, end, supervisor, reason)
            else:
                state = self.gate.reject(s.serial, supervisor, reason)
        finally:  # signed in for this one decision only
            with contextlib.suppress(StoreError):
                self.gate.sign_out(self.accounts, supervisor)
        s.state = state
        return state

    # -- the live view -------------------------------------------------------------------------
    def show(self, end: str, fiber: int | None) -> None:
        """Move the fixture so the live view shows this end and fibre (None: the overview)."""
        s = self._session()
        definition = s.identified.product.end(end)
        with self.device_lock:
            self.bench.fixture.select_end(end)
            if fiber is None and definition.geometry.is_multi_fiber:
                self.bench.fixture.goto_overview()
            else:
                self.bench.fixture.goto_fiber(fiber or 1)

    @_logged(_on_end("autofocus"))
    def focus(self) -> int:
        """Autofocus on whatever is in view."""
        with self.device_lock:
            fx = self.bench.fixture
            result = autofocus(
                fx.focus_to,
                lambda: self.bench.probe.read().image,
                fx.status().focus,
                fx.info.focus_range,
            )
        return result.position

    def live_frame(self, timeout_s: float = 0.5) -> Frame | None:
        """The next frame, or None while a scan has the devices (the view keeps its last)."""
        if not self.device_lock.acquire(timeout=0.001):
            return None
        try:
            frame = self.bench.probe.read(timeout_s)
        finally:
            self.device_lock.release()
        now = time.monotonic()
        self.last_frame_at = [t for t in self.last_frame_at if now - t < 2.0] + [now]
        return frame

    @property
    def frame_rate(self) -> float:
        ts = self.last_frame_at
        if len(ts) < 2:
            return 0.0
        return (len(ts) - 1) / max(ts[-1] - ts[0], 1e-6)

    def grade_frame(self, frame: Frame, end: str) -> EndFaceResult:
        """Grade what the probe shows now (a capture), against the end's own rule set."""
        definition = self._session().identified.product.end(end)
        cal = self.bench.calibration(definition)
        self.last_focus = focus_score(frame.image)
        return grade_view(frame, definition, cal.min_focus_score, cal.scale)

    # -- the station config ------------------------------------------------------------------
    @_logged(lambda self, config: f"save devices and store by {self._name()}")
    def save_devices(self, config: StationConfig) -> Path:
        """Write the devices and store to the station config: an admin's job, on the record."""
        actor = self.accounts.check(self._who())
        if actor.role != "admin":
            raise AuthError(
                f"{actor.username} is an {actor.role}: only an admin changes the station's "
                "devices and store"
            )
        path = save_config(config)
        store_url = config.store_url
        if store_url:
            store_url = make_url(store_url).render_as_string(hide_password=True)
        self._station_event(
            Kind.STATION_CONFIGURED,
            {
                "station_id": config.station_id,
                "probe": config.probe,
                "probe_id": config.probe_id,
                "fixture": config.fixture,
                "scanner": config.scanner,
                "store": store_url or "default SQLite",
            },
            actor,
        )
        return path

    @_logged(lambda self, cal: f"save calibration {cal.probe}/{cal.tip} by {self._name()}")
    def save_calibration(self, cal: Calibration) -> Path:
        """Write a probe's scale calibration: it changes every size measured from now on, so
        a supervisor or an admin signs it, and the old and new scale go on the record."""
        actor = self.accounts.check(self._who())
        if not actor.supervises:
            raise AuthError(
                f"{actor.username} is an {actor.role}: a supervisor or admin saves a calibration"
            )
        current = load_config()
        before = current.calibration(cal.probe, cal.tip)
        path = save_config(with_calibration(current, cal))
        self._station_event(
            Kind.STATION_CALIBRATED,
            {
                "probe": cal.probe,
                "tip": cal.tip,
                "um_per_px": cal.um_per_px,
                "um_per_px_y": cal.um_per_px_y,
                "previous_um_per_px": before.um_per_px if before else None,
                "min_focus_score": cal.min_focus_score,
                "date": cal.date,
            },
            actor,
        )
        return path

    def _station_event(self, kind: str, payload: dict[str, Any], actor: UserSession) -> None:
        with self.store.write() as w:
            w.event(kind, payload, None, None, actor.username)

    # -- the station's own evidence (issue 14) ------------------------------------------------
    def qualify(
        self,
        username: str,
        password: str,
        reference: ReferenceSet | None = None,
        out: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Qualified:
        """A supervisor signs in for this and qualifies the station on a reference set (the
        built-in one by default); the result and its signed report go on the record."""
        from qa_station.qualification.issue import run_reference

        supervisor = self.accounts.sign_in(username, password, SIGN_IN_WINDOW)
        try:
            if not supervisor.supervises:
                raise AuthError(
                    f"{username} is an {supervisor.role}: a supervisor qualifies the station"
                )
            with self.device_lock:  # the grader's CPUs, not the probe; but nothing else runs now
                return run_reference(
                    self.store,
                    self.config,
                    supervisor,
                    reference,
                    out,
                    self.bench.probe.info.probe_id,
                    progress,
                )
        finally:  # signed in for this one qualification only
            with contextlib.suppress(StoreError):
                self.gate.sign_out(self.accounts, supervisor)

    def probe_cleaned(self, note: str = "") -> int:
        """The operator cleaned the probe tip: the dirty-probe alarm is cleared (on the
        record); on the simulated bench the smudge is wiped off too."""
        from qa_station.qualification.dirty_probe import record_cleaned

        actor = self._who()
        event_id = record_cleaned(self.store, actor, note)
        if self.bench.simulated is not None:
            with self.device_lock:
                self.bench.simulated.clean_probe()
        return event_id

    def regrade(
        self,
        rules: str | Path,
        since_us: int | None = None,
        until_us: int | None = None,
        product: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        out: Path | None = None,
    ) -> Regraded:
        """Grade the archive's frames again under ``rules`` on every core and record the
        what-if report (the record of the inspections is not changed)."""
        from qa_station.regrade import record_regrade, regrade

        who = self._who()
        result = regrade(self.store, rules, since_us, until_us, product, None, progress, cancel)
        return record_regrade(self.store, result, who, out)

    # -- certificates ---------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load what the first certificate needs (fonts, signing code, the station key), so it
        takes no longer than the ones after it. Run in the background at start."""
        from qa_station.certificates.issuing import warm_up

        warm_up(station_paths().keys_dir, self.config.station_id)

    @_logged(lambda self, serial, *a, **k: f"certificate of {serial}")
    def issue_certificate(self, serial: str, folder: Path | None = None) -> Path:
        """Sign and write an accepted assembly's certificate (again, if it had one)."""
        from qa_station.certificates.issuing import issue

        target = ensure_dir(folder or station_paths().certificates_dir)
        return issue(self.store, serial, target, self.config)

    # -- the record ----------------------------------------------------------------------------
    def record(self, serial: str) -> AssemblyRecord:
        """The assembly's record, with the inspections a dirty-probe alarm marked."""
        from dataclasses import replace

        from qa_station.qualification.dirty_probe import alarms_for

        rec = load_record(self.store, serial)
        ids = {i.id for e in rec.ends for i in e.inspections}
        with self.store.read() as s:
            return replace(rec, probe_alarms=alarms_for(s, ids))

    def counts(self) -> dict[str, int]:
        return record_counts(self.store)

    def verify(self) -> VerifyReport:
        return verify(self.store)


def _decided_end(end: str | None, action: Kind) -> str:
    """The end a supervisor's decision about one end is about."""
    if not end:
        raise GateRefused(f"{action.label}: pick the end the decision is about")
    return end
