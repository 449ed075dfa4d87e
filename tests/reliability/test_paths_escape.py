"""Names from data never become paths outside their folder.

Every file name the station builds from a serial, a product id, a lot or an image name goes
through ``qa_station.paths.safe_name`` and lands through ``qa_station.paths.inside`` (the
content-addressed image folder accepts only sha256 names). Hostile strings: '../../etc/passwd',
absolute paths, backslashes, NUL, '.', '..', very long names, unicode, names with '/', links.
For each: the resulting path resolves inside its folder, or the input is refused clearly.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grading.rules import RuleFileError, builtin_names, load_rules
from qa_station.catalog import Catalog, CatalogError
from qa_station.certificates import CertificateError, issue, issue_rejection_report, output_path
from qa_station.lots import default_name, write_lot_report
from qa_station.paths import MAX_NAME, UnsafeName, inside, safe_name
from qa_station.store.images import ImageFolder, ImageStoreError
from tests.qa_station.gate_kit import catalog_with_odd_serials, make_kit, scan
from tests.reliability.fuzzkit import assert_clear, bounded

PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
HOSTILE = st.one_of(
    st.sampled_from(
        [
            "../../etc/passwd",
            "/etc/passwd",
            "..",
            ".",
            "",
            "/",
            "\\",
            "..\\..\\windows\\system32",
            "C:\\boot.ini",
            "a/../../b",
            "x\x00y",
            "~",
            "~/x",
            "-rf",
            " ",
            "CON",
            "a" * 300,
            "é" * 200,
            "\u202eevil",
            "ＡＢＣ／．．",  # full-width letters, slash and dots: NFKD makes them ASCII
            "．．／．．／etc",
            "%2e%2e%2f",
            "a\nb",
        ]
    ),
    st.text(max_size=300),
    st.lists(
        st.sampled_from(["..", ".", "/", "\\", "a", "é", "\x00", "．", "／"]), max_size=20
    ).map("".join),
)


def within(folder, path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


@bounded(300)
@given(HOSTILE)
def test_safe_name_is_one_plain_name(text):
    name = safe_name(text)
    assert PLAIN.fullmatch(name), name
    assert ".." not in name
    assert len(name) <= MAX_NAME + 9
    plain = PLAIN.fullmatch(text) and ".." not in text and text == text.strip("._-")
    if plain and len(text) <= MAX_NAME:
        assert name == text  # an ordinary serial keeps its own name


@bounded(150)
@given(HOSTILE, HOSTILE)
def test_different_texts_get_different_names(a, b):
    assume(a != b)
    assert safe_name(a) != safe_name(b)


@bounded(200)
@given(HOSTILE)
def test_inside_keeps_a_name_in_its_folder_or_refuses_it(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("out")
    try:
        target = inside(folder, name)
    except UnsafeName as exc:
        assert_clear(str(exc), "refusing")
        return
    assert target.parent == folder.resolve()
    assert within(folder, target)


def test_inside_refuses_a_link_that_points_out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "evil.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    (folder / "up").symlink_to(tmp_path)
    for name in ("evil.pdf", "up"):
        with pytest.raises(UnsafeName):
            inside(folder, name)


@bounded(200)
@given(HOSTILE)
def test_a_safe_name_always_lands_inside(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("out")
    target = inside(folder, f"{safe_name(text)}-QAC-AAAA-BBBB-CCCC-DDDD.pdf")
    assert target.parent == folder.resolve()


@bounded(150)
@given(HOSTILE, st.integers(0, 4_000_000_000_000_000) | st.none())
def test_lot_report_names_stay_in_the_output_folder(tmp_path_factory, product, since):
    folder = tmp_path_factory.mktemp("lots")
    name = default_name(since, None, product or None)
    target = output_path(folder, name)
    assert target.parent == folder.resolve() and target.name.endswith(".pdf")


@bounded(200)
@given(HOSTILE | st.text(alphabet="0123456789abcdef./", max_size=70))
def test_the_image_folder_only_takes_sha256_names(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("images")
    folder = ImageFolder(root)
    try:
        path = folder.path(name)
    except ImageStoreError as exc:
        assert_clear(str(exc), "not an image name")
        assert isinstance(folder.check(name), str)  # verify names it, and goes on
        with pytest.raises(ImageStoreError):
            folder.read_bytes(name)
        return
    assert re.fullmatch(r"[0-9a-f]{64}", name)
    assert within(root, path)


@bounded(100)
@given(HOSTILE)
def test_a_rules_name_is_a_builtin_exactly_or_refused(name):
    assume(name not in builtin_names())
    try:
        rs = load_rules(name)
    except RuleFileError as exc:
        assert_clear(str(exc))
        return
    # A path that exists and holds a rule file is read, as documented; none of these does.
    raise AssertionError(f"{name!r} loaded as {rs.name}")


# -- end to end: files the station writes for an odd serial or product ---------------------------

SERIAL_TAILS = st.one_of(
    st.sampled_from(["/../../escape", "/..", "..", "\\..\\..\\win", "/" + "x" * 110, "%00", "/."]),
    st.text(
        st.characters(exclude_categories=("Z", "C")),  # what a label may hold: printable
        min_size=1,
        max_size=40,
    ),
)


@pytest.fixture(scope="module")
def odd_catalog() -> Catalog:
    return catalog_with_odd_serials()


@pytest.fixture(scope="module")
def odd_kit(tmp_path_factory, odd_catalog):
    """One store for every example: each example's serial is new to it."""
    return make_kit(tmp_path_factory.mktemp("issue"), catalog=odd_catalog)


