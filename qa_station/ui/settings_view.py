"""The Settings page: devices, scale calibration, products and rule sets, gate policies.

Devices and calibrations are written to the station config (``save_config``:
whole file, atomically). The bench opens its devices at start and keeps them,
so a saved change takes effect at the next start; the page says so rather than
pretend to swap a probe under a running scan. Products, rule sets and gate
policies are shown read-only: they live in the product catalog and the rule
files, which are reviewed documents, not settings to click through.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from grading.geometry import CONNECTORS
from grading.rules import BUILTIN_FOLDER, BUILTIN_PACKAGE, builtin_names_cached
from hardware.probes.base import Frame
from qa_station.calibration import ScaleCalibration, calibrate_from_image
from qa_station.catalog import load_catalog
from qa_station.config import SIMULATED_PROBE_ID, Calibration, StationConfig, load_config, tip_for
from qa_station.controller import StationController
from qa_station.paths import station_paths
from qa_station.scanner_keys import PREFIX_FORMS, SUFFIXES
from qa_station.settings_form import (
    MAX_ID,
    DeviceForm,
    FieldError,
    check_devices,
    default_min_focus,
    effective_probe_id,
    rule_text,
    save_calibration,
    save_devices,
)
from qa_station.ui import theme
from qa_station.ui.qualification_panel import QualificationPanel
from qa_station.ui.widgets import button, hbox, note
from qa_station.ui.workers import Runner

INK_NOTE = "#34495e"
# The kinds of each device (a value of the station config, and its words), in the order listed.
PROBE_KINDS = (
    ("simulated", "simulated probe"),
    ("uvc", "UVC camera (uvc:INDEX or device path)"),
    ("replay", "replay images or a video (replay:PATH)"),
)
FIXTURE_KINDS = (
    ("simulated", "simulated stage"),
    ("emulator", "emulated serial stage (simulated, over a pty)"),
    ("serial", "serial stage (serial:PORT)"),
)
SCANNER_KINDS = (
    ("keyboard", "keyboard-wedge scanner (types like a keyboard)"),
    ("serial", "serial scanner (serial:PORT)"),
)
LARGE_CHANGE_PCT = 5.0  # a recalibration that moves this much deserves a second look
IMAGE_FILTER = "Images (*.png *.tif *.tiff *.jpg *.jpeg *.bmp);;All files (*)"
POLICY_WORDS = {
    "clean-if-fail": "clean only after a failed inspection (new cords, factory acceptance)",
    "always-clean": "clean and re-inspect even after a pass (reconnections, moves and changes)",
}


class LiveFrames(Protocol):
    """What the page needs of the main window: the newest live frame, if any."""

    last_frame: Frame | None


def _error_label() -> QtWidgets.QLabel:
    label = QtWidgets.QLabel("")
    label.setStyleSheet(f"color: {theme.REFUSAL};")
    label.setWordWrap(True)
    label.setVisible(False)
    return label


class SettingsView(QtWidgets.QWidget):
    scanner_keys_saved = QtCore.Signal(str, str)  # prefix, suffix: the wedge takes them at once

    def __init__(
        self,
        controller: StationController,
        runner: Runner,
        main_window: LiveFrames | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.c = controller
        self.runner = runner
        self.main_window = main_window
        self.config: StationConfig = controller.config  # the file as last read or written
        self.measured: ScaleCalibration | None = None
        self.builtin_products: set[str] | None = None
        self._measure_generation = 0
        tabs = QtWidgets.QTabWidget()
        tabs.addTab(self._devices_page(), "Devices")
        tabs.addTab(self._calibration_page(), "Scale calibration")
        tabs.addTab(self._products_page(), "Products && rule sets")
        tabs.addTab(self._policies_page(), "Gate policies")
        self.qualification = QualificationPanel(controller, runner)
        tabs.addTab(self.qualification, "Qualification")
        self.tabs = tabs
        tabs.currentChanged.connect(lambda _index: self._show_live_state())
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(tabs)
        self.show_devices(self.config)
        self._show_calibrations(self.config)
        self.runner.start(
            lambda report: {p.id for p in load_catalog().products},
            self._builtins_known,
            lambda exc: self._say(self.products_note, f"built-in catalog unreadable: {exc}"),
        )

    # -- devices ---------------------------------------------------------------------------
    def _devices_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        self.errors: dict[str, QtWidgets.QLabel] = {}

        def row(label: str, field: str, widget: QtWidgets.QWidget | QtWidgets.QLayout) -> None:
            form.addRow(label, widget)
            self.errors[field] = _error_label()
            form.addRow("", self.errors[field])

        running = self.c.bench
        intro = QtWidgets.QLabel(
            f"Running now: probe <b>{running.probe.info.probe_id}</b> "
            f"({running.probe_source or self.c.config.probe}), fixture "
            f"<b>{running.fixture_source or self.c.config.fixture}</b>, store "
            f"<b>{self.c.store.safe_url}</b>. The bench opens its devices at start: "
            "what you save here is used from the next start of qa-station."
        )
        intro.setWordWrap(True)
        form.addRow(intro)
        self.station_id = QtWidgets.QLineEdit()
        self.station_id.setMaxLength(MAX_ID)
        row("Station id", "station_id", self.station_id)

        def device(
            label: str, field: str, kinds: tuple[tuple[str, str], ...]
        ) -> tuple[QtWidgets.QComboBox, QtWidgets.QLineEdit]:
            """The kinds of a device to pick from, beside the line for its port or path."""
            kind = QtWidgets.QComboBox()
            for value, words in kinds:
                kind.addItem(words, value)
            arg = QtWidgets.QLineEdit()
            kind.currentIndexChanged.connect(self._kinds_changed)
            h = QtWidgets.QHBoxLayout()
            h.addWidget(kind)
            h.addWidget(arg, 1)
            row(label, field, h)
            return kind, arg

        self.probe_kind, self.probe_arg = device("Probe", "probe", PROBE_KINDS)
        self.probe_id = QtWidgets.QLineEdit()
        self.probe_id.setMaxLength(MAX_ID)
        row("Probe id", "probe_id", self.probe_id)

        self.fixture_kind, self.fixture_arg = device("Fixture", "fixture", FIXTURE_KINDS)
        self.baudrate = QtWidgets.QSpinBox()
        self.baudrate.setRange(300, 4_000_000)
        self.baudrate.setSingleStep(9600)
        self.timeout = QtWidgets.QDoubleSpinBox()
        self.motion_timeout = QtWidgets.QDoubleSpinBox()
        for spin in (self.timeout, self.motion_timeout):
            spin.setRange(0.05, 600.0)
            spin.setDecimals(2)
            spin.setSuffix(" s")
        serial_row = QtWidgets.QHBoxLayout()
        for label, w in (
            ("baud", self.baudrate),
            ("reply timeout", self.timeout),
            ("motion timeout", self.motion_timeout),
        ):
            serial_row.addWidget(QtWidgets.QLabel(label))
            serial_row.addWidget(w)
        serial_row.addStretch(1)
        row("Fixture line", "fixture_line", serial_row)

        self.scanner_kind, self.scanner_arg = device("Barcode scanner", "scanner", SCANNER_KINDS)
        self.scanner_prefix = QtWidgets.QLineEdit()
        self.scanner_prefix.setMaxLength(8)
        self.scanner_prefix.setPlaceholderText("none: a scan is told from typing by its speed")
        self.scanner_prefix.setToolTip(
            f"the key the wedge scanner is set to send before each code: {PREFIX_FORMS}. "
            "With one, a scan is recognised however fast or slowly it comes."
        )
        self.scanner_suffix = QtWidgets.QComboBox()
        self.scanner_suffix.addItems(list(SUFFIXES))
        keys = QtWidgets.QHBoxLayout()
        keys.addWidget(QtWidgets.QLabel("prefix"))
        keys.addWidget(self.scanner_prefix, 1)
        keys.addWidget(QtWidgets.QLabel("ends with"))
        keys.addWidget(self.scanner_suffix)
        row("Scanner keys", "scanner_keys", keys)

        self.store_url = QtWidgets.QLineEdit()
        self.store_url.setPlaceholderText(
            f"empty: SQLite in {station_paths().database_file}; "
            "or postgresql://user@host/db for a floor of benches"
        )
        row("Store URL", "store_url", self.store_url)

        self.save_btn = button("Save to the station config", self.save_devices)
        self.reload_btn = button("Reload from the file", self.reload_devices)
        form.addRow(hbox(self.save_btn, self.reload_btn))
        self.devices_note = note(selectable=True)
        form.addRow(self.devices_note)
        return page

    def _kinds_changed(self) -> None:
        field_hints = {
            ("probe", "uvc"): "camera index (0, 1 ...) or device path",
            ("probe", "replay"): "folder of images or a video file",
            ("fixture", "serial"): "serial port, e.g. /dev/ttyUSB0 or COM3",
            ("scanner", "serial"): "serial port, e.g. /dev/ttyACM0 or COM4",
        }
        for name, kind, arg in (
            ("probe", self.probe_kind, self.probe_arg),
            ("fixture", self.fixture_kind, self.fixture_arg),
            ("scanner", self.scanner_kind, self.scanner_arg),
        ):
            hint = field_hints.get((name, kind.currentData()))
            arg.setEnabled(hint is not None)
            arg.setPlaceholderText(hint or "")
        simulated = self.probe_kind.currentData() == "simulated"
        self.probe_id.setEnabled(not simulated)
        self.probe_id.setToolTip(
            f"the simulated probe is always {SIMULATED_PROBE_ID}" if simulated else ""
        )
        serial = self.fixture_kind.currentData() in ("serial", "emulator")
        for w in (self.baudrate, self.timeout, self.motion_timeout):
            w.setEnabled(serial)

    def show_devices(self, cfg: StationConfig) -> None:
        """Fill the form from a config."""
        self.station_id.setText(cfg.station_id)
        for combo, arg, source in (
            (self.probe_kind, self.probe_arg, cfg.probe),
            (self.fixture_kind, self.fixture_arg, cfg.fixture),
            (self.scanner_kind, self.scanner_arg, cfg.scanner),
        ):
            kind, _, rest = source.partition(":")
            combo.setCurrentIndex(max(0, combo.findData(kind)))
            arg.setText(rest)
        self.probe_id.setText(cfg.probe_id)
        self.baudrate.setValue(cfg.fixture_baudrate)
        self.timeout.setValue(cfg.fixture_timeout_s)
        self.motion_timeout.setValue(cfg.fixture_motion_timeout_s)
        self.store_url.setText(cfg.store_url)
        self.scanner_prefix.setText(cfg.scanner_prefix)
        self.scanner_suffix.setCurrentText(cfg.scanner_suffix)
        self._kinds_changed()
        self._show_errors({})

    def device_form(self) -> DeviceForm:
        return DeviceForm(
            station_id=self.station_id.text(),
            probe_kind=self.probe_kind.currentData(),
            probe_arg=self.probe_arg.text(),
            probe_id=self.probe_id.text(),
            fixture_kind=self.fixture_kind.currentData(),
            fixture_arg=self.fixture_arg.text(),
            baudrate=self.baudrate.value(),
            timeout_s=self.timeout.value(),
            motion_timeout_s=self.motion_timeout.value(),
            scanner_kind=self.scanner_kind.currentData(),
            scanner_arg=self.scanner_arg.text(),
            store_url=self.store_url.text(),
            scanner_prefix=self.scanner_prefix.text(),
            scanner_suffix=self.scanner_suffix.currentText(),
        )

    def _show_errors(self, errors: dict[str, str]) -> None:
        for field, label in self.errors.items():
            label.setText(errors.get(field, ""))
            label.setVisible(field in errors)

    def save_devices(self) -> None:
        form = self.device_form()
        errors = check_devices(form)
        self._show_errors(errors)
        if errors:
            self._say(self.devices_note, "not saved: fix the fields marked in red")
            return
        self.save_btn.setEnabled(False)
        self._say(self.devices_note, "saving...", theme.ADVICE)
        self.runner.start(
            lambda report: save_devices(self.c, form),
            self._devices_saved,
            self._save_failed,
            label="saving the station config",
        )

    def _devices_saved(self, out: tuple[Path, StationConfig]) -> None:
        path, cfg = out
        self.save_btn.setEnabled(True)
        self.config = cfg
        self.show_devices(cfg)
        self._show_calibrations(cfg)
        self._connector_changed()
        self.scanner_keys_saved.emit(cfg.scanner_prefix, cfg.scanner_suffix)
        self._say(
            self.devices_note,
            f"Saved to {path}. The bench keeps the devices it opened when qa-station started: "
            "quit and start qa-station again to use these settings (the scanner's prefix and "
            "suffix apply now).",
            theme.OK,
        )

    def _save_failed(self, exc: Exception) -> None:
        self.save_btn.setEnabled(True)
        if isinstance(exc, FieldError) and exc.field in self.errors:
            self._show_errors({exc.field: str(exc)})
        self._say(self.devices_note, f"not saved: {exc}")

    def reload_devices(self) -> None:
        self.runner.start(
            lambda report: load_config(),
            self._reloaded,
            self._reload_failed,
            label="reading the station config",
        )

    def _reloaded(self, cfg: StationConfig) -> None:
        self.config = cfg
        self.show_devices(cfg)
        self._show_calibrations(cfg)
        self._connector_changed()
        where = cfg.path or "no file yet: the defaults (simulated bench)"
        self._say(self.devices_note, f"read from {where}", theme.OK)

    def _reload_failed(self, exc: Exception) -> None:
        self._say(self.devices_note, f"could not read the station config: {exc}")

    # -- scale calibration -----------------------------------------------------------------
    def _calibration_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(page)
        steps = QtWidgets.QLabel(
            "1. Choose a reference image of a clean end face, or use the probe's live frame. "
            "2. Choose the connector it shows (that decides the probe tip). "
            "3. Measure: the scale comes from the 250 um fibre pitch when several MT fibres "
            "are in view, else from the 125 um cladding. 4. Save it for this probe and tip."
        )
        steps.setWordWrap(True)
        v.addWidget(steps)

        ref = QtWidgets.QGroupBox("1. Reference")
        g = QtWidgets.QGridLayout(ref)
        self.use_file = QtWidgets.QRadioButton("Image file")
        self.use_live = QtWidgets.QRadioButton("The current live frame")
        self.use_file.setChecked(True)
        self.image_path = QtWidgets.QLineEdit()
        self.image_path.setPlaceholderText("a PNG, TIFF, JPEG or BMP from this probe")
        browse = button("Choose...", self._browse)
        self.live_state = QtWidgets.QLabel("")
        g.addWidget(self.use_file, 0, 0)
        g.addWidget(self.image_path, 0, 1)
        g.addWidget(browse, 0, 2)
        g.addWidget(self.use_live, 1, 0)
        g.addWidget(self.live_state, 1, 1, 1, 2)
        g.setColumnStretch(1, 1)
        v.addWidget(ref)
        for w in (self.use_file, self.use_live):
            w.toggled.connect(self._invalidate)
        self.image_path.textChanged.connect(self._invalidate)

        what = QtWidgets.QGroupBox("2. Connector")
        h = QtWidgets.QHBoxLayout(what)
        self.cal_connector = QtWidgets.QComboBox()
        self.cal_connector.addItems(list(CONNECTORS))
        self.cal_connector.currentIndexChanged.connect(self._connector_changed)
        self.tip_label = QtWidgets.QLabel("")
        self.measure_btn = button("3. Measure", self.measure)
        h.addWidget(self.cal_connector)
        h.addWidget(self.tip_label, 1)
        h.addWidget(self.measure_btn)
        v.addWidget(what)

        res = QtWidgets.QGroupBox("Measured")
        f = QtWidgets.QFormLayout(res)
        self.r_fibres = QtWidgets.QLabel("-")
        self.r_cladding = QtWidgets.QLabel("-")
        self.r_pitch = QtWidgets.QLabel("-")
        self.r_scale = QtWidgets.QLabel("-")
        self.r_scale.setStyleSheet("font-weight: bold;")
        self.r_change = QtWidgets.QLabel("-")
        self.r_change.setWordWrap(True)
        self.r_focus = QtWidgets.QLabel("-")
        self.min_focus = QtWidgets.QDoubleSpinBox()
        self.min_focus.setRange(0.0, 1000.0)
        self.min_focus.setDecimals(1)
        self.min_focus.setMaximumWidth(120)
        self.min_focus.setToolTip(
            "frames below this sharpness are refocused once and otherwise not graded"
        )
        self.cal_probe = QtWidgets.QLabel("")
        f.addRow("Fibres measured", self.r_fibres)
        f.addRow("Cladding diameter", self.r_cladding)
        f.addRow("Fibre pitch", self.r_pitch)
        f.addRow("Scale", self.r_scale)
        f.addRow("Against the saved one", self.r_change)
        f.addRow("Reference sharpness", self.r_focus)
        f.addRow("Min focus score", self.min_focus)
        f.addRow("For", self.cal_probe)
        v.addWidget(res)

        self.save_cal_btn = button("4. Save calibration", self.save_calibration)
        self.save_cal_btn.setEnabled(False)
        v.addLayout(hbox(self.save_cal_btn))
        self.cal_note = note()
        v.addWidget(self.cal_note)

        saved = QtWidgets.QGroupBox("Calibrations in the station config")
        sv = QtWidgets.QVBoxLayout(saved)
        self.cal_table = QtWidgets.QTableWidget(0, 5)
        self.cal_table.setHorizontalHeaderLabels(
            ["Probe", "Tip", "um/px", "Min focus score", "Date"]
        )
        self.cal_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.cal_table.horizontalHeader().setStretchLastSection(True)
        self.cal_table.verticalHeader().setVisible(False)
        sv.addWidget(self.cal_table)
        v.addWidget(saved, 1)
        self._connector_changed()
        return page

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Reference image", self.image_path.text(), IMAGE_FILTER
        )
        if path:
            self.image_path.setText(path)
            self.use_file.setChecked(True)

    def _live_frame(self) -> Frame | None:
        return getattr(self.main_window, "last_frame", None)

    def calibration_probe(self) -> str:
        return effective_probe_id(self.config)

    def _connector_changed(self) -> None:
        """Another connector means another tip: its own saved focus threshold applies."""
        tip = tip_for(self.cal_connector.currentText())
        probe = self.calibration_probe()
        self.tip_label.setText(f"probe tip: <b>{tip}</b>")
        self.cal_probe.setText(f"probe {probe} with the {tip} tip (the configured probe)")
        self.min_focus.setValue(default_min_focus(self.config, probe, tip))
        self._invalidate()

    def _invalidate(self) -> None:
        """Anything that changes what would be measured drops the last measurement."""
        self._measure_generation += 1
        self.measured = None
        self.save_cal_btn.setEnabled(False)
        self._show_live_state()
        for w in (self.r_fibres, self.r_cladding, self.r_pitch, self.r_scale, self.r_change):
            w.setText("-")
        self.r_change.setStyleSheet("")
        self.r_focus.setText("-")

    def _show_live_state(self) -> None:
        frame = self._live_frame()
        if frame is None:
            self.live_state.setText("no live frame yet: open an assembly on the Bench page")
            return
        where = f"end {frame.end}" if frame.end else "the probe"
        what = f"fibre {frame.fiber}" if frame.fiber else "the whole ferrule (overview)"
        self.live_state.setText(
            f"the newest frame when you press Measure (the live view shows {where}, {what})"
        )

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        """The live view moves on while this page is hidden: say what it shows now."""
        super().showEvent(event)
        self._show_live_state()
        actor = self.c.actor
        if actor is not None and actor.role != "admin":
            self._say(
                self.devices_note,
                f"signed in as {actor.username} ({actor.role}): an admin saves devices and the "
                "store; a supervisor or admin saves a calibration",
                theme.ADVICE,
            )

    def measure(self) -> None:
        connector = self.cal_connector.currentText()
        if self.use_live.isChecked():
            frame = self._live_frame()
            if frame is None:
                self._say(
                    self.cal_note,
                    "there is no live frame: open an assembly on the Bench page, or use a file",
                )
                return
            source: str | np.ndarray = frame.image.copy()
            what = "the live frame"
        else:
            path = self.image_path.text().strip()
            if not path:
                self._say(self.cal_note, "choose a reference image file first")
                return
            source = path
            what = Path(path).name
        self._invalidate()
        generation = self._measure_generation
        self.measure_btn.setEnabled(False)
        self._say(self.cal_note, f"measuring {what}...", theme.ADVICE)
        self.runner.start(
            lambda report: calibrate_from_image(source, connector),
            lambda result: self._measured(generation, result),
            lambda exc: self._measure_failed(generation, exc),
            label="measuring the scale",
        )

    def _measured(self, generation: int, result: ScaleCalibration) -> None:
        self.measure_btn.setEnabled(True)
        if generation != self._measure_generation:
            return  # the reference or connector changed meanwhile
        self.measured = result
        diam = ", ".join(f"{d:.1f}" for d in result.cladding_px[:12])
        more = " ..." if len(result.cladding_px) > 12 else ""
        self.r_fibres.setText(str(result.fibres))
        self.r_cladding.setText(
            f"{result.cladding_median_px:.2f} px median (125 um)"
            + (f": {diam}{more}" if result.fibres > 1 else "")
        )
        self.r_pitch.setText(
            f"{result.pitch_px:.2f} px (250 um)"
            if result.pitch_px
            else "not used: one fibre in view, or not an MT ferrule"
        )
        source = "the 250 um pitch" if result.source == "pitch" else "the 125 um cladding"
        w, h = result.field_of_view_um
        across = f"{result.um_per_px:.5f} um/px"
        if result.um_per_px_y is not None:
            across += f" across, {result.um_per_px_y:.5f} down (pixels not square)"
        self.r_scale.setText(f"{across} from {source} (field of view {w:.0f} x {h:.0f} um)")
        saved = self.config.calibration(self.calibration_probe(), result.tip)
        if saved is not None and saved.tip == result.tip:
            change = 100.0 * (result.um_per_px / saved.um_per_px - 1.0)
            text = f"saved {saved.um_per_px:.5f} um/px ({saved.date or 'undated'}): {change:+.2f} %"
            if abs(change) > LARGE_CHANGE_PCT:
                text += (
                    f". More than {LARGE_CHANGE_PCT:g} % off: is the image from this probe at its "
                    "inspection magnification (not the whole-ferrule overview), with this tip?"
                )
            self.r_change.setText(text)
            self.r_change.setStyleSheet(
                f"color: {theme.ADVICE};" if abs(change) > LARGE_CHANGE_PCT else ""
            )
        else:
            self.r_change.setText("no calibration saved for this probe and tip yet")
        self.r_focus.setText(f"{result.focus_score:.1f}")
        self.save_cal_btn.setEnabled(True)
        self._say(self.cal_note, "measured: check the values, then save", theme.OK)

    def _measure_failed(self, generation: int, exc: Exception) -> None:
        self.measure_btn.setEnabled(True)
        if generation == self._measure_generation:
            self._say(self.cal_note, f"cannot calibrate from this image: {exc}")

    def save_calibration(self) -> None:
        result = self.measured
        if result is None:
            self._say(self.cal_note, "measure a reference image first")
            return
        cal = Calibration(
            probe=self.calibration_probe(),
            um_per_px=round(result.um_per_px, 6),
            min_focus_score=round(self.min_focus.value(), 1),
            tip=result.tip,
            date=dt.date.today().isoformat(),
            um_per_px_y=None if result.um_per_px_y is None else round(result.um_per_px_y, 6),
        )
        self.save_cal_btn.setEnabled(False)
        self.runner.start(
            lambda report: save_calibration(self.c, cal),
            lambda out: self._calibration_saved(cal, out),
            self._calibration_failed,
            label="saving the calibration",
        )

    def _calibration_saved(self, cal: Calibration, out: tuple[Path, StationConfig]) -> None:
        path, cfg = out
        self.config = cfg
        self._show_calibrations(cfg)
        self._say(
            self.cal_note,
            f"Saved to {path}: probe {cal.probe}, {cal.tip} tip, {cal.um_per_px:.5f} um/px, "
            f"min focus score {cal.min_focus_score:g}. The bench reads calibrations at start: "
            "quit and start qa-station again to grade with it.",
            theme.OK,
        )

    def _calibration_failed(self, exc: Exception) -> None:
        self.save_cal_btn.setEnabled(self.measured is not None)
        self._say(self.cal_note, f"not saved: {exc}")

    def _show_calibrations(self, cfg: StationConfig) -> None:
        self.cal_table.setRowCount(len(cfg.calibrations))
        for r, c in enumerate(cfg.calibrations):
            values = (c.probe, c.tip or "any", f"{c.um_per_px:.5f}", f"{c.min_focus_score:g}")
            for col, text in enumerate((*values, c.date or "built in")):
                self.cal_table.setItem(r, col, QtWidgets.QTableWidgetItem(text))
        self.cal_table.resizeColumnsToContents()

    # -- products and rule sets ------------------------------------------------------------
    def _products_page(self) -> QtWidgets.QWidget:
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        left = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(left)
        self.products_note = note()
        lv.addWidget(self.products_note)
        self.products = QtWidgets.QTreeWidget()
        self.products.setHeaderLabels(
            [
                "Product / end",
                "Connector",
                "Fibre",
                "Gender",
                "Rule set",
                "Policy",
                "Exposure limit",
                "Max cleanings",
                "Name",
            ]
        )
        self.products.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for p in self.c.catalog.products:
            top = QtWidgets.QTreeWidgetItem(
                [
                    p.id,
                    "",
                    "",
                    "",
                    "",
                    p.policy,
                    f"{p.exposure_limit_s:g} s",
                    str(p.max_clean_cycles),
                    p.name,
                ]
            )
            top.setData(0, QtCore.Qt.ItemDataRole.UserRole, p.id)
            top.setToolTip(0, f"part numbers {', '.join(p.part_numbers)}; e.g. {p.serial_example}")
            for e in p.ends:
                child = QtWidgets.QTreeWidgetItem(
                    [f"end {e.label}", e.connector, e.fiber, e.gender or "-", e.rules]
                )
                child.setData(4, QtCore.Qt.ItemDataRole.UserRole, e.rules)
                top.addChild(child)
            self.products.addTopLevelItem(top)
            top.setExpanded(True)
        for col in range(self.products.columnCount()):
            self.products.resizeColumnToContents(col)
        self.products.currentItemChanged.connect(self._product_item)
        lv.addWidget(self.products)
        split.addWidget(left)

        right = QtWidgets.QWidget()
        rv = QtWidgets.QVBoxLayout(right)
        h = QtWidgets.QHBoxLayout()
        h.addWidget(QtWidgets.QLabel("Rule set"))
        self.rule_set = QtWidgets.QComboBox()
        names = list(builtin_names_cached())
        for p in self.c.catalog.products:
            for e in p.ends:
                if e.rules not in names:
                    names.append(e.rules)
        self.rule_set.addItems(names)
        self.rule_set.currentTextChanged.connect(self.show_rules)
        h.addWidget(self.rule_set, 1)
        rv.addLayout(h)
        self.rule_source = QtWidgets.QLabel("")
        self.rule_source.setWordWrap(True)
        rv.addWidget(self.rule_source)
        self.rule_view = QtWidgets.QPlainTextEdit()
        self.rule_view.setReadOnly(True)
        self.rule_view.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        font = self.rule_view.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.rule_view.setFont(font)
        rv.addWidget(self.rule_view, 1)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        self._rules_generation = 0
        self.show_rules(self.rule_set.currentText())
        return split

    def _product_item(
        self,
        item: QtWidgets.QTreeWidgetItem | None,
        _previous: QtWidgets.QTreeWidgetItem | None = None,
    ) -> None:
        rules = item.data(4, QtCore.Qt.ItemDataRole.UserRole) if item is not None else None
        if rules:
            self.rule_set.setCurrentText(rules)

    def show_rules(self, name: str) -> None:
        if not name:
            return
        self._rules_generation += 1
        generation = self._rules_generation
        builtin = name in builtin_names_cached()
        self.rule_source.setText(
            f"built-in rule set, read from the installed package: "
            f"{BUILTIN_PACKAGE}/{BUILTIN_FOLDER}/{name}.toml"
            if builtin
            else f"rule file {name}"
        )
        self.rule_view.setPlainText("reading...")
        self.runner.start(
            lambda report: rule_text(name),
            lambda text: self._rules_read(generation, text),
            lambda exc: self._rules_read(generation, f"# cannot show this rule set: {exc}"),
        )

    def _rules_read(self, generation: int, text: str) -> None:
        if generation == self._rules_generation:
            self.rule_view.setPlainText(text)

    def _builtins_known(self, ids: set[str]) -> None:
        self.builtin_products = ids
        custom = [p.id for p in self.c.catalog.products if p.id not in ids]
        where = station_paths().products_file
        self._say(
            self.products_note,
            f"{len(ids)} built-in products"
            + (f" and {len(custom)} from {where}" if custom else f"; add your own in {where}")
            + ". Read-only: the catalog and rule files are documents to review and version.",
            INK_NOTE,
        )
        for r in range(self.policies.rowCount()):
            pid = self.policies.item(r, 0).text()
            origin = "built in" if pid in ids else str(where)
            self.policies.setItem(r, 6, QtWidgets.QTableWidgetItem(origin))
        self.policies.resizeColumnsToContents()

    # -- gate policies ---------------------------------------------------------------------
    def _policies_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(page)
        where = station_paths().products_file
        note = QtWidgets.QLabel(
            "Gate policies are part of each product in the product catalog, not station "
            "settings: built-in products ship with qa-station; a factory's own products and "
            f"their policies go in <b>{where}</b> (same shape as the built-in catalog: "
            "<code>policy</code>, <code>exposure_limit_s</code>, <code>max_clean_cycles</code>). "
            "The station reads the catalog at start.<br>"
            + "<br>".join(f"<b>{k}</b>: {w}" for k, w in POLICY_WORDS.items())
            + "<br><b>exposure limit</b>: how old the last passing inspection may be at connect"
            "<br><b>max cleanings</b>: failed clean-inspect cycles before the end is escalated"
        )
        note.setWordWrap(True)
        note.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(note)
        products = self.c.catalog.products
        self.policies = QtWidgets.QTableWidget(len(products), 7)
        self.policies.setHorizontalHeaderLabels(
            ["Product", "Name", "Policy", "Exposure limit", "Max cleanings", "Ends", "Defined in"]
        )
        self.policies.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.policies.verticalHeader().setVisible(False)
        for r, p in enumerate(products):
            minutes = f"{p.exposure_limit_s:g} s ({p.exposure_limit_s / 60:g} min)"
            for col, text in enumerate(
                (
                    p.id,
                    p.name,
                    p.policy,
                    minutes,
                    str(p.max_clean_cycles),
                    str(len(p.ends)),
                    "",
                )
            ):
                self.policies.setItem(r, col, QtWidgets.QTableWidgetItem(text))
        self.policies.resizeColumnsToContents()
        self.policies.horizontalHeader().setStretchLastSection(True)
        v.addWidget(self.policies, 1)
        return page

    # -- words -----------------------------------------------------------------------------
    @staticmethod
    def _say(label: QtWidgets.QLabel, text: str, colour: str = theme.REFUSAL) -> None:
        label.setText(text)
        label.setStyleSheet(f"color: {colour};")
