"""Scanning one end: focus, step through every fibre, grade each frame.

Fibres are numbered by the fixture (it knows which position it moved to), not
by where they happen to sit in a frame. A frame that is not sharp enough is
refocused once and otherwise not graded: a blurred frame hides defects and
must never pass. A device that fails mid-scan stops the scan with a plain
message; the fibres already graded are kept so the scan can resume there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from grading import grade
from grading.grade import fibre_errors, nearest_to_centre_px, roll_up, zone_shapes
from grading.pixels import scale_pair
from grading.results import ERROR, EndFaceResult, FiberResult, ZoneShape
from grading.rules import RuleSet
from hardware.focus import FocusError, autofocus, focus_score, refocus
from hardware.probes.base import Frame, Probe, ProbeError
from hardware.stages.base import Fixture, FixtureError
from qa_station.catalog import EndDefinition

FRESH_FRAME_TRIES = 4


class ScanError(Exception):
    """The scan stopped: a device failed. ``partial`` holds what was graded so far."""

    def __init__(self, message: str, partial: ScanResult | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class ScanCancelled(ScanError):
    """The operator cancelled the scan."""


@dataclass(frozen=True)
class ScanProgress:
    end: str
    fiber: int | None  # None while focusing or taking the overview
    done: int
    total: int
    message: str
    result: FiberResult | None = None


@dataclass
class ScanResult:
    end: str
    connector: str
    rules: str
    fibers: dict[int, FiberResult] = field(default_factory=dict)
    frames: dict[int, Frame] = field(default_factory=dict)  # the frame each fibre was graded on
    overview: Frame | None = None
    focus_scores: dict[int, float] = field(default_factory=dict)
    um_per_px: float | tuple[float, float] | None = None  # (x, y) when pixels are not square
    rules_sha256: str | None = None
    zones: tuple[ZoneShape, ...] = ()

    @property
    def complete(self) -> bool:
        return len(self.fibers) == _fibre_count(self.connector)

    def result(self) -> EndFaceResult:
        """The end face as one result (the grade JSON), fibres in fixture numbering."""
        fibres = tuple(self.fibers[n] for n in sorted(self.fibers))
        if not self.complete:
            verdict = ERROR
            error: str | None = (
                f"scan incomplete: {len(fibres)} of {_fibre_count(self.connector)} fibres"
            )
        else:
            verdict, error = roll_up(fibres), fibre_errors(fibres)
        x, y = scale_pair(self.um_per_px) or (None, None)
        return EndFaceResult(
            verdict=verdict,
            um_per_px=x,
            um_per_px_y=y if y != x else None,
            rules=self.rules,
            connector=self.connector,
            fibers=fibres,
            image=None,
            error=error,
            scale_source="given" if self.um_per_px else None,
            rules_sha256=self.rules_sha256,
            zones=self.zones,
            extra={"end": self.end},
        )


def _fibre_count(connector_name: str) -> int:
    from grading.geometry import connector

    return connector(connector_name).fiber_count


def scan_end(
    probe: Probe,
    fixture: Fixture,
    end: EndDefinition,
    min_focus_score: float,
    um_per_px: float | tuple[float, float] | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: threading.Event | None = None,
    resume: ScanResult | None = None,
    clock: Callable[[], float] | None = None,
) -> ScanResult:
    """Scan every fibre of ``end``; ``resume`` continues a scan that stopped part way."""
    geometry = end.geometry
    ruleset = end.ruleset()
    result = resume or ScanResult(
        end=end.label,
        connector=geometry.name,
        rules=ruleset.name,
        rules_sha256=ruleset.sha256,
        zones=zone_shapes(ruleset, geometry),
    )
    total = geometry.fiber_count
    say = progress or (lambda p: None)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise ScanCancelled(f"scan of end {end.label} cancelled", result)

    def grab() -> Frame:
        return _fresh(probe, clock)

    focus_range = fixture.info.focus_range
    try:
        fixture.select_end(end.label)
        if geometry.is_multi_fiber and result.overview is None:
            say(ScanProgress(end.label, None, len(result.fibers), total, "overview of the ferrule"))
            fixture.goto_overview()
            result.overview = grab()
        focused_row: float | None = None
        for n in range(1, total + 1):
            if n in result.fibers:
                continue
            check_cancel()
            fixture.goto_fiber(n)
            row = geometry.fiber_positions_um[n - 1][1]
            if focused_row is None:
                say(ScanProgress(end.label, n, len(result.fibers), total, "autofocus"))
                autofocus(
                    fixture.focus_to, lambda: grab().image, fixture.status().focus, focus_range
                )
            elif row != focused_row:
                refocus(
                    fixture.focus_to, lambda: grab().image, fixture.status().focus, focus_range, 160
                )
            focused_row = row
            frame = grab()
            score = focus_score(frame.image)
            if score < min_focus_score:
                refocus(fixture.focus_to, lambda: grab().image, fixture.status().focus, focus_range)
                frame = grab()
                score = focus_score(frame.image)
            fibre = _grade_fibre(
                frame, n, end.connector, ruleset, score, min_focus_score, um_per_px
            )
            result.fibers[n] = fibre
            result.frames[n] = replace(frame, end=end.label, fiber=n)
            result.focus_scores[n] = score
            result.um_per_px = um_per_px or frame.um_per_px or result.um_per_px
            say(
                ScanProgress(
                    end.label, n, len(result.fibers), total, f"fibre {n}: {fibre.verdict}", fibre
                )
            )
    except ProbeError as exc:
        raise ScanError(
            f"probe problem during the scan of end {end.label}: {exc}", result
        ) from None
    except FixtureError as exc:
        raise ScanError(
            f"fixture problem during the scan of end {end.label}: {exc}", result
        ) from None
    except FocusError as exc:
        raise ScanError(f"cannot focus on end {end.label}: {exc}", result) from None
    return result


def _fresh(probe: Probe, clock: Callable[[], float] | None) -> Frame:
    """A frame taken after the last move (a camera may hand out one it had queued)."""
    if clock is None:
        return probe.read()
    after = clock()
    frame = probe.read()
    for _ in range(FRESH_FRAME_TRIES):
        if frame.timestamp >= after:
            break
        frame = probe.read()
    return frame


def whole_ferrule(frame: Frame, end: EndDefinition) -> bool:
    """Whether the frame shows an MT end's whole ferrule (to find fibres in, not to grade)."""
    return frame.view == "overview" or (frame.fiber is None and end.geometry.is_multi_fiber)


