"""Results carry the zones they were graded with: a rule file edited later changes nothing drawn.

The window and History draw through ``reports.drawing`` from the recorded
result; the PDFs from the same routine through ``reports.overlay``. An old
record, stored before results carried their zones, is given its rule file's
zones once, on reading (``grading.grade.with_zones``), and only while the file
is the one it was graded with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
from sqlalchemy import select

from grading.geometry import connector
from grading.grade import with_zones, zone_shapes
from grading.results import EndFaceResult
from grading.rules import load_rules
from qa_station.catalog import load_catalog
from qa_station.certificates.model import end_section
from qa_station.record import load_record
from qa_station.store.models import Inspection
from reports import overlay
from reports.drawing import end_drawing
from reports.model import load_image
from tests.qa_station.gate_kit import make_kit, scan

SERIAL = "HSE-0001"
S = 0.3125


def house_world(tmp_path: Path):
    """A product graded against a house copy of the single-mode PC table, one inspection
    recorded (with the zones the scan was graded with). Returns (kit, rule file)."""
    shipped = resources.files("grading").joinpath("rulesets/iec-61300-3-35-ed2/sm-pc.toml")
    rules = tmp_path / "house-sm-pc.toml"
    rules.write_text(
        shipped.read_text().replace('name = "iec-61300-3-35-ed2/sm-pc"', 'name = "house"')
    )
    products = tmp_path / "products.toml"
    products.write_text(
        "schema = 1\n[[product]]\n"
        'id = "house-jumper"\nname = "House jumper"\npart_numbers = ["HSE-*"]\n'
        "serial_pattern = '^HSE-[0-9]{4}$'\nserial_example = \"HSE-0001\"\n"
        'policy = "clean-if-fail"\n'
        f'ends = [{{ label = "A", connector = "lc-upc", fiber = "sm", rules = "{rules}" }}]\n'
    )
    catalog = load_catalog(products)
    kit = make_kit(tmp_path, catalog=catalog)
    kit.gate.register(SERIAL, kit.operator)
    sc = scan(SERIAL, "A", {1: [("defect", 40.0, 0.0, 6.0)]}, catalog=catalog)
    sc.zones = zone_shapes(load_rules(rules), connector("lc-upc"))
    for n, frame in sc.frames.items():
        img = np.full((480, 640), 60, np.uint8)
        yy, xx = np.ogrid[:480, :640]
        img[(xx - 320) ** 2 + (yy - 240) ** 2 < 200**2] = 190
        sc.frames[n] = replace(frame, image=img)
    kit.gate.record_inspection(SERIAL, "A", sc, kit.operator, "sim-400x")
    return kit, rules


def edit_zone_b(rules: Path) -> None:
    """The factory narrows zone B after the assembly was graded."""
    text = rules.read_text()
    assert "outer_diameter_um = 115" in text
    rules.write_text(text.replace("outer_diameter_um = 115", "outer_diameter_um = 100", 1))


def pdf_picture(kit, size: int = 200) -> np.ndarray:
    """The large fibre picture of the end, as the certificate draws it."""
    section = end_section(kit.store, load_record(kit.store, SERIAL).end("A"), None)
    (f,) = section.result.fibers
    img, shrunk = load_image(section.fibre_images[1])
    return overlay.fibre_overlay(img, f, section.um_per_px, section.zones, size, shrunk=shrunk)


def test_a_rule_file_edited_after_grading_does_not_change_the_zones_drawn(tmp_path):
    kit, rules = house_world(tmp_path)
    try:
        before = pdf_picture(kit)
        (insp,) = load_record(kit.store, SERIAL).end("A").inspections
        graded = insp.result.zones
        assert [z.outer_diameter_um for z in graded] == [25, 115, 135, 250]
        edit_zone_b(rules)
        assert load_rules(rules).zone("B").outer_diameter_um == 100
        (insp,) = load_record(kit.store, SERIAL).end("A").inspections
        assert insp.result.zones == graded  # from the stored JSON, not the file
        (fibre,) = end_drawing(insp.result)
        assert [round(r.rx_px * S, 3) for r in fibre.rings] == [12.5, 57.5, 67.5, 125.0]
        section = end_section(kit.store, load_record(kit.store, SERIAL).end("A"), None)
        assert section.zones == graded
        assert np.array_equal(pdf_picture(kit), before)  # the PDF's picture, pixel for pixel
    finally:
        kit.store.close()


def test_an_old_record_without_zones_takes_its_rule_file_s_zones_while_the_file_is_unchanged(
    tmp_path,
):
    kit, rules = house_world(tmp_path)
    try:
        (insp,) = load_record(kit.store, SERIAL).end("A").inspections
        old = insp.result.to_dict()
        del old["zones"]  # as stored before results carried their zones
        result = EndFaceResult.from_dict(old)
        assert result.zones == ()
        assert with_zones(result, str(rules)).zones == insp.result.zones
        assert with_zones(insp.result) is insp.result  # a result with zones is kept as it is
        edit_zone_b(rules)
        # The file is no longer the one graded with (its hash): no zones beat wrong zones.
        assert hashlib.sha256(rules.read_bytes()).hexdigest() != result.rules_sha256
        assert with_zones(result, str(rules)).zones == ()
        assert with_zones(result).zones == ()  # its name alone does not find a house table
    finally:
        kit.store.close()


def test_an_old_record_in_the_store_is_read_with_its_zones(tmp_path):
    """The gate kit's scans carry no zones, as old records did: the reader fills them in."""
    kit = make_kit(tmp_path)
    try:
        kit.gate.register("LCD-0004242", kit.operator)
        kit.gate.record_inspection(
            "LCD-0004242", "A1", scan("LCD-0004242", "A1"), kit.operator, "p"
        )
        with kit.store.read() as s:
            (stored,) = s.execute(select(Inspection.result)).scalars()
        assert "zones" not in json.loads(stored)
        (insp,) = load_record(kit.store, "LCD-0004242").end("A1").inspections
        assert [z.name for z in insp.result.zones] == ["A", "B", "C", "D"]
    finally:
        kit.store.close()
