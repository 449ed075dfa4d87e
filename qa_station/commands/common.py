"""What several commands share: opening the station's store and catalog with plain errors."""

from __future__ import annotations

import sys

from qa_station.catalog import Catalog, CatalogError, load_catalog
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
        catalog = load_catalog(station_paths().config_dir / "products.toml")
        store = open_store(config, url=db_url)
    except (ConfigError, CatalogError, StoreError) as exc:
        raise CommandError(str(exc)) from None
    return config, store, catalog


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
