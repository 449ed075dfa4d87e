"""The station's log and the diagnostics zip for a support ticket.

One line per action, refusal and device error; a fault's whole traceback; a
zip with the logs and config and none of the station's secrets.
"""

from __future__ import annotations

import logging
import zipfile

import pytest

from qa_station import cli, logs
from qa_station.diagnostics import save_diagnostics, scrubbed
from qa_station.paths import station_paths
from qa_station.scan import ScanError
from tests.reliability.security_kit import TRUNK, controller

DB_PASSWORD = "s3cret-Floor-pw"
PASSWORD_KEY = "hunter2-in-config"


def log_text() -> str:
    for h in logging.getLogger().handlers:
        h.flush()
    return (station_paths().logs_dir / logs.LOG_FILE).read_text()


def test_actions_refusals_and_device_errors_are_one_line_each():
    assert logs.configure() == station_paths().logs_dir / logs.LOG_FILE
    c = controller()
    try:
        c.open_serial(TRUNK)
        with pytest.raises(Exception, match="connect"):
            c.connect("A")  # not inspected: refused
        c.bench.simulated.probe_plugged = False
        with pytest.raises(ScanError):
            c.inspect("A")
    finally:
        c.close()
    lines = log_text().splitlines()
    mine = [x.split(": ", 1)[1] for x in lines if " qa_station.controller: " in x]
    assert mine[0] == "sign-in: done (as olga)"  # a name typed is not logged: it may be a password
    assert mine[1] == f"open serial '{TRUNK}' by olga: done"
    assert mine[2].startswith(f"connect {TRUNK} end A by olga: refused: ")
    assert mine[3].startswith(f"inspect {TRUNK} end A by olga: device error: probe problem")
    assert len(mine) == 4  # one line each, and no password anywhere
    assert "password" not in log_text().lower()


def test_a_line_break_in_a_name_cannot_forge_a_log_line():
    logs.configure()
    logging.getLogger("qa_station.test").warning("open serial %r", "X\n2030-01-01 forged")
    logging.getLogger("qa_station.test").warning("said %s", "X\n2030-01-01 forged")
    assert not any(x.startswith("2030-01-01 forged") for x in log_text().splitlines())


def test_an_unforeseen_fault_of_a_command_leaves_its_traceback_in_the_log(capsys, monkeypatch):
    from qa_station.commands import history

    def broken(args):
        raise ZeroDivisionError("a mistake in the code")

    monkeypatch.setattr(history, "run", broken)
    assert cli.main(["history", "T12B-000001"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ZeroDivisionError" in err  # one line on the terminal
    text = log_text()
    assert "qa-station history: unforeseen fault" in text
    assert "Traceback (most recent call last)" in text and "in broken" in text


def secret_station() -> None:
    """A station config with a floor database's password, and a log that names its URL."""
    p = station_paths()
    p.config_dir.mkdir(parents=True, exist_ok=True)
    p.config_file.write_text(
        'station_id = "bench-7"\n'
        "[store]\n"
        f'url = "postgresql+psycopg://qa:{DB_PASSWORD}@floor-db:5432/qa"  # the floor database\n'
        f'smtp_password = "{PASSWORD_KEY}"\n'
    )
    p.keys_dir.mkdir(parents=True, exist_ok=True)
    (p.keys_dir / "accounts.key").write_bytes(b"K" * 32)
    logs.configure()
    logging.getLogger("qa_station.store").warning(
        "floor database postgresql://qa:%s@floor-db/qa?password=%s down", DB_PASSWORD, DB_PASSWORD
    )


def test_diagnostics_zip_the_logs_and_config_without_secrets(capsys, tmp_path):
    secret_station()
    out = tmp_path / "ticket.zip"
    assert cli.main(["diagnostics", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        everything = b"".join(z.read(n) for n in names).decode()
    assert {"about.txt", "logs/qa-station.log", "config/station.toml"} <= set(names)
    assert not any("key" in n for n in names)  # the keys folder never goes in
    assert "floor database postgresql://qa:***@floor-db/qa?password=*** down" in everything
    assert "postgresql+psycopg://qa:***@floor-db:5432/qa" in everything
    assert 'smtp_password = "***"' in everything
    assert "# the floor database" in everything  # comments say what a key was
    assert DB_PASSWORD not in everything and PASSWORD_KEY not in everything


def test_a_folder_given_gets_a_named_zip_and_a_default_lands_in_the_data_folder(tmp_path):
    secret_station()
    in_folder = save_diagnostics(tmp_path)
    assert in_folder.parent == tmp_path and in_folder.name.startswith("qa-station-diagnostics-")
    default = save_diagnostics()
    assert default.parent == station_paths().data_dir.resolve() / "diagnostics"


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ('password = "x y"', 'password = "***"'),
        ("db_passwd=abc # old", 'db_passwd="***" # old'),
        ("url = 'mysql://u:p%40ss@h/db'", "url = 'mysql://u:***@h/db'"),
        ("Token = 123", 'Token = "***"'),
        ('probe = "uvc:0"', 'probe = "uvc:0"'),
    ],
)
def test_secrets_are_scrubbed_whatever_their_shape(line, hidden):
    assert scrubbed(line) == hidden
