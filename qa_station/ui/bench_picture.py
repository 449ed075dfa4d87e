"""What the picture shows: the live stream, an inspection's frame, a preview capture.

Live frames carry the overlay of a background grading of the fibre in view,
or the numbered rings of the whole ferrule; an inspection's fibre shows its
frame as graded; a capture is a preview framed in amber that records nothing.
"""

from __future__ import annotations

from hardware.probes.base import Frame
from qa_station import bench_view as bv
from qa_station.scan import whole_ferrule
from qa_station.ui import theme


class PictureActions:
    """The picture's behaviour; a part of ``MainWindow``."""

    # -- the view --------------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        self.last_frame = frame
        if self.mode == "live":
            self.view.set_frame(frame.image)
            where = f"fibre {frame.fiber}" if frame.fiber else "whole ferrule"
            caption = f"LIVE  end {frame.end or '-'}  {where}"
            if self._live_caption != caption and not self._live_caption.startswith(caption + "  "):
                # A new place: the last live verdict (or marks) belonged to the old one.
                self._live_caption = caption
                self.view.set_caption(caption)
                self.view.set_result(None)
        else:
            self.frames.taken()

    def _on_focus(self, score: float) -> None:
        self.focus_score = score

    def _on_device_problem(self, text: str) -> None:
        if text:
            self._say(text, theme.REFUSAL)
        else:
            self._say("")

    def go_live(self) -> None:
        """Back to the probe's picture, at the fibre the operator was looking at."""
        self.mode = "live"
        self.view.set_preview(False)
        self.view.set_result(None)
        self._live_caption = ""
        self.view.set_caption(f"LIVE  end {self.end or '-'}")
        fibre, frame = self.map.selected, self.last_frame
        if self.end is not None:
            self.table.set_result(self._last_result(self.end))  # not a capture's any more
            if fibre:
                self.table.select_fibre(fibre)
        if self.end and fibre and frame is not None and frame.fiber != fibre and not self.scanning:
            end = self.end
            self.runner.start(
                lambda r: self.c.show(end, fibre),
                None,
                self._failed,
                label=f"moving to fibre {fibre}",
            )

    def show_fibre(self, fibre: int | None) -> None:
        """A fibre's frame from the last inspection, with its overlay (or move the live view)."""
        s = self.c.session
        if s is None or self.end is None:
            return
        scan = s.scans.get(self.end)
        if fibre is not None and scan is not None and fibre in scan.frames:
            result = bv.one_fibre(scan.result(), fibre)
            f = result.fibers[0]
            self.mode = "review"
            self.view.set_preview(False)
            self.view.set_frame(scan.frames[fibre].image)
            self.view.set_result(result)
            self.view.set_caption(f"INSPECTION  end {self.end}  fibre {fibre}: {f.verdict.upper()}")
            self.map.select(fibre)
            self.table.select_fibre(fibre)
            self._say_fibre(f)
            return
        end = self.end
        self.map.select(fibre)
        where = f"fibre {fibre}" if fibre else "the whole ferrule"
        self.runner.start(
            lambda r: self.c.show(end, fibre),
            lambda _: self.go_live(),
            self._failed,
            label=f"moving to {where}",
        )

    def _say_fibre(self, f) -> None:
        """The selected fibre's verdict and every limit it broke, in full."""
        words = f"<b>fibre {f.index}: {f.verdict.upper()}</b>"
        if f.failures:
            words += "<br>" + "<br>".join(f.failures)
        elif f.error:
            words += f"<br>{f.error}"
        else:
            words += f" &middot; {len(f.defects)} defect(s) within the limits"
        self.detail.setText(words)

    def _grade_live(self) -> None:
        frame, end = self.last_frame, self.end
        session = self.c.session
        if (
            self.mode != "live"
            or not self.overlay_box.isChecked()
            or self.scanning
            or self.live_runner.busy
            or frame is None
            or end is None
            or frame.end != end
            or session is None
        ):
            return
        definition = session.identified.product.end(end)
        if whole_ferrule(frame, definition):
            states = dict(self.map.states)
            name = definition.geometry.name

            def find(report):
                return frame, bv.overview_marks(frame.image, name, states)

            self.live_runner.start(find, self._overview_found, lambda exc: None)
            return

        def work(report):
            return frame, self.c.grade_frame(frame, end)

        self.live_runner.start(work, self._live_graded, lambda exc: None)

    def _overview_found(self, out) -> None:
        frame, marks = out
        now = self.last_frame
        if self.mode != "live" or now is None or now.fiber != frame.fiber or now.end != frame.end:
            return
        self.view.set_marks(marks)
        found = f"{len(marks)} fibres found" if marks else "fibres not all found"
        self._live_caption = f"LIVE  end {frame.end}  whole ferrule  {found}"
        self.view.set_caption(self._live_caption)

    def _live_graded(self, out) -> None:
        frame, result = out
        now = self.last_frame
        if self.mode != "live" or now is None or now.fiber != frame.fiber or now.end != frame.end:
            return  # the view moved on while it was graded
        self.view.set_result(result)
        verdict = result.verdict.upper() + (f": {result.error}" if result.error else "")
        self._live_caption = f"LIVE  end {frame.end}  fibre {frame.fiber}  {verdict}"
        self.view.set_caption(self._live_caption)

    def capture(self) -> None:
        """Grade the fibre in view now: a preview the gate never sees (I records)."""
        frame, end, s = self.last_frame, self.end, self.c.session
        if frame is None or end is None or s is None:
            return
        if whole_ferrule(frame, s.identified.product.end(end)):
            self.detail.setText(
                "<b>whole ferrule: too coarse to grade</b><br>pick a fibre on the map, or press "
                "I to inspect every fibre at full magnification"
            )
            return

        def work(report):
            return frame, self.c.grade_frame(frame, end)

        self.runner.start(work, self._captured, self._failed, label="grading the fibre in view")

    def _captured(self, out) -> None:
        frame, result = out
        self.mode = "preview"
        self.view.set_frame(frame.image)
        self.view.set_result(result)
        self.view.set_preview(True)
        self.view.set_caption(
            f"PREVIEW, NOT RECORDED  end {frame.end} fibre {frame.fiber or 1}: "
            f"{result.verdict.upper()}" + (f" ({result.error})" if result.error else "")
        )
        self.table.set_result(result)
        if result.fibers:
            worst = [f for f in result.fibers if f.verdict != "pass"] or list(result.fibers)
            self._say_fibre(worst[0])
        else:
            self.detail.setText(f"<b>not judged</b><br>{result.error or ''}")
        self.detail.setText(
            self.detail.text()
            + f"<br><i>a preview: nothing is recorded ({bv.INSPECT} records the inspection; "
            f"{bv.LIVE}: back to live)</i>"
        )

    def autofocus(self) -> None:
        self.runner.start(
            lambda r: self.c.focus(),
            lambda pos: self.statusBar().showMessage(f"focused at {pos}", 3000),
            self._failed,
            label="autofocus",
        )
