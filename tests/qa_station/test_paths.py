from __future__ import annotations

from pathlib import Path

from qa_station.paths import ensure_dir, station_paths


def test_station_home_moves_everything_under_one_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_STATION_HOME", str(tmp_path))
    p = station_paths()
    for where in (p.config_file, p.database_file, p.images_dir, p.keys_dir, p.logs_dir):
        assert Path(where).is_relative_to(tmp_path)


def test_without_a_home_the_user_folders_are_used(monkeypatch):
    monkeypatch.delenv("QA_STATION_HOME")
    p = station_paths()
    assert "qa-station" in str(p.config_dir) and "qa-station" in str(p.data_dir)


def test_private_folders_are_owner_only(tmp_path):
    keys = ensure_dir(tmp_path / "keys", private=True)
    assert keys.stat().st_mode & 0o077 == 0