def fresh(kit, catalog: Catalog, serial: str) -> bool:
    """The label reads back as exactly this serial of the odd product, not yet registered."""
    try:
        found = catalog.identify(serial)
    except CatalogError:
        return False
    with kit.store.read() as session:
        return found.serial == serial and kit.store.assembly_id(session, serial) is None


@bounded(6)
@given(SERIAL_TAILS)
def test_certificates_and_rejection_reports_stay_in_their_folder(odd_kit, odd_catalog, tail):
    kit, serial, rejected = odd_kit, "ODD" + tail, "ODD" + tail + "-r"
    assume(fresh(kit, odd_catalog, serial) and fresh(kit, odd_catalog, rejected))
    root = kit.store.images.root.parent
    out = root / "out" / "certificates"
    before = set(out.iterdir()) if out.exists() else set()
    kit.gate.register(serial, kit.operator)
    kit.gate.record_inspection(
        serial, "A", scan(serial, "A", catalog=odd_catalog), kit.operator, "sim-400x"
    )
    kit.gate.connect(serial, "A", kit.operator)
    path = issue(kit.store, serial, out, keys_dir=root / "keys")
    assert path.parent == out.resolve() and PLAIN.fullmatch(path.name)

    kit.gate.register(rejected, kit.operator)
    kit.gate.reject(rejected, kit.supervisor, "dropped on the floor")
    report = issue_rejection_report(kit.store, rejected, out)
    assert report.parent == out.resolve() and PLAIN.fullmatch(report.name)
    assert set(out.iterdir()) - before == {path, report}
    assert not list(root.parent.glob("escape*")) and not (root / "out" / "escape").exists()
    assert sorted(p.name for p in root.iterdir()) == [
        "gate.db",
        "gate.db-shm",
        "gate.db-wal",
        "images",
        "keys",
        "out",
    ]


@bounded(5)
@given(HOSTILE)
def test_a_lot_report_for_any_product_name_stays_in_its_folder(tmp_path_factory, product):
    tmp = tmp_path_factory.mktemp("lot")
    kit = make_kit(tmp)
    out = tmp / "lots"
    try:
        path = write_lot_report(kit.store, out, product=product or None)
    except CertificateError as exc:
        assert_clear(str(exc))
        return
    assert path.parent == out.resolve() and PLAIN.fullmatch(path.name)
    assert [p.name for p in out.iterdir()] == [path.name]
