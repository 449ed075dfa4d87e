"""Where the station keeps what it writes.

``QA_STATION_HOME`` moves everything (config, store, images, keys, logs) under
one folder: a test, a demo or a second bench on one PC gets its own world.
Without it, the platform's user folders are used (platformdirs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "qa-station"
ENV_HOME = "QA_STATION_HOME"


@dataclass(frozen=True)
class StationPaths:
    config_dir: Path
    data_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "station.toml"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "station.sqlite3"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def keys_dir(self) -> Path:
        return self.config_dir / "keys"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def certificates_dir(self) -> Path:
        """Where the bench writes each accepted assembly's certificate as it is accepted."""
        return self.data_dir / "certificates"

    @property
    def outbox_file(self) -> Path:
        """What a bench on a floor database did while it was down (kept locally)."""
        return self.data_dir / "outbox.sqlite3"


def station_paths() -> StationPaths:
    home = os.environ.get(ENV_HOME)
    if home:
        root = Path(home).expanduser().resolve()
        return StationPaths(config_dir=root / "config", data_dir=root / "data")
    return StationPaths(
        config_dir=Path(platformdirs.user_config_dir(APP, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP, appauthor=False)),
    )


def ensure_dir(path: Path, private: bool = False) -> Path:
    """Create a folder (and parents); ``private`` ones are readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True)
    if private:
        path.chmod(0o700)
    return path
