"""The parts certificates and rejection reports share: end sections, fibre tables, history,
and how the document names itself.

Pictures are prepared first, all at once and in parallel (OpenCV releases the
GIL while it decodes, resizes and encodes), then laid out.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table, TableStyle

from grading.geometry import connector
from grading.results import FiberResult
from reports import overlay
from reports.model import AssemblyReport, EndSection, FibreAgain, load_image
from reports.pdf import (
    CONTENT_WIDTH,
    GREEN,
    GREY,
    LINE,
    ORANGE,
    PALE_GREEN,
    PALE_ORANGE,
    PALE_RED,
    RED,
    Cell,
    StyleCommand,
    both,
    boxed,
    build,
    cells,
    coloured,
    esc,
    grid,
    head_row,
    in_rows,
    key_values,
    para,
    picture,
    short,
    short_utc,
    standard_footer,
    styled,
    text,
    verdict_word,
    yes_no,
)

THUMB_PX = 176
SINGLE_PX = 380
FOCUS_PX = 300
EARLIER_PX = 260


@dataclass
class EndPictures:
    thumbs: dict[int, bytes | None] = field(default_factory=dict)  # fibre -> JPEG
    large: dict[int, bytes | None] = field(default_factory=dict)  # fibre -> JPEG (bigger)
    overview: bytes | None = None
    overview_located: bool = False
    overview_aspect: float = 0.5
    fibre_map: bytes | None = None
    map_aspect: float = 0.5
    earlier: dict[tuple[int, int], bytes | None] = field(default_factory=dict)  # (fibre, insp.)


def zone_names(end: EndSection) -> tuple[str, ...]:
    if end.zones:
        return tuple(z.name for z in end.zones)
    seen = sorted({d.zone for f in (end.result.fibers if end.result else ()) for d in f.defects})
    multi = connector(end.connector).is_multi_fiber
    return tuple(seen) or (("A", "B") if multi else ("A", "B", "C", "D"))


def prepare_pictures(
    ends: Iterable[EndSection],
    large: Callable[[EndSection, FiberResult], bool] = lambda e, f: False,
    workers: int | None = None,
) -> dict[str, EndPictures]:
    """Every picture the ends need, drawn in parallel: thumbnails of every fibre, a large view
    of the fibres ``large`` picks (and of every single-fibre end), overviews and fibre maps."""
    ends = list(ends)
    out = {e.label: EndPictures() for e in ends}
    jobs: list[Callable[[], None]] = []

    def fibre_job(e: EndSection, f: FiberResult, want_large: bool) -> Callable[[], None]:
        def run() -> None:
            pics = out[e.label]
            zones = e.zones
            px = THUMB_PX if thumbnails_per_row(e) <= 8 else 150
            size = SINGLE_PX if not connector(e.connector).is_multi_fiber else FOCUS_PX
            reduce = overlay.shrink_for(f, e.um_per_px, zones, size if want_large else px)
            img, shrunk = load_image(e.fibre_images.get(f.index), reduce)
            if img is None:
                pics.thumbs[f.index] = None
                if want_large:
                    pics.large[f.index] = None
                return
            if connector(e.connector).is_multi_fiber:
                thumb = overlay.fibre_overlay(img, f, e.um_per_px, zones, px, shrunk=shrunk)
                pics.thumbs[f.index] = overlay.jpeg(thumb)
            if want_large:
                big = overlay.fibre_overlay(img, f, e.um_per_px, zones, size, shrunk=shrunk)
                pics.large[f.index] = overlay.jpeg(big, 85)

        return run

    def overview_job(e: EndSection) -> Callable[[], None]:
        def run() -> None:
            img, _ = load_image(e.overview)
            pics = out[e.label]
            if img is not None:
                rgb, located = overlay.overview_overlay(
                    img, e.result, e.connector, fibres=e.overview_fibres
                )
                pics.overview, pics.overview_located = overlay.jpeg(rgb, 85), located
                pics.overview_aspect = rgb.shape[0] / rgb.shape[1]
            verdicts = {f.index: f.verdict for f in e.result.fibers} if e.result else {}
            fmap = overlay.fibre_map(e.connector, verdicts, e.gender, width=900)
            pics.fibre_map, pics.map_aspect = overlay.png(fmap), fmap.shape[0] / fmap.shape[1]

        return run

    def earlier_job(e: EndSection, again: FibreAgain) -> Callable[[], None]:
        def run() -> None:
            zones = again.zones or e.zones
            reduce = overlay.shrink_for(again.fibre, again.um_per_px, zones, EARLIER_PX)
            img, shrunk = load_image(again.image, reduce)
            key = (again.fibre.index, again.inspection_id)
            if img is None:
                out[e.label].earlier[key] = None
                return
            rgb = overlay.fibre_overlay(
                img, again.fibre, again.um_per_px, zones, EARLIER_PX, shrunk=shrunk
            )
            out[e.label].earlier[key] = overlay.jpeg(rgb, 85)

        return run

    for e in ends:
        multi = connector(e.connector).is_multi_fiber
        for again in e.earlier:
            jobs.append(earlier_job(e, again))
        if multi:
            jobs.append(overview_job(e))
        for f in e.result.fibers if e.result else ():
            jobs.append(fibre_job(e, f, (not multi) or large(e, f)))
    n = workers or min(4, os.cpu_count() or 1)
    if n <= 1 or len(jobs) <= 1:
        for job in jobs:
            job()
    else:
        with ThreadPoolExecutor(max_workers=n) as pool:
            for fut in [pool.submit(job) for job in jobs]:
                fut.result()
    return out


# -- per end ---------------------------------------------------------------------------------


def _connector_words(e: EndSection) -> str:
    g = connector(e.connector)
    fibre = {"sm": "single-mode", "mm": "multimode"}.get(e.fiber, e.fiber or "")
    parts = [e.connector.upper(), f"{g.fiber_count} fibre{'s' if g.fiber_count != 1 else ''}"]
    if e.gender:
        parts.append(e.gender)
    if fibre:
        parts.append(fibre)
    return ", ".join(parts)


def _zones_words(e: EndSection) -> str:
    if not e.zones:
        return "the zones of the rule set (the rule file is not available to list them)"
    words = [
        f"{z.name} {z.label} {z.inner_diameter_um:g}-{z.outer_diameter_um:g} µm" for z in e.zones
    ]
    multi = connector(e.connector).is_multi_fiber
    return ", ".join(words) + (" (MT ferrule: zones A and B only)" if multi else "")


def _released_words(e: EndSection, tz: dt.tzinfo | None) -> str:
    if not e.connection:
        return coloured("not released", RED)
    what = {"capped": "capped (released for shipping)", "connected": "connected (mated)"}.get(
        e.connection, e.connection
    )
    s = f"{esc(what)}, {esc(both(e.connected_at_us, tz))}"
    if e.connected_by:
        s += f", by {esc(e.connected_by)}"
    if e.deviation:
        s += " " + coloured("DEVIATION: by supervisor override", RED)
    return s


def end_info(e: EndSection, tz: dt.tzinfo | None, width: float = CONTENT_WIDTH) -> Table:
    rules = esc(e.rules.name)
    extra = ", ".join(
        x for x in (e.rules.title, f"version {e.rules.version}" if e.rules.version else "") if x
    )
    if extra:
        rules += f" ({esc(extra)})"
    if e.rules.note:
        rules += "<br/>" + coloured(e.rules.note, ORANGE, bold=False)
    sha = f'<font name="{_mono()}" size="6.4">{esc(e.rules.sha256 or "not recorded")}</font>'
    scale = esc(e.calibration) if e.calibration else "-"
    inspected = "-"
    if e.inspected_at_us is not None:
        inspected = esc(both(e.inspected_at_us, tz))
        if e.inspected_by:
            inspected += f", by {esc(e.inspected_by)}"
        if e.inspection_id is not None:
            inspected += f" (inspection #{e.inspection_id})"
    cleanings = f"{len(e.cleanings)}"
    if e.cleanings:
        methods = sorted({c.method for c in e.cleanings})
        cleanings += f" ({esc(', '.join(methods))}; details on the history page)"
    rows = [
        ("Rule set", rules),
        ("Rule file sha256", sha),
        ("Zones graded", esc(_zones_words(e))),
        ("Scale calibration", scale),
        ("Final inspection", inspected),
        ("Cleanings", cleanings),
        ("Released", _released_words(e, tz)),
    ]
    label_w = 30 * mm
    return key_values(rows, (label_w, width - label_w), value_is_markup=True)


def _mono() -> str:
    from reports.pdf import fonts

    return fonts()[2]


def end_heading(e: EndSection, title_prefix: str = "End") -> Table:
    left = para(f"{esc(title_prefix)} {esc(e.label)}", "h2")
    mid = para(esc(_connector_words(e)), "body")
    word = verdict_word(e.verdict) if e.result else coloured("not inspected", GREY)
    right = para(f"verdict {word}", "body")
    t = Table([[left, mid, right]], colWidths=[30 * mm, CONTENT_WIDTH - 30 * mm - 48 * mm, 48 * mm])
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (2, 0), (2, 0), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, colors.HexColor("#3b4650")),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return t


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def fibre_table(e: EndSection) -> Table | None:
    if not e.result or not e.result.fibers:
        return None
    zones = zone_names(e)
    nz = len(zones)
    header0 = [
        text("Fibre", "headc"),
        text("Verdict", "headc"),
        text("Defects per zone", "headc"),
        *[""] * (nz - 1),
        text("Scratches per zone", "headc"),
        *[""] * (nz - 1),
        text("Largest defect µm", "headc"),
        text("Widest scratch µm", "headc"),
        text("Limits broken / notes", "head"),
    ]
    header1 = [
        "",
        "",
        *[text(z, "headc") for z in zones],
        *[text(z, "headc") for z in zones],
        "",
        "",
        "",
    ]
    rows = [header0, header1]
    extra: list[StyleCommand] = []
    for f in e.result.fibers:
        dcount = [sum(1 for d in f.defects if d.kind != "scratch" and d.zone == z) for z in zones]
        scount = [sum(1 for d in f.defects if d.kind == "scratch" and d.zone == z) for z in zones]
        largest = max((d.size_um for d in f.defects if d.kind != "scratch"), default=None)
        widest = max((d.size_um for d in f.defects if d.kind == "scratch"), default=None)
        notes = "; ".join(f.failures) if f.failures else (f.error or "-")
        rows.append(
            [
                text(f.index, "cellc"),
                para(verdict_word(f.verdict), "cellc"),
                *[text(c, "cellc") for c in dcount],
                *[text(c, "cellc") for c in scount],
                text(_fmt(largest), "cellc"),
                text(_fmt(widest), "cellc"),
                text(notes, "cell"),
            ]
        )
        if f.verdict != "pass":
            r = len(rows) - 1
            extra.append(
                ("BACKGROUND", (0, r), (-1, r), PALE_RED if f.verdict == "fail" else PALE_ORANGE)
            )
    cw = 13.5 * mm if nz <= 2 else 9 * mm
    fixed = [11 * mm, 17 * mm, *[cw / 1.35] * nz, *[cw / 1.35] * nz, 17 * mm, 17 * mm]
    widths = [*fixed, CONTENT_WIDTH - sum(fixed)]
    span = [
        ("SPAN", (2, 0), (1 + nz, 0)),
        ("SPAN", (2 + nz, 0), (1 + 2 * nz, 0)),
        *[("SPAN", (c, 0), (c, 1)) for c in (0, 1, 2 + 2 * nz, 3 + 2 * nz, 4 + 2 * nz)],
        ("BACKGROUND", (0, 0), (-1, 1), colors.HexColor("#3b4650")),
        ("LINEBELOW", (2, 0), (1 + 2 * nz, 0), 0.25, colors.HexColor("#8a949c")),
    ]
    return grid(rows, widths, header_rows=2, extra=span + extra)


# Columns set side by side as a layout: aligned at the top, no padding at their sides.
SIDE_BY_SIDE: list[StyleCommand] = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
]


def thumbnails_per_row(e: EndSection) -> int:
    """12 a row for MPO-12 and MPO-24 (a row of pictures is a row of the ferrule), else 8."""
    n = connector(e.connector).fiber_count
    return 12 if n in (12, 24) else 8


def thumbnails(e: EndSection, pics: EndPictures, only: Iterable[int] | None = None) -> Table | None:
    if not e.result:
        return None
    wanted = set(only) if only is not None else None
    fibres = [f for f in e.result.fibers if wanted is None or f.index in wanted]
    if not fibres:
        return None
    per_row = thumbnails_per_row(e)
    cell_w = CONTENT_WIDTH / per_row
    img_w = cell_w - 4
    cells: list[Cell] = []
    for f in fibres:
        data = pics.thumbs.get(f.index)
        pic = picture(data, img_w) if data else text("image missing from the store", "tiny")
        word = verdict_word(f.verdict)
        cap = para(f"{f.index} {word}" if per_row > 8 else f"fibre {f.index} {word}", "caption")
        cells.append([pic, cap])
    style: list[StyleCommand] = [
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 1.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 1.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    return styled(in_rows(cells, per_row), [cell_w] * per_row, style)


def overview_and_map(e: EndSection, pics: EndPictures) -> list[Flowable]:
    """Side by side: the ferrule overview with the verdicts ringed, and the fibre map."""
    half = (CONTENT_WIDTH - 6 * mm) / 2
    left: list[Flowable] = []
    if pics.overview:
        left.append(picture(pics.overview, half, aspect=pics.overview_aspect))
        cap = "Ferrule overview (key up), each fibre ringed in its verdict's colour"
        if not pics.overview_located:
            cap = (
                "Ferrule overview (key up); the fibres could not all be located in it, see the map"
            )
        left.append(para(esc(cap), "caption"))
    else:
        left.append(text("no overview image recorded", "tiny"))
    right: list[Flowable] = []
    if pics.fibre_map:
        right.append(picture(pics.fibre_map, half, aspect=pics.map_aspect))
        right.append(
            para(
                "Fibre map: the ferrule as seen end-on, key up; fibre numbers as the fixture counts them",
                "caption",
            )
        )
    return [styled([[left, right]], [half + 3 * mm, half + 3 * mm], SIDE_BY_SIDE)]


def single_fibre_view(e: EndSection, pics: EndPictures, tz: dt.tzinfo | None) -> Table:
    """A one-fibre end: the large overlay beside the end's details."""
    img_w = 52 * mm
    f = e.result.fibers[0] if e.result and e.result.fibers else None
    data = pics.large.get(f.index) if f else None
    pic: list[Flowable] = []
    if f:
        pic.append(picture(data, img_w) if data else text("image missing from the store", "tiny"))
        pic.append(para("Zones (yellow) and the defects found, in the verdict's colour", "caption"))
    info = end_info(e, tz, width=CONTENT_WIDTH - img_w - 6 * mm)
    return styled([[info, pic]], [CONTENT_WIDTH - img_w - 4 * mm, img_w + 4 * mm], SIDE_BY_SIDE)


