"""How an end face looks: surface levels and the capture chain, by family name.

The grader was tuned on one look (bright glass on mid-grey ceramic, a faint
core, a thin dark epoxy ring). Real probes show others: a dark fibre on light
zirconia under coaxial light, a multimode core as its own disc, a bright
single-mode core dot, analog video with non-square pixels, interlace and
padded JPEG files. Each family is a preset ``Appearance``; a View selects one
by name (``View(appearance="zirconia-dark")``) and may vary it with
``dataclasses.replace``. ``classic`` is today's look and stays the default, so
the simulated bench and every existing test render exactly as before.

Levels are fractions of full scale before exposure. Ring widths are in
micrometres on the end face; radii are measured from the fibre centre:
cladding edge at the cladding radius, the rim just inside it, the adhesive
ring just outside it, and the bore edge just outside the adhesive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Analog capture formats: frame size and pixel aspect (pixel width / pixel height).
VIDEO_FORMATS: dict[str, tuple[int, int, float]] = {
    "pal": (720, 576, 16.0 / 15.0),
    "ntsc": (720, 480, 10.0 / 11.0),
}


@dataclass(frozen=True)
class Appearance:
    """Surface levels and capture effects of one look (see the module docstring)."""

    name: str = "classic"
    # Surfaces.
    ceramic: float = 0.50  # ceramic (zirconia) ferrule
    plastic: float = 0.36  # MT plastic
    grain: float = 1.0  # ferrule texture amplitude, times the classic grain
    cladding: float = 0.80
    # Added to the cladding level inside the core; None: the faint classic core
    # (+0.02 single-mode, -0.018 multimode: index steps barely reflect).
    core_contrast: float | None = None
    adhesive: float = 0.14
    adhesive_width_um: float | None = None  # None: 1.5 um ceramic, 2.5 um MT
    rim: float = 0.0  # a band just inside the cladding edge (polish roll-off)
    rim_width_um: float = 0.0
    # A thin dark line at the glass's very edge (its chamfer), inside the cladding's
    # 125 um: real frames show it between the bright rim and the ferrule, and the
    # fibre ends at its outer side, where the ferrule begins.
    bevel: float = 0.0
    bevel_width_um: float = 0.0
    bore_edge: float = 0.0  # a thin ring at the ferrule bore, outside the adhesive
    bore_edge_width_um: float = 0.0
    bore_offset_um: float = 0.0  # the bore's centre this far to the right of the fibre's
    vignetting: float = 0.0  # added to the View's own vignetting
    # Analog video capture (all zero: a digital sensor writing PNG).
    interlace_px: float = 0.0  # horizontal offset between the two fields
    field_softness_px: float = 0.0  # extra horizontal blur of the odd field
    video_bandwidth_px: float = 0.0  # horizontal luma low-pass (sigma, px)
    line_jitter_px: float = 0.0  # per-line timing jitter (sigma, px)
    video_noise: float = 0.0  # composite noise, horizontally smeared (sigma)
    jpeg_quality: int = 0  # 0: frames are written as PNG
    jpeg_pad_bytes: int = 0  # capture software pads files to a multiple of this

    def __post_init__(self) -> None:
        for key in ("ceramic", "plastic", "cladding", "adhesive", "rim", "bore_edge", "bevel"):
            v = getattr(self, key)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"appearance {self.name!r}: {key} must be in [0, 1], got {v}")
        for key in ("rim_width_um", "bore_edge_width_um", "bevel_width_um", "grain", "video_noise"):
            if getattr(self, key) < 0:
                raise ValueError(f"appearance {self.name!r}: {key} must not be negative")
        if self.adhesive_width_um is not None and self.adhesive_width_um < 0:
            raise ValueError(f"appearance {self.name!r}: adhesive_width_um must not be negative")
        if not (self.jpeg_quality == 0 or 1 <= self.jpeg_quality <= 100):
            raise ValueError(f"appearance {self.name!r}: jpeg_quality must be 0 or 1-100")

    @property
    def is_video(self) -> bool:
        """Whether frames pass through the analog video chain."""
        return bool(
            self.interlace_px
            or self.field_softness_px
            or self.video_bandwidth_px
            or self.line_jitter_px
            or self.video_noise
        )

    def fibre_darker_than_ferrule(self, ferrule: str = "ceramic") -> bool:
        return self.cladding < (self.plastic if ferrule == "mt" else self.ceramic)


CLASSIC = Appearance()

# Zirconia under coaxial light (public scope frames): a light, grainy ferrule;
# a mid-dark glass disc with a bright rim and, at its very edge, a thin dark line
# (the chamfer; the frames' hand labels put the fibre's edge at its outer side,
# where the ferrule begins); a thin bright bore edge just outside; corners
# falling off. No adhesive shows: the fibre fills its bore.
ZIRCONIA_DARK = Appearance(
    name="zirconia-dark",
    ceramic=0.76,
    plastic=0.62,
    grain=1.1,
    cladding=0.34,
    core_contrast=0.04,
    adhesive=0.86,
    adhesive_width_um=0.0,
    rim=0.55,
    rim_width_um=1.2,
    bevel=0.22,
    bevel_width_um=1.0,
    bore_edge=0.86,
    bore_edge_width_um=0.8,
    vignetting=0.25,
)

# Multimode with its core as a disc of its own, brighter than a dark cladding,
# a thick adhesive ring and a bright bore edge.
MM_CORE_BRIGHT = Appearance(
    name="mm-core-bright",
    ceramic=0.70,
    plastic=0.58,
    grain=1.3,
    cladding=0.36,
    core_contrast=0.20,
    adhesive=0.18,
    adhesive_width_um=9.0,
    bore_edge=0.88,
    bore_edge_width_um=1.5,
    vignetting=0.1,
)

# Multimode with its core darker than a bright cladding, on a mid-grey ferrule.
MM_CORE_DARK = Appearance(
    name="mm-core-dark",
    ceramic=0.46,
    plastic=0.36,
    cladding=0.80,
    core_contrast=-0.22,
    adhesive=0.24,
    adhesive_width_um=9.0,
    bore_edge=0.08,
    bore_edge_width_um=1.5,
)

# Single-mode seen with the core lit: a bright 9 um dot in a glass disc a little
# darker than a light, smooth ferrule, and a soft, low-contrast cladding edge.
SM_CORE_DOT = Appearance(
    name="sm-core-dot",
    ceramic=0.90,
    # MT plastic (glass-filled epoxy) reflects less than zirconia: a grainy mid-grey,
    # not a grey within a few per cent of the glass's (where no eye sees the fibre).
    plastic=0.58,
    grain=0.5,
    cladding=0.74,
    core_contrast=0.22,
    adhesive=0.66,
    adhesive_width_um=1.0,
    vignetting=0.08,
)

# A video inspection scope through a capture card: multimode in zirconia (the
# core the most visible disc), non-square pixels (set on the View, see
# VIDEO_FORMATS), two interlaced fields a little apart, composite noise, and
# JPEG files padded after their end marker.
ANALOG_VIDEO = replace(
    ZIRCONIA_DARK,
    name="analog-video",
    ceramic=0.74,
    plastic=0.60,
    grain=1.2,
    cladding=0.36,
    core_contrast=0.12,
    adhesive_width_um=2.0,
    rim_width_um=1.0,
    bore_edge=0.84,
    bore_edge_width_um=1.0,
    vignetting=0.2,
    interlace_px=0.5,
    field_softness_px=0.4,
    video_bandwidth_px=0.7,
    line_jitter_px=0.12,
    video_noise=0.012,
    jpeg_quality=82,
    jpeg_pad_bytes=32768,
)

LOOKS: dict[str, Appearance] = {
    a.name: a
    for a in (CLASSIC, ZIRCONIA_DARK, MM_CORE_BRIGHT, MM_CORE_DARK, SM_CORE_DOT, ANALOG_VIDEO)
}


def look(name: str) -> Appearance:
    """The preset appearance of a family, by name."""
    try:
        return LOOKS[name]
    except KeyError:
        raise ValueError(f"unknown look {name!r}; known: {', '.join(LOOKS)}") from None
