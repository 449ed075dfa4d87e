"""The Settings page on a real station: what it saves, `load_config` reads back."""

from __future__ import annotations

import datetime as dt
import time
from importlib import resources

import cv2
import numpy as np
import pytest
from PySide6 import QtCore

from grading.geometry import connector
from hardware.optics.render import render
from hardware.optics.scene import View, scene_from_layout
from hardware.probes.base import Frame
from qa_station.config import load_config
from qa_station.controller import StationController
from qa_station.paths import station_paths
from qa_station.ui.settings_view import SettingsView
from qa_station.ui.workers import Runner

LEFT = QtCore.Qt.MouseButton.LeftButton


class Window:
    """The one thing the page asks of the main window: its newest live frame."""

    def __init__(self, frame: Frame | None = None) -> None:
        self.last_frame = frame


@pytest.fixture
def controller():
    c = StationController.open(realtime=False)
    c.create_first_admin("admin", "admin-password-1", "Admin")
    yield c
    c.close()


@pytest.fixture
def window() -> Window:
    return Window()


@pytest.fixture
def view(qtbot, controller, runner, window):
    v = SettingsView(controller, runner, window)
    qtbot.addWidget(v)
    v.resize(1400, 900)
    qtbot.waitUntil(lambda: not runner.busy, timeout=30000)
    return v


def settle(qtbot, runner: Runner) -> None:
    qtbot.waitUntil(lambda: not runner.busy, timeout=60000)


def choose(combo, data: str) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_saved_devices_are_what_load_config_reads(qtbot, view, runner):
    view.station_id.setText("bench-22")
    choose(view.probe_kind, "uvc")
    view.probe_arg.setText("2")
    view.probe_id.setText("uvc-bench22")
    choose(view.fixture_kind, "serial")
    view.fixture_arg.setText("/dev/ttyUSB7")
    view.baudrate.setValue(57600)
    view.timeout.setValue(0.5)
    view.motion_timeout.setValue(9.0)
    choose(view.scanner_kind, "serial")
    view.scanner_arg.setText("/dev/ttyACM1")
    view.store_url.setText("postgresql://qa@floor-db/qa")
    qtbot.mouseClick(view.save_btn, LEFT)
    settle(qtbot, runner)
    cfg = load_config()
    assert cfg.path == station_paths().config_file
    assert (cfg.station_id, cfg.probe, cfg.probe_id) == ("bench-22", "uvc:2", "uvc-bench22")
    assert (cfg.fixture, cfg.fixture_baudrate) == ("serial:/dev/ttyUSB7", 57600)
    assert (cfg.fixture_timeout_s, cfg.fixture_motion_timeout_s) == (0.5, 9.0)
    assert (cfg.scanner, cfg.store_url) == ("serial:/dev/ttyACM1", "postgresql://qa@floor-db/qa")
    assert cfg.calibrations == view.c.config.calibrations  # untouched by a device save
    note = view.devices_note.text()
    assert str(cfg.path) in note and "start qa-station again" in note
    assert view.c.bench.probe.info.probe_id == "sim-400x"  # nothing was swapped under the bench


def test_a_serial_fixture_without_a_port_is_refused_and_nothing_written(qtbot, view, runner):
    choose(view.probe_kind, "uvc")
    view.probe_arg.setText("0")
    choose(view.fixture_kind, "serial")
    view.fixture_arg.setText("   ")
    qtbot.mouseClick(view.save_btn, LEFT)
    assert not runner.busy  # refused before any work started
    assert view.errors["fixture"].isVisibleTo(view)
    assert "serial port" in view.errors["fixture"].text()
    assert "not saved" in view.devices_note.text()
    assert not station_paths().config_file.exists()
    view.fixture_arg.setText("/dev/ttyUSB0")
    qtbot.mouseClick(view.save_btn, LEFT)
    settle(qtbot, runner)
    assert not view.errors["fixture"].isVisibleTo(view)
    assert load_config().fixture == "serial:/dev/ttyUSB0"


