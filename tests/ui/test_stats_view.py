"""The Statistics page on a real station: what it draws is what the store says."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui

from qa_station import stats
from qa_station.controller import StationController
from qa_station.demo import run_demo
from qa_station.ui.stats_view import NO_INSPECTIONS, StatsView, count_ticks
from qa_station.ui.workers import Runner
from tests.qa_station.gate_kit import dirty, scan
from tests.qualify_kit import qualify_store

JUMPER = "jumper-lc-duplex-sm-upc"


@pytest.fixture
def controller():
    c = StationController.open(realtime=False)
    yield c
    c.close()


def sign_in(controller: StationController) -> None:
    if controller.needs_first_admin():
        admin = controller.create_first_admin("admin", "admin-password-1", "Admin")
        controller.accounts.add("sam", "supervisor", admin, "Sam", "supervisor-password-1")
    else:
        controller.login("admin", "admin-password-1")


def demo(controller: StationController, n: int, scenario: str) -> None:
    """The demo's production run on this station's record, under its own people."""
    sign_in(controller)
    people = (controller.actor, controller.accounts.sign_in("sam", "supervisor-password-1"))
    run_demo(controller.store, controller.catalog, controller.config, n, JUMPER, scenario,
             people=people)  # fmt: skip


def drawn_ticks(view: StatsView) -> list[str]:
    """The tick labels the heat map's colour bar draws (its axis laid out on an image)."""
    axis = view.colorbar.getAxis("right")
    image = QtGui.QImage(200, 600, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return sorted((t for _, _, t in texts), key=int)


def refreshed(qtbot, view: StatsView, runner: Runner) -> StatsView:
    view.refresh()
    qtbot.waitUntil(lambda: not runner.busy, timeout=60000)
    return view


def make_view(qtbot, controller, runner) -> StatsView:
    view = StatsView(controller, runner)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    return view


def test_refresh_after_a_demo_draws_the_numbers_of_the_store(qtbot, controller, runner):
    demo(controller, 2, "damaged")
    demo(controller, 1, "oily")
    view = make_view(qtbot, controller, runner)
    view.product.setCurrentIndex(view.product.findData(JUMPER))
    refreshed(qtbot, view, runner)
    q = view.query()
    store = controller.store
    since, until = q.since_us, q.until_us

    fpy = stats.first_pass_yield(store, since, until, "day", JUMPER, q.utc_offset_s)
    # A damaged jumper is rejected at its first escalation: its other ends are never inspected.
    assert 4 <= fpy.ends <= 12
    x, y = view.fpy_curve.getData()
    assert list(y) == pytest.approx([100.0 * b.share for b in fpy.buckets])
    assert list(x) == pytest.approx([b.start_us / 1e6 + 43200 for b in fpy.buckets])
    assert not view.fpy_message.isVisible()

    assert view.ferrule.currentText() == "lc-upc"
    dmap = stats.defects_by_position(store, "lc-upc", since, until, JUMPER)
    spots = view.fibre_spots.points()
    assert [s.data().failed for s in spots] == [p.failed for p in dmap.positions]
    assert dmap.failed > 0 and view.colorbar.levels() == (0, dmap.max_failed)
    assert drawn_ticks(view) == [str(t) for t in count_ticks(dmap.max_failed)]  # whole counts

    hist = stats.cleaning_cycles(store, since, until, JUMPER)
    assert hist.assemblies == 3
    assert list(view.clean_accepted.opts["height"]) == list(hist.accepted)
    assert list(view.clean_rejected.opts["height"]) == list(hist.rejected)
    assert list(view.clean_rejected.opts["y0"]) == list(hist.accepted)  # stacked
    assert list(view.clean_accepted.opts["x"]) == list(hist.cycles)

    esc = stats.escalation_causes(store, since, until, JUMPER)
    assert esc.total >= 1  # the damaged jumpers escalate
    widths = list(view.esc_bars.opts["width"])
    assert widths == pytest.approx([100.0 * n / esc.total for _, n in esc.causes])
    assert [t.toPlainText().split(":")[0] for t in view.esc_labels] == [c for c, _ in esc.causes]
    assert "passed first time" in view.status.text()


def test_known_numbers_from_the_gate_reach_the_plots(qtbot, controller, runner):
    """Synthetic scans through the gate: one jumper, end A2 failing once, then accepted."""
    sign_in(controller)
    qualify_store(controller.store)  # no station records an inspection unqualified (issue 14)
    actor = controller.actor
    gate = controller.gate
    serial = "LCD-0000777"
    gate.register(serial, actor)
    for end in ("A1", "A2", "B1", "B2"):
        if end == "A2":
            gate.record_inspection(serial, end, scan(serial, end, dirty(1)), actor, "sim-400x")
            gate.record_cleaning(serial, end, "dry-cassette", "CAS-1", True, actor)
        gate.record_inspection(serial, end, scan(serial, end), actor, "sim-400x")
        gate.connect(serial, end, actor, mode="capped")
    view = refreshed(qtbot, make_view(qtbot, controller, runner), runner)
    _, y = view.fpy_curve.getData()
    assert len(y) == 1 and y[0] == pytest.approx(75.0)  # 3 of 4 ends passed first time
    view.ferrule.setCurrentText("lc-upc")
    assert [s.data().failed for s in view.fibre_spots.points()] == [1]
    assert [s.data().inspected for s in view.fibre_spots.points()] == [5]
    assert list(view.clean_accepted.opts["height"]) == [0, 1]
    assert list(view.clean_rejected.opts["height"]) == [0, 0]
    assert view.esc_message.isVisible()
    assert view.esc_message.toPlainText() == "no escalations in this period"


def test_an_empty_period_says_so_on_every_plot(qtbot, controller, runner):
    demo(controller, 1, "clean")
    view = make_view(qtbot, controller, runner)
    view.since.setDate(QtCore.QDate(2001, 1, 1))
    view.until.setDate(QtCore.QDate(2001, 1, 31))
    refreshed(qtbot, view, runner)
    assert view.fpy_message.isVisible() and view.fpy_message.toPlainText() == NO_INSPECTIONS
    assert view.fpy_curve.getData()[0] is None or len(view.fpy_curve.getData()[0]) == 0
    assert view.clean_message.isVisible()
    assert view.clean_message.toPlainText() == "no assemblies closed in this period"
    assert view.esc_message.isVisible()
    assert view.map_message.isVisible() and "inspected in this period" in (
        view.map_message.toPlainText()
    )
    assert all(s.data().failed == 0 for s in view.fibre_spots.points())
    assert NO_INSPECTIONS in view.status.text()


def test_a_period_that_ends_before_it_starts_is_refused(qtbot, controller, runner):
    view = make_view(qtbot, controller, runner)
    view.since.setDate(QtCore.QDate(2030, 1, 2))
    view.until.setDate(QtCore.QDate(2030, 1, 1))
    view.refresh()
    assert not runner.busy
    assert "starts after it ends" in view.status.text()


def test_the_mpo24_map_shows_two_rows_under_the_key(qtbot, controller, runner):
    view = make_view(qtbot, controller, runner)
    view.product.setCurrentIndex(view.product.findData("trunk-mpo24-mm"))
    assert [view.ferrule.itemText(i) for i in range(view.ferrule.count())] == ["mpo24"]
    refreshed(qtbot, view, runner)
    spots = view.fibre_spots.points()
    assert len(spots) == 24
    rows = sorted({s.pos().y() for s in spots})
    assert rows == [-250.0, 250.0]
    assert [s.data().fiber for s in spots if s.pos().y() == -250.0] == list(range(1, 13))
    keys = [i for i in view._map_items if getattr(i, "toPlainText", lambda: "")() == "key"]
    assert len(keys) == 1 and keys[0].pos().y() < rows[0]  # y runs down: the key is on top