def grade_view(
    frame: Frame,
    end: EndDefinition,
    min_focus_score: float,
    um_per_px: float | tuple[float, float] | None,
) -> EndFaceResult:
    """Grade what the probe shows now, the way a scan would grade that view.

    A fibre view is judged as that fibre alone (neighbours at the frame's edge
    are not its business). An overview is refused: at whole-ferrule
    magnification no rule set can be applied, and saying so beats a result
    that can only ever read "not judged".
    """
    if whole_ferrule(frame, end):
        raise ScanError(
            "the whole-ferrule view is for finding the fibres, too coarse to grade: "
            "pick a fibre on the map (or inspect the end) to grade at full magnification"
        )
    ruleset = end.ruleset()
    n = frame.fiber or 1
    fibre = _grade_fibre(
        frame, n, end.connector, ruleset, focus_score(frame.image), min_focus_score, um_per_px
    )
    x, y = scale_pair(um_per_px or frame.um_per_px) or (None, None)
    return EndFaceResult(
        verdict=fibre.verdict,
        um_per_px=x,
        um_per_px_y=y if y != x else None,
        rules=ruleset.name,
        connector=end.geometry.name,
        fibers=(fibre,),
        error=fibre.error,
        scale_source="given",
        rules_sha256=ruleset.sha256,
        zones=zone_shapes(ruleset, end.geometry),
        extra={"end": end.label, "fiber": n},
    )


def grade_fibre_image(
    image: np.ndarray,
    n: int,
    connector_name: str,
    ruleset: RuleSet,
    min_focus_score: float,
    um_per_px: float | tuple[float, float] | None,
) -> tuple[FiberResult, float]:
    """Grade one fibre's frame exactly as a scan grades it (focus first, the fibre nearest
    the middle), and its focus score: a qualification and a re-grade judge frames this way."""
    score = focus_score(image)
    frame = Frame(image, None, "", 0.0, 0, fiber=n)
    return _grade_fibre(frame, n, connector_name, ruleset, score, min_focus_score, um_per_px), score


def _grade_fibre(
    frame: Frame,
    n: int,
    connector_name: str,
    ruleset: RuleSet,
    score: float,
    min_focus_score: float,
    um_per_px: float | tuple[float, float] | None,
) -> FiberResult:
    h, w = frame.image.shape[:2]
    middle = ((w - 1) / 2.0, (h - 1) / 2.0)  # where the fixture put the fibre
    if score < min_focus_score:
        return FiberResult(
            index=n,
            center_px=middle,
            diameter_px=0.0,
            verdict=ERROR,
            error=f"out of focus (focus score {score:.1f}, at least {min_focus_score:g} needed)",
        )
    r = grade(
        frame.image, connector=connector_name, rules=ruleset, um_per_px=um_per_px or frame.um_per_px
    )
    if not r.fibers:
        return FiberResult(
            index=n,
            center_px=middle,
            diameter_px=0.0,
            verdict=ERROR,
            error=r.error or "no fibre found in the frame",
        )
    own = nearest_to_centre_px(r.fibers, (h, w))
    error = own.error if own.error else (r.error if r.verdict == ERROR and not own.error else None)
    return replace(own, index=n, error=error, verdict=ERROR if error else own.verdict)
