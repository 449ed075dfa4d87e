"""Every test runs with its own station home and without a display.

Store tests run on both backends through ``store_url``: SQLite in the test's
tmp_path, and PostgreSQL in a database of its own. The PostgreSQL server is
``QA_TEST_POSTGRES_URL`` when set (CI sets it; a failure to reach it fails the
tests), else a throwaway server started here when the binaries are installed
(tests/pg.py), else those tests are skipped with the reason.
``pytest -m "not postgres"`` leaves them out.

Passwords hashed in the test process use a sixteenth of the station's scrypt work
(``cheap_scrypt``): the suite hashes and checks some three thousand of them, at about
40 ms of CPU each with the full work (two minutes of the suite's time). The hash records its
own cost, so checking works the same; the tests of the shipped cost are marked
``shipped_scrypt`` and the real processes (the CLI run as a child) use the full cost.

The built-in reference set's frames are drawn once per test process
(``reference_frames_drawn_once``): a frame is a pure function of its recipe, checked
against the recipe's sha256 by ``test_qualification``, and every demo that qualifies its
fresh home would otherwise draw all sixty again (about 1.7 s). Their grading stays real.
"""

from __future__ import annotations

import os
import uuid

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One worker per core already: OpenCV's own threads would only fight the other
    # worker (a suite run spent ~50 s less CPU with one OpenCV thread per worker).
    import cv2

    cv2.setNumThreads(1)

ENV_POSTGRES_URL = "QA_TEST_POSTGRES_URL"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "postgres: needs a PostgreSQL server (QA_TEST_POSTGRES_URL, or the server binaries "
        "to start a throwaway one); deselect with -m 'not postgres'",
    )
    config.addinivalue_line(
        "markers",
        "shipped_scrypt: hash passwords with the station's own scrypt cost, not the tests' "
        "cheaper one",
    )
    config.addinivalue_line(
        "markers",
        "pg_owner: store_url on PostgreSQL is an empty database, as its owner (old schemas)",
    )


def pytest_collection_modifyitems(config, items):
    """Files marked ``slow`` first, then the rest by their number of tests.

    The parallel run hands out whole files (``--dist loadfile``, ``--no-loadscope-reorder``
    keeps this order): a file of tens of seconds handed out last would leave one worker
    busy alone at the end. A file keeps its tests in their written order.
    """
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::")[0], []).append(item)

    def slow(path: str) -> bool:
        return any(item.get_closest_marker("slow") for item in by_file[path])

    order = sorted(by_file, key=lambda path: (not slow(path), -len(by_file[path])))
    items[:] = [item for path in order for item in by_file[path]]


@pytest.fixture(autouse=True)
def station_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("station-home")
    monkeypatch.setenv("QA_STATION_HOME", str(home))
    return home


CHEAP_SCRYPT = {"n": 2**10, "r": 8, "p": 1}


@pytest.fixture(autouse=True)
def cheap_scrypt(request, monkeypatch):
    from qa_station import accounts

    if not request.node.get_closest_marker("shipped_scrypt"):
        monkeypatch.setattr(accounts, "SCRYPT", CHEAP_SCRYPT)
    accounts._dummy_hash.cache_clear()  # an unknown user costs what a known one does
    yield
    accounts._dummy_hash.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def reference_frames_drawn_once():
    import functools

    from qa_station.qualification import reference

    draw = reference.face_frame

    @functools.cache
    def face_frame(face):
        frame = draw(face)
        frame.setflags(write=False)  # shared: a grader that wrote into it would fail here
        return frame

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reference, "face_frame", face_frame)
        yield


@pytest.fixture(scope="session")
def postgres_url():
    """An admin URL of a PostgreSQL server the tests may create databases on."""
    from tests import pg

    given = os.environ.get(ENV_POSTGRES_URL)
    if given:
        problem = pg.unreachable(given)
        if problem:
            shown = pg.with_database(given, None, hide_password=True)
            pytest.fail(f"{ENV_POSTGRES_URL}={shown}: cannot connect: {problem}", pytrace=False)
        yield given
        return
    if pg.find_bin_dir() is None:
        pytest.skip(
            f"no PostgreSQL: set {ENV_POSTGRES_URL} or install the server binaries "
            "(apt-get install postgresql) to run the PostgreSQL tests"
        )
    with pg.throwaway_server() as server:
        yield server.url()


@pytest.fixture
def pg_server():
    """A PostgreSQL server of this test's own, to stop and start (an outage of the floor DB)."""
    from tests import pg

    if pg.find_bin_dir() is None:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql) to start one")
    with pg.throwaway_server() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A database for one test: a SQLite file, or a fresh PostgreSQL database as a floor runs
    it: made and migrated by the owner, handed to the test as the bench's role (which may
    insert audit rows, never update or delete them: tests/pg.py). A test marked ``pg_owner``
    (one that builds old schemas) gets it empty, as the owner."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    from tests import pg

    admin = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex}"
    if request.node.get_closest_marker("pg_owner"):
        url = pg.create_database(admin, name)
    else:
        url = pg.floor_database(admin, name, tmp_path / "owner-images")
    try:
        yield url
    finally:
        pg.drop_database(admin, name)