@pytest.mark.parametrize(
    "setup,field,words",
    [
        (lambda v: v.station_id.setText(""), "station_id", "station id is needed"),
        (lambda v: (choose(v.probe_kind, "uvc"), v.probe_id.setText("")), "probe_id", "needed"),
        (lambda v: choose(v.fixture_kind, "serial"), "fixture", "serial port"),
        (lambda v: choose(v.scanner_kind, "serial"), "scanner", "serial port"),
        (lambda v: v.store_url.setText("mysql://x@y/z"), "store_url", "SQLite or PostgreSQL"),
        (lambda v: v.store_url.setText("not a url"), "store_url", "not a database URL"),
    ],
)
def test_invalid_fields_are_marked_inline(qtbot, view, runner, setup, field, words):
    setup(view)
    qtbot.mouseClick(view.save_btn, LEFT)
    assert view.errors[field].isVisibleTo(view) and words in view.errors[field].text()
    assert not station_paths().config_file.exists()


def test_a_replay_source_that_does_not_exist_is_refused_by_the_worker(
    qtbot, view, runner, tmp_path
):
    choose(view.probe_kind, "replay")
    view.probe_arg.setText(str(tmp_path / "no-such-folder"))
    view.probe_id.setText("replayed")
    qtbot.mouseClick(view.save_btn, LEFT)
    settle(qtbot, runner)
    assert view.errors["probe"].isVisibleTo(view)
    assert "no-such-folder" in view.errors["probe"].text()
    assert not station_paths().config_file.exists()


def test_the_wizard_calibrates_the_configured_probe_from_an_image_file(
    qtbot, view, runner, tmp_path
):
    path = tmp_path / "reference.png"
    image = render(scene_from_layout(connector("lc-upc")), View(um_per_px=0.3), seed=5).image
    assert cv2.imwrite(str(path), image)
    view.tabs.setCurrentIndex(1)
    view.image_path.setText(str(path))
    view.cal_connector.setCurrentText("lc-upc")
    assert not view.save_cal_btn.isEnabled()
    qtbot.mouseClick(view.measure_btn, LEFT)
    settle(qtbot, runner)
    assert view.measured is not None and view.measured.source == "cladding"
    assert "um/px from the 125 um cladding" in view.r_scale.text()
    assert view.min_focus.value() == 13.5  # the lc tip's threshold is kept
    assert view.save_cal_btn.isEnabled()
    qtbot.mouseClick(view.save_cal_btn, LEFT)
    settle(qtbot, runner)
    cfg = load_config()
    cal = cfg.calibration("sim-400x", "lc")
    assert cal.tip == "lc" and cal.um_per_px == pytest.approx(0.3, rel=0.01)
    assert cal.min_focus_score == 13.5 and cal.date == dt.date.today().isoformat()
    assert cfg.calibration("sim-400x", "mpo").um_per_px == 0.3125  # the other tips untouched
    assert "start qa-station again" in view.cal_note.text()
    tips = [view.cal_table.item(r, 1).text() for r in range(view.cal_table.rowCount())]
    dated = [view.cal_table.item(r, 4).text() for r in range(view.cal_table.rowCount())]
    assert dated[tips.index("lc")] == cal.date


def test_the_wizard_uses_the_live_frame_and_the_mt_pitch(qtbot, view, runner, window):
    # Centred between fibres 6 and 7 at 0.3 um/px: two whole fibres, one pitch apart.
    image = render(scene_from_layout(connector("mpo12")), View(um_per_px=0.3), seed=1).image
    view.cal_connector.setCurrentText("mpo12")
    view.use_live.setChecked(True)
    qtbot.mouseClick(view.measure_btn, LEFT)
    assert "no live frame" in view.cal_note.text() and not runner.busy
    window.last_frame = Frame(image, 0.3125, "sim-400x", time.time(), 7, end="A", fiber=None)
    view.min_focus.setValue(31.0)
    qtbot.mouseClick(view.measure_btn, LEFT)
    settle(qtbot, runner)
    assert view.measured.source == "pitch" and view.measured.fibres == 2
    change = view.r_change.text()  # 0.3 against the saved 0.3125: about -4 %, no warning
    assert change.startswith("saved 0.31250 um/px") and " -" in change and "off:" not in change
    assert view.min_focus.value() == 31.0  # measuring keeps what the user typed
    qtbot.mouseClick(view.save_cal_btn, LEFT)
    settle(qtbot, runner)
    cal = load_config().calibration("sim-400x", "mpo")
    assert cal.um_per_px == pytest.approx(0.3, rel=0.01) and cal.min_focus_score == 31.0


