"""History and audit in the window: find an assembly, read its record, open an old inspection."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from tests.ui.conftest import accept_headless, press, put_focus, settle

K = QtCore.Qt.Key


def inspected(qtbot, w, serial="T12B-000003"):
    w.open_serial(serial)
    settle(qtbot, w)
    put_focus(qtbot, w.view)
    press(qtbot, w, K.Key_I)
    settle(qtbot, w)
    press(qtbot, w, K.Key_N)  # refused: failed
    settle(qtbot, w)


def test_search_record_and_an_old_inspection_with_its_overlay(qtbot, window):
    w = window
    inspected(qtbot, w)
    w.open_serial("LCD-0000007")
    settle(qtbot, w)
    w.tabs.setCurrentWidget(w.history)
    settle(qtbot, w)
    h = w.history
    assert h.results.rowCount() == 2  # both, newest first
    assert h.results.item(0, 0).text() == "LCD-0000007"
    h.serial.setText("T12B")
    h.search()
    settle(qtbot, w)
    assert [h.results.item(r, 0).text() for r in range(h.results.rowCount())] == ["T12B-000003"]
    h.status.setCurrentText("accepted")
    h.search()
    settle(qtbot, w)
    assert h.results.rowCount() == 0 and "no assembly matches" in h.message.text()
    h.status.setCurrentText("open")
    h.operator.setText("olga")
    h.search()
    settle(qtbot, w)
    assert h.results.rowCount() == 1
    h.results.selectRow(0)
    settle(qtbot, w)
    assert "T12B-000003" in h.summary.text() and "record hash" in h.summary.text()
    assert not h.cert_btn.isEnabled()  # only an accepted assembly has a certificate
    end_a = h.ends.topLevelItem(0)
    assert end_a.text(0).startswith("end A") and end_a.childCount() == 1
    kinds = [h.events.item(r, 4).text() for r in range(h.events.rowCount())]
    assert kinds == ["assembly.registered", "end.inspected", "gate.refused"]
    refusal_row = kinds.index("gate.refused")
    assert "connect refused" in h.events.item(refusal_row, 5).text()
    # The old inspection opens with each fibre's image and its overlay, as graded.
    h._open_inspection(end_a.child(0), 0)
    dlg = next(
        x
        for x in QtWidgets.QApplication.topLevelWidgets()
        if x.isVisible() and x.windowTitle().startswith("Inspection of")
    )
    insp = end_a.child(0).data(0, QtCore.Qt.ItemDataRole.UserRole)
    assert dlg.fibres.count() == 13  # twelve fibres and the whole ferrule
    failing = next(f for f in insp.result.fibers if f.verdict == "fail")
    pick(qtbot, dlg, failing.index - 1)
    (c,) = dlg.view.overlay_centres()
    # The record keeps the fibre's graded region: the overlay lands on the crop where the
    # grade put the fibre in its frame (the crop's origin added back).
    region = insp.regions[str(failing.index)]
    x0, y0 = region["origin"]
    assert math.dist((c[0] + x0, c[1] + y0), failing.center_px) < 0.5
    assert failing.failures[0] in dlg.details.text()
    assert dlg.view.image.image.shape == (region["size"][1], region["size"][0])
    assert region["frame"] == [1280, 960] and region["size"][0] < 500  # not the whole frame
    pick(qtbot, dlg, 12)
    assert "whole ferrule" in dlg.details.text()
    # The whole ferrule carries every fibre's number and a ring in its verdict, as on the bench.
    assert dlg.view.mark_numbers() == [str(n) for n in range(1, 13)]
    rings = {m.index: m.state for m in dlg.view.marks}
    assert rings == {f.index: f.verdict for f in insp.result.fibers}
    dlg.close()


def pick(qtbot, dlg, row: int) -> None:
    """Choose a picture in an old inspection; it is read from the store in a worker."""
    dlg.fibres.setCurrentRow(row)
    qtbot.waitUntil(lambda: dlg.done_loading() and "reading" not in dlg.details.text())


def test_the_audit_reports_an_intact_record_and_a_broken_one(qtbot, window):
    w = window
    inspected(qtbot, w)
    w.tabs.setCurrentWidget(w.history)
    settle(qtbot, w)
    w.history.audit()
    settle(qtbot, w)
    assert w.history.message.text().startswith("intact:")
    # Someone edits an image on disk: the audit in the window says so.
    store = w.c.store
    any_image = next(p for p in store.images.root.rglob("*.png"))
    any_image.write_bytes(any_image.read_bytes()[:-10] + b"0123456789")
    w.history.audit()
    settle(qtbot, w)
    assert w.history.message.text().startswith("BROKEN:")


def test_an_image_changed_on_disk_is_flagged_where_it_is_shown(qtbot, window):
    w = window
    inspected(qtbot, w)
    rec = w.c.record("T12B-000003")
    insp = rec.ends[0].inspections[0]
    from qa_station.ui.history_view import InspectionDialog

    sha2 = insp.fibre_images[2]
    path = w.c.store.images.path(sha2)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[:-12]) + b"\x00" * 12)  # still a file, not the recorded one
    w.c.store.images.path(insp.fibre_images[3]).unlink()
    dlg = InspectionDialog(w.c, insp, w)
    qtbot.addWidget(dlg)
    pick(qtbot, dlg, 1)
    assert "not the one recorded" in dlg.details.text() or "cannot be shown" in dlg.details.text()
    pick(qtbot, dlg, 2)
    assert "cannot be shown" in dlg.details.text() and "missing" in dlg.details.text()
    pick(qtbot, dlg, 0)
    assert "fibre 1:" in dlg.details.text() and "not the one" not in dlg.details.text()


def test_an_accepted_assembly_s_certificate_is_reissued_from_history(
    qtbot, window, monkeypatch, tmp_path
):
    w = window
    c = w.c
    accept_headless(c, "LCD-0000007")
    w.tabs.setCurrentWidget(w.history)
    settle(qtbot, w)
    w.history.results.selectRow(0)
    settle(qtbot, w)
    assert w.history.cert_btn.isEnabled()
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path)
    )
    w.history.cert_btn.click()
    settle(qtbot, w)
    (pdf,) = tmp_path.glob("LCD-0000007-*.pdf")
    assert str(pdf) in w.history.message.text()
    from qa_station.certificates.verify import verify_file

    assert verify_file(pdf, c.store, serial="LCD-0000007").ok