def focus_images(e: EndSection, pics: EndPictures, fibres: list[FiberResult]) -> list[Flowable]:
    """Large views of the chosen fibres, with what each broke."""
    if not fibres:
        return []
    per_row = 3
    cell_w = CONTENT_WIDTH / per_row
    cells: list[Cell] = []
    for f in fibres:
        data = pics.large.get(f.index)
        pic = (
            picture(data, cell_w - 8 * mm) if data else text("image missing from the store", "tiny")
        )
        words = "; ".join(f.failures) if f.failures else (f.error or "")
        cap = para(f"<b>fibre {f.index}</b> {verdict_word(f.verdict)}<br/>{esc(words)}", "small")
        cells.append([pic, cap])
    style: list[StyleCommand] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]
    return [styled(in_rows(cells, per_row), [cell_w] * per_row, style)]


def across_inspections(e: EndSection, pics: EndPictures, tz: dt.tzinfo | None) -> list[Flowable]:
    """Each fibre that failed the final inspection, as the inspections before saw it."""
    if not e.earlier or not e.result:
        return []
    story: list[Flowable] = [
        para(
            "The failing fibres across the inspections (oldest first): a defect that stays in "
            "place through cleanings is damage; dirt moves or goes",
            "h3",
        )
    ]
    final = {f.index: f for f in e.result.fibers}
    per_row = 4
    cell_w = CONTENT_WIDTH / per_row
    for n in dict.fromkeys(a.fibre.index for a in e.earlier):
        cells: list[Cell] = []
        for a in [x for x in e.earlier if x.fibre.index == n]:
            data = pics.earlier.get((n, a.inspection_id))
            pic = picture(data, cell_w - 6 * mm) if data else text("image missing", "tiny")
            cap = (
                f"fibre {n}, inspection #{a.inspection_id} {verdict_word(a.fibre.verdict)}<br/>"
                f"{esc(short_utc(a.at_us))} UTC, after {a.after_cleanings} cleaning"
                f"{'s' if a.after_cleanings != 1 else ''}"
            )
            cells.append([pic, para(cap, "caption")])
        data = pics.large.get(n)
        f = final.get(n)
        if f is not None:
            pic = picture(data, cell_w - 6 * mm) if data else text("image missing", "tiny")
            cleaned = sum(
                1 for c in e.cleanings if e.inspected_at_us and c.at_us < e.inspected_at_us
            )
            cap = (
                f"fibre {n}, final inspection #{e.inspection_id} {verdict_word(f.verdict)}<br/>"
                f"{esc(short_utc(e.inspected_at_us))} UTC, after {cleaned} cleaning"
                f"{'s' if cleaned != 1 else ''}"
            )
            cells.append([pic, para(cap, "caption")])
        cells = cells[-per_row:]
        cells += [""] * (per_row - len(cells))
        t = Table([cells], colWidths=[cell_w] * per_row, hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        story.append(t)
    return [KeepTogether(story[:2]), *story[2:]]


def end_section(
    e: EndSection,
    pics: EndPictures,
    tz: dt.tzinfo | None,
    focus: list[FiberResult] | None = None,
    all_thumbnails: bool = True,
) -> list[Flowable]:
    multi = connector(e.connector).is_multi_fiber
    story: list[Flowable] = []
    if e.result is None:
        story.append(KeepTogether([end_heading(e), end_info(e, tz)]))
        story.append(Spacer(1, 2 * mm))
        story.append(para("This end was never inspected.", "alert"))
        return story
    if multi:
        story.append(KeepTogether([end_heading(e), end_info(e, tz)]))
        story.append(Spacer(1, 3 * mm))
        story.append(KeepTogether(overview_and_map(e, pics)))
    else:
        story.append(
            KeepTogether([end_heading(e), Spacer(1, 1 * mm), single_fibre_view(e, pics, tz)])
        )
    story.append(Spacer(1, 3 * mm))
    if e.result.error and e.verdict == "error":
        story.append(para(f"Not judged: {esc(e.result.error)}", "alert"))
    if multi and all_thumbnails:
        thumbs = thumbnails(e, pics)
        if thumbs is not None:
            story.append(
                KeepTogether(
                    [
                        para(
                            "Every fibre: graded zones in yellow, defects and scratches in the "
                            "colour of the fibre's verdict",
                            "h3",
                        ),
                        thumbs,
                    ]
                )
            )
            story.append(Spacer(1, 2 * mm))
    table = fibre_table(e)
    if table is not None:
        story.append(table)
    if focus:
        story.append(CondPageBreak(60 * mm))
        story.append(para("Fibres that did not pass", "h3"))
        story.extend(focus_images(e, pics, focus))
    if e.earlier:
        story.append(Spacer(1, 3 * mm))
        story.append(CondPageBreak(70 * mm))
        story.extend(across_inspections(e, pics, tz))
    return story


# -- history, escalations, deviations ---------------------------------------------------------


def ends_summary(a: AssemblyReport, tz: dt.tzinfo | None) -> Table:
    rows = [
        head_row(
            "End",
            "Connector",
            "Rule set",
            "Fibres passed",
            "Verdict",
            "Final inspection (UTC)",
            "Cleanings",
            "Released",
            centred=("Fibres passed", "Verdict", "Cleanings"),
        )
    ]
    extra = []
    for e in a.ends:
        n = len(e.result.fibers) if e.result else 0
        ok = sum(1 for f in e.result.fibers if f.verdict == "pass") if e.result else 0
        released = e.connection or "not released"
        if e.deviation:
            released += " (OVERRIDE)"
        rows.append(
            [
                text(e.label, "cell"),
                text(e.connector, "cell"),
                text(e.rules.name.split("/")[-1], "cell"),
                text(f"{ok} / {n}", "cellc"),
                para(verdict_word(e.verdict) if e.result else coloured("NONE", GREY), "cellc"),
                text(short_utc(e.inspected_at_us), "cell"),
                text(len(e.cleanings), "cellc"),
                para(esc(released) if not e.deviation else coloured(released, RED), "cell"),
            ]
        )
        if e.deviation or e.verdict != "pass":
            extra.append(("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), PALE_RED))
    widths = [13 * mm, 20 * mm, 20 * mm, 17 * mm, 19 * mm, 31 * mm, 17 * mm]
    widths.append(CONTENT_WIDTH - sum(widths))
    return grid(rows, widths, extra=extra)


def deviations_box(a: AssemblyReport, tz: dt.tzinfo | None) -> Table:
    if not a.deviations:
        return boxed(
            [
                para(
                    coloured("No deviations.", GREEN)
                    + " Every end was released by the rules, without a supervisor's override.",
                    "body",
                )
            ],
            GREEN,
            PALE_GREEN,
        )
    items = []
    for d in a.deviations:
        where = f"end {esc(d.end)}: " if d.end else ""
        if d.action == "connect":
            head = f"DEVIATION: {where}connected by supervisor override: {esc(d.reason)}"
        else:
            head = f"DEVIATION: {where}{esc(d.action)} by a supervisor: {esc(d.reason)}"
        items.append(para(head, "alert"))
        detail = f"Supervisor {esc(d.supervisor)}, {esc(both(d.at_us, tz))}."
        if d.overriding:
            detail += f" The rules would have refused: {esc(d.overriding)}"
        items.append(para(detail, "small"))
        items.append(Spacer(1, 2))
    return boxed(items, RED, PALE_RED)


def history(a: AssemblyReport, tz: dt.tzinfo | None) -> list[Flowable]:
    story: list[Flowable] = [para("Cleaning history", "h2")]
    cleanings = sorted((c for e in a.ends for c in e.cleanings), key=lambda c: c.at_us)
    if cleanings:
        rows = [
            head_row(
                "Time (UTC)",
                "End",
                "Method",
                "Tool",
                "Adapter cleaned",
                "Operator",
                "Station",
                centred=("Adapter cleaned",),
            )
        ]
        for c in cleanings:
            when = short_utc(c.at_us)
            rows.append(
                cells(when, c.end, c.method, c.tool, yes_no(c.adapter), c.operator, c.station)
            )
        widths = [31 * mm, 12 * mm, 27 * mm, 36 * mm, 22 * mm, 28 * mm]
        widths.append(CONTENT_WIDTH - sum(widths))
        story.append(grid(rows, widths))
        per_end = ", ".join(f"end {e.label}: {len(e.cleanings)}" for e in a.ends)
        story.append(Spacer(1, 1.5 * mm))
        story.append(para(f"Cleaning cycles per end: {esc(per_end)}.", "small"))
    else:
        first_pass = all(e.inspections and e.inspections[0].verdict == "pass" for e in a.ends)
        words = "No cleaning was recorded"
        words += ": every end passed its first inspection." if first_pass else "."
        story.append(para(words, "body"))
    story.append(para("Inspections", "h2"))
    inspections = sorted((i for e in a.ends for i in e.inspections), key=lambda i: i.at_us)
    if inspections:
        rows = [
            head_row(
                "Time (UTC)",
                "End",
                "#",
                "Verdict",
                "Fibres that did not pass",
                "Operator",
                centred=("#", "Verdict"),
            )
        ]
        for i in inspections:
            failed = ", ".join(str(n) for n in i.failed_fibres) if i.failed_fibres else "-"
            if i.failures:
                failed += (
                    ": " + "; ".join(i.failures[:2]) + ("; ..." if len(i.failures) > 2 else "")
                )
            verdict = para(verdict_word(i.verdict), "cellc")
            when = short_utc(i.at_us)
            rows.append(cells(when, i.end, text(i.id, "cellc"), verdict, failed, i.operator))
        widths = [31 * mm, 12 * mm, 11 * mm, 19 * mm, 0, 26 * mm]
        widths[4] = CONTENT_WIDTH - sum(widths)
        story.append(grid(rows, widths))
    escalations = sorted((x for e in a.ends for x in e.escalations), key=lambda x: x.at_us)
    if escalations:
        story.append(para("Escalations", "h2"))
        rows = [head_row("Time (UTC)", "End", "Cause", "Advice", "Blocking", centred=("Blocking",))]
        for x in escalations:
            rows.append(cells(short_utc(x.at_us), x.end, x.cause, x.advice, yes_no(x.blocking)))
        widths = [31 * mm, 12 * mm, 30 * mm, 0, 16 * mm]
        widths[3] = CONTENT_WIDTH - sum(widths)
        story.append(grid(rows, widths))
    return story


def assembly_pdf(
    story: list[Flowable],
    a: AssemblyReport,
    station: str,
    kind: str,
    verdict: str,
    number: str | None = None,
) -> bytes:
    """Lay out an assembly's document (a certificate, a rejection report). It names itself
    the same way on every page's foot, in its title and in its subject: its ``kind`` and
    ``number`` ("Acceptance certificate QAC-..."), the serial, and the ``verdict``."""
    name = f"{kind} {number}" if number else kind
    return build(
        story,
        standard_footer(f"{name} · serial {short(a.serial)} · {verdict}"),
        title=f"{name} - {a.serial}",
        author=f"qa-station {station}",
        subject=f"End-face inspection {kind.lower()} of {a.serial} ({a.product_id})",
        keywords=[a.serial, *([number] if number else []), a.record_hash],
    )


def record_box(a: AssemblyReport, lines: list[str]) -> Table:
    mono = _mono()
    body = [
        para("The record", "h3"),
        para(
            f"Record hash (chain hash of event #{a.last_event_id}, the last event of this assembly "
            f'when this document was made): <font name="{mono}">{esc(a.record_hash)}</font>',
            "small",
        ),
    ]
    body.extend(para(x, "small") for x in lines)
    t = Table([[body]], colWidths=[CONTENT_WIDTH])
    t.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, LINE),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fafafa")),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return t


__all__ = [
    "GREY",
    "RED",
    "EndPictures",
    "assembly_pdf",
    "deviations_box",
    "end_section",
    "ends_summary",
    "history",
    "prepare_pictures",
    "record_box",
]
