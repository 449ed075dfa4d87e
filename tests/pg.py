"""A throwaway PostgreSQL server for the tests (and for simulating a floor-database outage).

    server = PgServer.create()      # initdb into a new temp folder, pick a free port
    server.start()                  # listen on 127.0.0.1 only, trust auth, user "qa"
    url = server.create_database("t_demo")  # postgresql+psycopg://qa@127.0.0.1:PORT/t_demo
    server.stop()                   # the outage: the data stays
    server.start()                  # back, same port, same data
    server.destroy()                # stop and remove the folder

The server binaries are looked up on PATH, then in ``/usr/lib/postgresql/<version>/bin``
(where Debian's ``apt-get install postgresql`` puts them; the newest version wins).
``QA_TEST_PG_BIN`` names the folder explicitly. PostgreSQL refuses to run as root: when
the tests run as root, the server runs as the ``postgres`` system user (``nobody``
when there is none), which then owns the temp folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

SERVER_USER = "qa"
ADMIN_DATABASE = "postgres"
START_TIMEOUT_S = 60
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PgError(RuntimeError):
    """The throwaway server could not be set up, started or stopped (the message says why)."""


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    explicit = os.environ.get("QA_TEST_PG_BIN")
    if explicit:
        folder = Path(explicit)
        if not (folder / "initdb").is_file() or not (folder / "pg_ctl").is_file():
            raise PgError(f"QA_TEST_PG_BIN={explicit}: no initdb and pg_ctl in that folder")
        return folder
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            try:
                versions.append((float(folder.parent.name), folder))
            except ValueError:
                continue
    return max(versions)[1] if versions else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (now: take it soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Who runs the server: None for the current user, unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PgError(
        "running as root, and there is no 'postgres' or 'nobody' user to run PostgreSQL as "
        "(PostgreSQL refuses to run as root): create one, e.g. useradd --system postgres"
    )


class PgServer:
    """One PostgreSQL cluster in a temp folder, on 127.0.0.1:<port>, trust auth for ``qa``."""

    def __init__(self, bin_dir: Path, root: Path, port: int, user: pwd.struct_passwd | None):
        self.bin_dir = bin_dir
        self.root = root
        self.port = port
        self.user = user
        self.data_dir = root / "data"
        self.socket_dir = root / "sock"
        self.log_file = root / "server.log"
        self._started_once = False

    # -- life cycle ---------------------------------------------------------------------------
    @classmethod
    def create(cls, bin_dir: Path | None = None) -> PgServer:
        """initdb a new cluster in a new temp folder (not started yet)."""
        found = bin_dir or find_bin_dir()
        if found is None:
            raise PgError(
                "PostgreSQL server binaries not found (initdb, pg_ctl): install postgresql "
                "or set QA_TEST_PG_BIN to their folder"
            )
        user = _unprivileged_user()
        # A server running as another user must be able to reach its folder: /tmp always is.
        parent = "/tmp" if user is not None and Path("/tmp").is_dir() else None
        root = Path(tempfile.mkdtemp(prefix="qa-pg-", dir=parent))
        server = cls(found, root, free_port(), user)
        try:
            server.socket_dir.mkdir()
            if user is not None:
                for p in (root, server.socket_dir):
                    os.chown(p, user.pw_uid, user.pw_gid)
            server._run(
                "initdb",
                "-D",
                str(server.data_dir),
                "--auth=trust",
                "-U",
                SERVER_USER,
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    @property
    def running(self) -> bool:
        """Whether the server runs (``pg_ctl status``: a stale pid file does not count)."""
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False) == 0

    def start(self) -> None:
        """Start (or restart after ``stop``) and wait until it accepts connections.

        The first start takes another free port if the chosen one was taken in the
        meantime; a restart keeps the port, because URLs to it are out there.
        """
        if self.running:
            return
        for attempt in range(3):
            try:
                self._start()
                break
            except PgError as exc:
                if self._started_once or attempt == 2 or "already in use" not in str(exc):
                    raise
                self.port = free_port()
        self._started_once = True
        self._wait_ready()

    def _start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k '{self.socket_dir}'",
                "-c listen_addresses=127.0.0.1",
                # Throwaway data: durability is not what the tests measure.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
            )
        except PgError as exc:
            raise PgError(f"{exc}\nserver log:\n{self.log_tail()}") from None

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are cut); the data stays for ``start``."""
        if not self.running:
            return
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and remove its folder. Safe to call twice."""
        try:
            if self.root.exists():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()

    # -- databases ----------------------------------------------------------------------------
    def url(self, database: str = ADMIN_DATABASE) -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        return create_database(self.url(), name)

    # -- helpers ------------------------------------------------------------------------------
    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        cmd = [str(self.bin_dir / program), *args]
        kwargs = {}
        if self.user is not None:
            kwargs = {
                "user": self.user.pw_uid,
                "group": self.user.pw_gid,
                "extra_groups": [],
                "env": {**os.environ, "HOME": str(self.root), "USER": self.user.pw_name},
            }
        proc = subprocess.run(
            cmd,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 30,
            check=False,
            **kwargs,
        )
        if check and proc.returncode != 0:
            said = (proc.stderr or proc.stdout).strip()
            raise PgError(f"{program} {' '.join(args)} failed (exit {proc.returncode}): {said}")
        return proc.returncode

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise PgError(
                        f"PostgreSQL on 127.0.0.1:{self.port} does not accept connections: {exc}"
                    ) from None
                time.sleep(0.1)


def normalise(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (the driver the station uses), not psycopg2."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _admin_engine(admin_url: str):
    return create_engine(normalise(admin_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextlib.contextmanager
def _admin(admin_url: str) -> Iterator[Connection]:
    """An autocommit session on ``admin_url``, its engine disposed on the way out (no pool:
    a database is dropped only when no session is left in it)."""
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _checked(what: str, name: str) -> None:
    """Refuse (PgError) a database or role name that is not safe to quote into SQL."""
    if not _NAME.match(name):
        raise PgError(f"{what} name {name!r}: lower-case letters, digits and '_' only")


def with_database(url: str, name: str | None, hide_password: bool = False) -> str:
    """The same server URL, naming another database (None: keep the one it names)."""
    parsed = make_url(normalise(url))
    if name is not None:
        parsed = parsed.set(database=name)
    return parsed.render_as_string(hide_password=hide_password)


def unreachable(url: str) -> str | None:
    """None when a session can be opened on ``url``, else why not (one line)."""
    try:
        with _admin(url) as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip()
        return reason.splitlines()[0] if reason else type(exc).__name__
    return None


def create_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE ``name`` through ``admin_url``; returns the new database's URL."""
    _checked("database", name)
    with _admin(admin_url) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """DROP DATABASE ``name``, closing whatever sessions are still in it."""
    _checked("database", name)
    with _admin(admin_url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def throwaway_server():
    """A started server, destroyed (stopped, folder removed) on the way out."""
    server = PgServer.create()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


# -- the floor's roles: an owner that migrates, a bench that may only insert audit rows ------
BENCH_ROLE_ENV = "QA_TEST_POSTGRES_BENCH_ROLE"
DEFAULT_BENCH_ROLE = "qa_bench"
_OWNERS: dict[str, str] = {}  # a bench URL handed to a test -> the owner's URL of that database


def bench_role() -> str:
    return os.environ.get(BENCH_ROLE_ENV) or DEFAULT_BENCH_ROLE


def ensure_role(admin_url: str, role: str) -> None:
    """A login role (no password: the throwaway server trusts local connections)."""
    _checked("role", role)
    with _admin(admin_url) as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))


