"""What several commands share: opening the station's store and catalog with plain errors."""

from __future__ import annotations

import sys

from qa_station.catalog import Catalog, CatalogError, load_catalog
from qa_station.config import ConfigError, StationConfig, load_config
from qa_station.paths import station_paths
from qa_station.store import Store, StoreError
from qa_station.store.store import open_store


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


def fail(command: str, message: str) -> int:
    print(f"qa-station {command}: error: {message}", file=sys.stderr)
    return 2
