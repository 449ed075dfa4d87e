"""A database that cannot be reached: a plain ``StoreUnavailable`` naming where, never a
traceback; and a floor database that goes down and comes back (tests/pg.py stops and
starts a real server) with nothing lost or half-written."""

from __future__ import annotations

import socket

import pytest

from qa_station.config import StationConfig
from qa_station.paths import station_paths
from qa_station.store import Store, StoreUnavailable
from qa_station.store.kinds import Kind
from qa_station.store.store import open_store
from qa_station.store.verify import verify


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_plain(exc: StoreUnavailable, *names: str) -> None:
    message = str(exc)
    assert message.startswith("database ")
    assert "unreachable" in message
    for name in names:
        assert name in message, message
    assert "\n" not in message, message  # one line for the operator, no driver dump
    assert "Traceback" not in message and "sqlalche.me" not in message
    assert exc.__suppress_context__  # raised "from None": the driver's error stays out


def test_a_postgresql_server_that_is_down_is_named_not_dumped(tmp_path):
    port = closed_port()
    store = Store(f"postgresql+psycopg://qa@127.0.0.1:{port}/floor", tmp_path / "images")
    try:
        for action in (store.migrate, store.ping):
            with pytest.raises(StoreUnavailable) as err:
                action()
            assert_plain(err.value, "127.0.0.1", str(port), "/floor")
        with pytest.raises(StoreUnavailable) as err:
            store.history("T12B-000123")
        assert_plain(err.value, "127.0.0.1", str(port))
        with pytest.raises(StoreUnavailable) as err, store.write() as w:
            w.event(Kind.STATION_CONFIGURED, {"n": 1})
        assert_plain(err.value, "127.0.0.1", str(port))
    finally:
        store.close()


def test_a_password_in_the_url_is_not_shown(tmp_path):
    port = closed_port()
    store = Store(f"postgresql://qa:s3cret-pw@127.0.0.1:{port}/floor", tmp_path / "images")
    try:
        with pytest.raises(StoreUnavailable) as err:
            store.ping()
        assert_plain(err.value, "127.0.0.1", str(port))
        assert "s3cret-pw" not in str(err.value)
    finally:
        store.close()


def test_opening_the_station_store_on_a_server_that_is_down_fails_plainly():
    port = closed_port()
    with pytest.raises(StoreUnavailable) as err:
        open_store(StationConfig(), station_paths(), url=f"postgresql://qa@127.0.0.1:{port}/x")
    assert_plain(err.value, "127.0.0.1", str(port))


def test_a_sqlite_file_that_cannot_be_opened_is_named(tmp_path):
    missing = tmp_path / "no such folder" / "station.sqlite3"
    store = Store(f"sqlite:///{missing}", tmp_path / "images")
    try:
        with pytest.raises(StoreUnavailable) as err:
            store.migrate()
        assert_plain(err.value, str(missing))
    finally:
        store.close()


@pytest.fixture
def floor_store(pg_server, tmp_path):
    """A migrated store on a fresh database of the throwaway server, closed after the test."""
    store = Store(pg_server.create_database("floor"), tmp_path / "images", station_id="bench-1")
    try:
        store.migrate()
        yield store
    finally:
        store.close()


@pytest.mark.postgres
def test_a_floor_database_outage_loses_nothing_and_the_store_recovers(pg_server, floor_store):
    store = floor_store
    with store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 1})
        w.event(Kind.STATION_CONFIGURED, {"n": 2})
    store.ping()  # the pool now holds a connection the outage will cut

    pg_server.stop()
    with pytest.raises(StoreUnavailable) as err:
        store.ping()
    assert_plain(err.value, "127.0.0.1", str(pg_server.port))
    with pytest.raises(StoreUnavailable) as err, store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 3})
    assert_plain(err.value, "127.0.0.1", str(pg_server.port))
    with pytest.raises(StoreUnavailable):
        verify(store)

    pg_server.start()
    store.ping()
    with store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 4})
    report = verify(store)
    assert report.ok, report.problems
    assert report.events == 3  # 1, 2 and 4: the write during the outage left nothing


@pytest.mark.postgres
def test_a_server_stopped_inside_a_transaction_rolls_it_back(pg_server, floor_store):
    store = floor_store
    with store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 1})
    with pytest.raises(StoreUnavailable) as err, store.write() as w:
        w.event(Kind.STATION_CONFIGURED, {"n": 2})
        pg_server.stop()  # fast shutdown cuts this session before its commit
    assert_plain(err.value, "127.0.0.1", str(pg_server.port))
    pg_server.start()
    report = verify(store)
    assert report.ok, report.problems
    assert report.events == 1