def test_an_unusable_reference_is_explained_and_cannot_be_saved(qtbot, view, runner, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((480, 640), 90, np.uint8))
    view.image_path.setText(str(blank))
    qtbot.mouseClick(view.measure_btn, LEFT)
    settle(qtbot, runner)
    assert "cannot calibrate" in view.cal_note.text() and "blank image" in view.cal_note.text()
    assert not view.save_cal_btn.isEnabled()
    assert not station_paths().config_file.exists()


def test_the_products_tree_lists_the_catalog_read_only(view):
    tree = view.products
    ids = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert ids == [
        "trunk-mpo12-sm-apc-b",
        "trunk-mpo24-mm",
        "fanout-mpo12-12lc-sm",
        "jumper-lc-duplex-sm-upc",
    ]
    trunk = tree.topLevelItem(0)
    assert [trunk.text(c) for c in (5, 6, 7)] == ["clean-if-fail", "300 s", "3"]
    end_a = trunk.child(0)
    assert [end_a.text(c) for c in range(5)] == [
        "end A",
        "mpo12",
        "sm",
        "female",
        "iec-61300-3-35-ed2/sm-apc",
    ]
    assert tree.topLevelItem(2).childCount() == 13
    assert tree.editTriggers() == tree.EditTrigger.NoEditTriggers
    assert "4 built-in products" in view.products_note.text()


def test_the_rule_text_is_the_selected_rule_file(qtbot, view, runner):
    tree = view.products
    tree.setCurrentItem(tree.topLevelItem(1).child(0))  # MPO-24 end A: multimode rules
    assert view.rule_set.currentText() == "iec-61300-3-35-ed2/mm-pc"
    settle(qtbot, runner)
    shipped = resources.files("grading").joinpath("rulesets/iec-61300-3-35-ed2/mm-pc.toml")
    assert view.rule_view.toPlainText() == shipped.read_text(encoding="utf-8")
    assert view.rule_view.isReadOnly()
    view.rule_set.setCurrentText("iec-61300-3-35-ed2/sm-pc")
    settle(qtbot, runner)
    assert 'name = "iec-61300-3-35-ed2/sm-pc"' in view.rule_view.toPlainText()


def test_the_policies_table_says_where_policies_live(view):
    table = view.policies
    assert table.rowCount() == 4
    rows = {table.item(r, 0).text(): table.item(r, 2).text() for r in range(4)}
    assert rows["trunk-mpo24-mm"] == "clean-if-fail"
    assert table.item(0, 6).text() == "built in"
    notes = " ".join(lbl.text() for lbl in view.findChildren(type(view.products_note)))
    assert str(station_paths().config_dir / "products.toml") in notes


def test_an_operator_s_save_is_refused_on_the_page_and_nothing_written(
    qtbot, view, runner, controller
):
    admin = controller.actor
    controller.accounts.add("olga", "operator", admin, None, "operator horse battery staple")
    controller.login("olga", "operator horse battery staple")
    view.hide()
    view.show()  # the page says who may save as it is shown
    assert "an admin saves devices" in view.devices_note.text()
    view.station_id.setText("bench-9")
    view.save_devices()
    qtbot.waitUntil(lambda: not runner.busy, timeout=30000)
    assert "not saved" in view.devices_note.text() and "only an admin" in view.devices_note.text()
    assert not station_paths().config_file.exists()
