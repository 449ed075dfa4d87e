"""The bench page's widgets and where they sit (the window's layout, built once).

Left: the view buttons, the assembly banner, the picture, the selected fibre's
verdict and the results table. Right: the serial field, the product, the
next-step line and where keys go, the fibre map, the gate. The status bar
carries the progress of slow tasks and the station's state.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from qa_station import bench_view as bv
from qa_station.ui import theme
from qa_station.ui.activity import ActivityBar
from qa_station.ui.fibre_map import FibreMap
from qa_station.ui.gate_panel import GatePanel
from qa_station.ui.live_view import LiveView
from qa_station.ui.qualification_panel import StationState
from qa_station.ui.results_table import ResultsTable

PAGE_TITLES = {"history": "History && audit", "stats": "Statistics", "settings": "Settings"}


class BenchLayout:
    """Builds the window's widgets; a part of ``MainWindow``."""

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.tabs = QtWidgets.QTabWidget()
        self.setCentralWidget(self.tabs)
        bench = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        bench.setChildrenCollapsible(False)
        bench.addWidget(self._build_picture())
        bench.addWidget(self._build_controls())
        bench.setStretchFactor(0, 3)
        bench.setStretchFactor(1, 2)
        self.bench_page = bench
        self.tabs.addTab(bench, "Bench")
        # The other pages are built when first shown: the bench is up sooner.
        self._pages: dict[str, QtWidgets.QWidget] = {}
        for title in PAGE_TITLES.values():
            self.tabs.addTab(QtWidgets.QWidget(), title)
        self.tabs.currentChanged.connect(self._tab_shown)
        self._build_status_bar()
        signout = self.menuBar().addMenu("&Station")
        act = signout.addAction("Sign out")
        act.setShortcut(QtGui.QKeySequence("Ctrl+L"))
        act.triggered.connect(self.sign_out)
        self.diagnostics_act = signout.addAction("Save diagnostics...")
        self.diagnostics_act.setToolTip("zip the logs and config, without passwords, for support")
        self.diagnostics_act.triggered.connect(lambda: self.save_diagnostics())
        quit_act = signout.addAction("Quit")
        quit_act.setShortcut(QtGui.QKeySequence("Ctrl+Q"))
        quit_act.triggered.connect(self.close)

    def _build_picture(self) -> QtWidgets.QWidget:
        """Left: the view buttons, the assembly's banner, the picture, the table of results."""
        left = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        self.live_btn = QtWidgets.QPushButton("Live (L)")
        self.live_btn.clicked.connect(self.go_live)
        self.capture_btn = QtWidgets.QPushButton("Capture (Space)")
        self.capture_btn.setToolTip("grade the fibre in view now: a preview, nothing is recorded")
        self.capture_btn.clicked.connect(self.capture)
        self.focus_btn = QtWidgets.QPushButton("Autofocus (F)")
        self.focus_btn.clicked.connect(self.autofocus)
        self.overlay_box = QtWidgets.QCheckBox("Overlays (O)")
        self.overlay_box.setChecked(True)
        self.overlay_box.toggled.connect(lambda on: self.view.set_overlays(on))
        self.overview_btn = QtWidgets.QPushButton("Whole ferrule")
        self.overview_btn.clicked.connect(lambda: self.show_fibre(None))
        for w in (self.live_btn, self.capture_btn, self.focus_btn, self.overview_btn):
            w.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys stay with the bench
            bar.addWidget(w)
        self.overlay_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        bar.addWidget(self.overlay_box)
        bar.addStretch(1)
        lv.addLayout(bar)
        self.banner = QtWidgets.QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        lv.addWidget(self.banner)
        # Stays up for as long as the floor database is down (the banner above changes with
        # every action; this must not scroll away).
        self.floor_notice = QtWidgets.QLabel("")
        self.floor_notice.setObjectName("floorNotice")
        self.floor_notice.setWordWrap(True)
        self.floor_notice.setVisible(False)
        self.floor_notice.setStyleSheet(
            f"background:{theme.ADVICE}; color:white; padding:6px; border-radius:4px;"
        )
        lv.addWidget(self.floor_notice)
        self.view = LiveView()
        self.view.setMinimumSize(320, 240)
        self.view.set_caption("scan or type an assembly's serial to begin (Ctrl+F)")
        self.view_buttons = (self.live_btn, self.capture_btn, self.focus_btn, self.overview_btn)
        for b in self.view_buttons:
            b.setEnabled(False)  # they act on an assembly's end: none yet
        self.view.frame_drawn.connect(
            lambda: self.frames.taken() if hasattr(self, "frames") else None
        )
        lv.addWidget(self.view, 3)
        self.detail = QtWidgets.QLabel("")
        self.detail.setObjectName("fibreDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lv.addWidget(self.detail)
        self.table = ResultsTable()
        self.table.setMinimumHeight(120)
        self.table.fibre_clicked.connect(self.show_fibre)
        lv.addWidget(self.table, 2)
        return left

    def _build_controls(self) -> QtWidgets.QWidget:
        """Right: the serial, the next step, the fibre map and the gate."""
        right = QtWidgets.QWidget()
        rv = QtWidgets.QVBoxLayout(right)
        rv.setContentsMargins(4, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        self.serial = QtWidgets.QLineEdit()
        self.serial.setObjectName("serialField")
        self.serial.setPlaceholderText("scan or type the assembly's serial, Enter")
        self.serial.returnPressed.connect(self._serial_entered)
        self.open_btn = QtWidgets.QPushButton("Open")
        self.open_btn.clicked.connect(self._serial_entered)
        row.addWidget(self.serial, 1)
        row.addWidget(self.open_btn)
        rv.addLayout(row)
        self.product = QtWidgets.QLabel("no assembly on the bench")
        self.product.setWordWrap(True)
        self.product.setObjectName("product")
        rv.addWidget(self.product)
        # The one line that always says what to do next, and which key does it.
        self.next_line = QtWidgets.QLabel("")
        self.next_line.setObjectName("nextStep")
        self.next_line.setWordWrap(True)
        self.next_line.setStyleSheet(
            "background:#1f2d3a; color:white; padding:6px 8px; border-radius:4px;"
            "font-size:13pt; font-weight:bold;"
        )
        self.next_step = bv.NextStep("", "")
        rv.addWidget(self.next_line)
        self.keys_to = QtWidgets.QLabel("")
        self.keys_to.setObjectName("keysTo")
        rv.addWidget(self.keys_to)
        self.map = FibreMap()
        self.map.setMaximumHeight(230)
        self.map.fibre_clicked.connect(self.show_fibre)
        rv.addWidget(self.map, 1)
        self.gate = GatePanel()
        self.gate.end_changed.connect(self.select_end)
        self.gate.inspect_requested.connect(self.inspect)
        self.gate.clean_requested.connect(self.record_cleaning)
        self.gate.connect_requested.connect(self.connect_end)
        self.gate.supervisor_requested.connect(self.supervisor)
        self.gate.cancel_requested.connect(self.cancel_scan)
        self.gate.keys_back.connect(self.focus_bench)
        self.gate.choices_changed.connect(self._refresh_next)
        for b in (
            self.gate.inspect_btn,
            self.gate.clean_btn,
            self.gate.connect_btn,
            self.gate.supervisor_btn,
            self.gate.cancel_btn,
        ):
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # a click leaves the keys as they were
        rv.addWidget(self.gate)
        rv.addStretch(1)
        return right

    def _build_status_bar(self) -> None:
        self.activity = ActivityBar()
        self.activity.watch(self.runner)
        self.statusBar().addWidget(self.activity)
        self.s_operator = QtWidgets.QLabel()
        self.s_operator.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.s_probe = QtWidgets.QLabel()
        self.s_fixture = QtWidgets.QLabel()
        self.s_focus = QtWidgets.QLabel()
        self.s_fps = QtWidgets.QLabel()
        self.s_store = QtWidgets.QLabel()
        self.s_qualified = StationState(self.c, self)
        for w in (
            self.s_qualified,
            self.s_operator,
            self.s_probe,
            self.s_fixture,
            self.s_focus,
            self.s_fps,
            self.s_store,
        ):
            self.statusBar().addPermanentWidget(w)
