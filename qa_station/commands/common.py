"""What several commands share: opening the station's store and catalog with plain errors."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa_station.catalog import Catalog, CatalogError, load_catalog
from qa_station.certificates import CertificateError, NotAccepted
from qa_station.config import ConfigError, StationConfig, load_config
from qa_station.paths import station_paths
from qa_station.store import Store, StoreError
from qa_station.store.store import open_store
from qa_station.text import TextError, serial, shown

MESSAGE_MAX = 400  # an error is one line a person reads: stored or typed text is clipped


class CommandError(Exception):
    """Stop the command with this message and exit status 2."""


def station(db_url: str | None = None) -> tuple[StationConfig, Store, Catalog]:
    try:
        config = load_config()
        catalog = load_catalog(station_paths().products_file)
        store = open_store(config, url=db_url)
    except (ConfigError, CatalogError, StoreError) as exc:
        raise CommandError(str(exc)) from None
    return config, store, catalog


def db_option(
    parser: argparse.ArgumentParser,
    help: str | None = "store URL (default: the station's)",
    **options: Any,
) -> None:
    """``--db URL``: the store a command opens instead of the station's (see ``station``)."""
    parser.add_argument("--db", metavar="URL", help=help, **options)


def serial_arg(value: str) -> str:
    """A serial from the command line, checked before it is looked up or echoed."""
    try:
        return serial(value)
    except TextError as exc:
        raise CommandError(str(exc)) from None


def fail(command: str, message: str) -> int:
    """One line on stderr, control characters escaped, long text clipped; exit status 2."""
    print(f"qa-station {command}: error: {shown(message, MESSAGE_MAX)}", file=sys.stderr)
    return 2


Run = Callable[[argparse.Namespace], int]
"""A command's ``run``: its parsed arguments in, its exit status out."""


def fails_as(command: str, *errors: type[Exception]) -> Callable[[Run], Run]:
    """A command's foreseen errors reported as ``fail`` does (one line, exit status 2):
    a CommandError always, and the exceptions named, wherever in ``run`` they are raised."""

    caught: tuple[type[Exception], ...] = (CommandError, *errors)

    def decorate(run: Run) -> Run:
        @functools.wraps(run)
        def reported(args: argparse.Namespace) -> int:
            try:
                return run(args)
            except caught as exc:
                return fail(command, str(exc))

        return reported

    return decorate


WriteDocument = Callable[[Store, str, str | None, StationConfig], Path]
"""Writes one assembly's PDF (store, serial, output, config) and returns the file written."""


def write_assembly_document(command: str, args: argparse.Namespace, write: WriteDocument) -> int:
    """Run a command that writes one assembly's PDF from ``args.serial``, ``args.output``, ``args.db``.

    The certificate and the rejection report differ only in what they write, so they share
    the exit codes: 0 written (its path printed), 1 the assembly is not in the state the
    document needs (NotAccepted), 2 on any other problem.
    """
    try:
        wanted = serial_arg(args.serial)
        config, store, _ = station(args.db)
    except CommandError as exc:
        return fail(command, str(exc))
    try:
        path = write(store, wanted, args.output, config)
    except NotAccepted as exc:
        print(f"qa-station {command}: {shown(str(exc), MESSAGE_MAX)}", file=sys.stderr)
        return 1
    except (CertificateError, StoreError) as exc:
        return fail(command, str(exc))
    finally:
        store.close()
    print(path)
    return 0
