"""The simulated bench: a fixture holding a virtual assembly under a simulated 400x probe.

It is the station's embedded default. The fixture state (end, fibre or
overview, focus motor, LED) decides what the probe sees; dirt follows the
physics in ``contamination``; focus drifts slowly as a real stage does with
temperature. Rendering a view is cached per state, and each frame gets fresh
sensor noise and the current defocus, which keeps the probe at video rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from hardware.optics.render import expose, noise_scale_for, render_optical
from hardware.optics.scene import View, scene_from_layout
from hardware.simulated import contamination
from hardware.simulated.assembly import VirtualAssembly, VirtualEnd
from hardware.simulated.lens import LensSmudge

FIBRE_UM_PER_PX = 0.3125  # 400x: 0.4 x 0.3 mm on a 1280 x 960 sensor
RESOLUTION = (1280, 960)
FOCUS_RANGE = (0, 4000)
UM_PER_FOCUS_STEP = 0.5
BASE_BLUR_UM = 0.35  # optics at best focus
BLUR_PER_DEFOCUS_UM = 0.22  # spot growth per micrometre out of focus
DRIFT_STEPS = 14.0  # slow thermal drift of the best focus, amplitude in steps
DRIFT_PERIOD_S = 900.0
STAGE_REPEATABILITY_UM = 3.0  # where the stage lands when stepping to a fibre
SEATING_UM = 8.0  # how differently a connector sits each time it is plugged into the fixture
NOMINAL_LED = 60
NOISE = 0.012


class BenchError(Exception):
    """A request the physical bench could not carry out (no assembly, no such end...)."""


@dataclass(frozen=True)
class Capture:
    image: np.ndarray
    end: str | None
    fiber: int | None
    view: str
    um_per_px: float  # the true scale of this view
    blur_um: float  # total optical blur at this focus


class SimulatedBench:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        noise: float = NOISE,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self._frame_rng = np.random.default_rng(seed + 1)
        self._lock = threading.RLock()
        self.assembly: VirtualAssembly | None = None
        self.end: str | None = None
        self.fiber: int | None = None  # None: overview
        self.focus = FOCUS_RANGE[0] + (FOCUS_RANGE[1] - FOCUS_RANGE[0]) // 2
        self.led = NOMINAL_LED
        self.probe_plugged = True
        self._offset = (0.0, 0.0)
        self._seat = (0.0, 0.0)  # this seating of the connector in the fixture
        self.lens: LensSmudge | None = None  # dirt on the probe itself
        self._lens_layer: np.ndarray | None = None
        self._started = clock()
        self._cache_key: tuple | None = None
        self._cache_sharp: np.ndarray | None = None
        self._blur_key: tuple | None = None
        self._blurred: np.ndarray | None = None
        self._noise_scale: np.ndarray | None = None
        self._exposure = 1.0

    # -- the assembly in the fixture ------------------------------------------
    def load(self, assembly: VirtualAssembly) -> None:
        with self._lock:
            self.assembly = assembly
            self.end = None
            self.fiber = None
            self._seat = (0.0, 0.0)

    def unload(self) -> None:
        with self._lock:
            self.assembly = None
            self.end = None
            self.fiber = None

    def current_end(self) -> VirtualEnd:
        if self.assembly is None:
            raise BenchError("no assembly in the fixture")
        if self.end is None:
            raise BenchError("no end selected")
        return self.assembly.ends[self.end]

    def _end(self, label: str) -> VirtualEnd:
        if self.assembly is None:
            raise BenchError("no assembly in the fixture")
        try:
            return self.assembly.ends[label]
        except KeyError:
            known = ", ".join(self.assembly.ends)
            raise BenchError(
                f"assembly {self.assembly.serial} has no end {label!r} (ends: {known})"
            ) from None

    # -- fixture motions -------------------------------------------------------
    def select_end(self, label: str) -> None:
        with self._lock:
            end = self._end(label)
            self.end = label
            self.fiber = None
            self.uncap(label)
            self._land(end)

    def goto_fiber(self, fiber: int) -> None:
        with self._lock:
            end = self.current_end()
            n = len(end.fibre_centres_um)
            if not 1 <= fiber <= n:
                raise BenchError(f"fibre {fiber} out of range 1..{n} for end {end.spec.label}")
            self.fiber = fiber
            self._land(end)

    def goto_overview(self) -> None:
        with self._lock:
            self.current_end()
            self.fiber = None
            self._offset = (0.0, 0.0)

    def focus_to(self, position: int) -> int:
        with self._lock:
            self.focus = int(min(max(position, FOCUS_RANGE[0]), FOCUS_RANGE[1]))
            return self.focus

    def set_led(self, percent: int) -> None:
        if not 0 <= percent <= 100:
            raise BenchError(f"LED level {percent} out of range 0..100")
        with self._lock:
            self.led = int(percent)

    def best_focus(self) -> int:
        """Where the current view is sharpest right now (drift included)."""
        end = self.current_end()
        drift = DRIFT_STEPS * math.sin(
            2 * math.pi * (self.clock() - self._started) / DRIFT_PERIOD_S
        )
        tilt = 0.0
        if end.spec.polish == "apc" and self.fiber is not None:
            # An 8 degree polish: rows of a two-row MT ferrule sit at different heights.
            y = end.fibre_centres_um[self.fiber - 1][1]
            tilt = y * math.tan(math.radians(8.0)) / UM_PER_FOCUS_STEP
        return round(end.best_focus + drift + tilt)

    def _land(self, end: VirtualEnd) -> None:
        s = STAGE_REPEATABILITY_UM
        self._offset = (
            self._seat[0] + float(self._rng.normal(0, s)),
            self._seat[1] + float(self._rng.normal(0, s)),
        )

    def reseat(self, label: str) -> None:
        """Take the connector out of the fixture and plug it in again (a repeatability
        trial): it sits a few micrometres elsewhere, and the stage finds its fibres anew."""
        with self._lock:
            end = self._end(label)
            self.cap(label)
            s = SEATING_UM
            self._seat = (float(self._rng.normal(0, s)), float(self._rng.normal(0, s)))
            self.uncap(label)
            if self.end == label:
                self._land(end)

    # -- the probe itself -------------------------------------------------------
    def smudge_lens(self, smudge: LensSmudge) -> None:
        """Dirt on the probe's lens or tip window: in every frame from now on."""
        with self._lock:
            self.lens = smudge
            self._lens_layer = None
            self._blur_key = None

    def clean_probe(self) -> None:
        """The probe tip cleaned: the smudge is gone."""
        with self._lock:
            self.lens = None
            self._lens_layer = None
            self._blur_key = None

    # -- what the operator does with the assembly -----------------------------
    def clean(self, label: str, method: str, male_tool: bool = True) -> contamination.CleanReport:
        with self._lock:
            end = self._end(label)
            self._expose(end)
            return contamination.clean(
                end.dirt, method, self._rng, male=end.male, male_tool=male_tool
            )

    def clean_adapter(self, label: str) -> None:
        with self._lock:
            contamination.clean_adapter(self._end(label).dirt, self._rng)

    def cap(self, label: str) -> None:
        with self._lock:
            end = self._end(label)
            self._expose(end)
            end.dirt.capped = True
            end.dirt.uncapped_since = None

    def uncap(self, label: str) -> None:
        with self._lock:
            end = self._end(label)
            if end.dirt.capped:
                end.dirt.capped = False
                end.dirt.uncapped_since = self.clock()

    def mate(self, label: str) -> int:
        """Plug the end into its adapter; returns the particles the adapter left."""
        with self._lock:
            end = self._end(label)
            self._expose(end)
            n = contamination.mate(end.dirt, end.fibre_centres_um, self._rng)
            end.dirt.capped = True  # in the adapter, the face is covered
            end.dirt.uncapped_since = None
            return n

    def unmate(self, label: str) -> None:
        self.uncap(label)

    def _expose(self, end: VirtualEnd) -> None:
        contamination.expose(end.dirt, self.clock(), end.fibre_centres_um, self._rng)

    # -- what the probe sees ---------------------------------------------------
    def view(self) -> tuple[View, float]:
        """The probe's view of the current state, and the optical blur in um."""
        end = self.current_end()
        w, h = RESOLUTION
        if self.fiber is None:
            fw, fh = end.spec.layout.ferrule_size_um
            s = max(fw * 1.15 / w, fh * 1.15 / h)
            centre = (0.0, 0.0)
        else:
            s = FIBRE_UM_PER_PX
            fx, fy = end.fibre_centres_um[self.fiber - 1]
            centre = (fx + self._offset[0], fy + self._offset[1])
        defocus_um = abs(self.focus - self.best_focus()) * UM_PER_FOCUS_STEP
        blur = math.hypot(BASE_BLUR_UM, BLUR_PER_DEFOCUS_UM * defocus_um)
        view = View(
            center_um=centre,
            um_per_px=s,
            width_px=w,
            height_px=h,
            blur_um=BASE_BLUR_UM,
            noise=self.noise,
            light_gradient=0.12,
            light_angle_deg=35.0,
            vignetting=0.12,
            exposure=self.led / NOMINAL_LED,
        )
        return view, blur

    def capture(self) -> Capture:
        """One frame of what the probe sees now."""
        with self._lock:
            end = self.current_end()
            self._expose(end)
            view, blur = self.view()
            key = (
                self.assembly.serial,
                end.spec.label,
                end.dirt.version,
                view.center_um,
                view.um_per_px,
            )
            if key != self._cache_key:
                scene = scene_from_layout(
                    end.spec.layout,
                    end.spec.fiber,
                    tuple(end.dirt.features),
                    texture_seed=end.texture_seed,
                    pins=end.male,
                )
                self._cache_sharp = render_optical(scene, view)
                self._cache_key = key
                self._blur_key = None
            extra_px = math.sqrt(max(blur**2 - BASE_BLUR_UM**2, 0.0)) / view.um_per_px
            blur_key = (key, round(extra_px, 1))
            if blur_key != self._blur_key or view.exposure != self._exposure:
                self._blurred = _defocus(self._cache_sharp, extra_px)
                if self.lens is not None:
                    if self._lens_layer is None:
                        self._lens_layer = self.lens.layer(view.width_px, view.height_px)
                    self._blurred = self._blurred * self._lens_layer
                self._noise_scale = noise_scale_for(self._blurred, view)
                self._blur_key = blur_key
                self._exposure = view.exposure
            image = expose(self._blurred, view, self._frame_rng, self._noise_scale)
            return Capture(
                image=image,
                end=end.spec.label,
                fiber=self.fiber,
                view="overview" if self.fiber is None else "fiber",
                um_per_px=view.um_per_px,
                blur_um=blur,
            )


def _defocus(sharp: np.ndarray, sigma_px: float) -> np.ndarray:
    """Blur by ``sigma_px``; wide blurs on a reduced copy (same result, a fraction of the cost)."""
    if sigma_px <= 0.3:
        return sharp
    if sigma_px <= 6.0:
        return cv2.GaussianBlur(sharp, (0, 0), sigma_px)
    k = int(sigma_px // 3)
    h, w = sharp.shape
    small = cv2.resize(sharp, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma_px / k)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