def floor_database(admin_url: str, name: str, images_dir: Path) -> str:
    """A new database as a floor runs it: the owner (``admin_url``'s user) creates it and
    brings its schema up to date, the bench role gets its grants; returns the bench's URL."""
    from qa_station.store.floor import bench_grants
    from qa_station.store.store import Store

    owner = create_database(admin_url, name)
    role = bench_role()
    ensure_role(admin_url, role)
    store = Store(owner, images_dir, station_id="owner")
    try:
        store.upgrade()
        with store.engine.begin() as conn:
            for statement in bench_grants(role):
                conn.execute(text(statement))
    finally:
        store.engine.dispose()
    bench = make_url(owner).set(username=role, password=None).render_as_string(False)
    _OWNERS[bench] = owner
    return bench


def owner_of(url: str) -> str:
    """The owner's URL of a database a test was handed (itself when it is the owner's)."""
    return _OWNERS.get(url, url)


def tamper_engine(url: str):
    """An engine for a test that plays the forger with the owner's (superuser's) rights:
    the insert-only triggers switched off for its sessions, as such a forger could."""
    engine = create_engine(normalise(owner_of(url)), poolclass=NullPool)

    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_triggers(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("SET session_replication_role = replica")
        cur.close()
        dbapi_conn.commit()

    return engine


def tamper_sql(store, statement: str, **params) -> list:
    """Run raw SQL behind the store's back (the tampering), committed: on PostgreSQL with the
    owner's rights and the insert-only triggers off (the bench's own role cannot)."""
    engine = tamper_engine(store.url) if store.dialect == "postgresql" else store.engine
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        if engine is not store.engine:
            engine.dispose()
