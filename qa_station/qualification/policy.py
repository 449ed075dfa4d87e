"""The qualification policy: a station records no inspection it is not qualified to make.

The standing of a station is read from its record (never from a file it could
be handed): the latest ``station.qualified`` event of the probe the
inspection is made with (a new probe has none; a spare probe is qualified on
its own) must have passed, be younger than the policy period (30 days by
default, ``[qualification] max_age_days`` in the station config), cover the
tip the connector needs at the scale the inspection was graded at, and no
``station.calibrated`` event of that probe and tip may follow it. A standing ``probe.dirty`` alarm (``dirty_probe.py``) also stops
inspections until a ``probe.cleaned`` event clears it. Every refusal is a
sentence for the operator, saying who must do what.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.pixels import scale_pair
from qa_station.store.kinds import Kind
from qa_station.store.models import Event

DEFAULT_MAX_AGE_DAYS = 30.0
DAY_US = 86_400_000_000
SCALE_MATCH = 1e-6  # relative: a calibration is the one qualified when its scale is the same
WHO = "a supervisor qualifies it (qa-station qualify reference, or Settings > Qualification)"


@dataclass(frozen=True)
class QualificationPolicy:
    max_age_days: float = DEFAULT_MAX_AGE_DAYS

    @property
    def max_age_us(self) -> int:
        return round(self.max_age_days * DAY_US)


@dataclass(frozen=True)
class Standing:
    """What the record says of a station's qualification, for a probe and its tips."""

    ok: bool
    reason: str | None  # why not, in the operator's words
    event_id: int | None = None  # the latest qualification event
    at_us: int | None = None
    expires_us: int | None = None
    passed: bool | None = None
    probe: str | None = None
    tips: dict[str, Any] = field(default_factory=dict)  # tip -> the calibration qualified
    dirty_probe: dict[str, Any] | None = None  # the standing alarm's payload, if any

    def summary(self, now_us: int | None = None) -> str:
        """One line for a status bar (the days left, counted from ``now_us``)."""
        if self.dirty_probe is not None:
            return "PROBE DIRTY: clean the probe tip"
        if self.ok and self.expires_us is not None:
            if now_us is None:
                return f"qualified until {_day(self.expires_us)}"
            days = max(0, math.ceil((self.expires_us - now_us) / DAY_US))
            return f"qualified: {days} day(s) left"
        if self.passed is False:
            return "NOT QUALIFIED: the last qualification failed"
        if self.event_id is None:
            return "NOT QUALIFIED: no qualification on record"
        return "NOT QUALIFIED: " + (self.reason or "")

    @property
    def expires(self) -> str:
        return _day(self.expires_us) if self.expires_us is not None else "-"


def latest(session: Session, station_id: str, kinds: tuple[Kind, ...]) -> Event | None:
    return session.execute(
        select(Event)
        .where(Event.kind.in_([k.value for k in kinds]), Event.station_id == station_id)
        .order_by(Event.id.desc())
        .limit(1)
    ).scalar()


def standing(
    session: Session,
    station_id: str,
    probe_id: str,
    scales: Mapping[str, float | tuple[float, float] | None],
    now_us: int,
    policy: QualificationPolicy | None = None,
) -> Standing:
    """The station's standing to inspect with ``probe_id`` at ``scales`` (tip -> scale)."""
    policy = policy or QualificationPolicy()
    dirty = dirty_alarm(session, station_id)
    found = qualification_of(session, station_id, probe_id)
    if found is None:
        other = latest(session, station_id, (Kind.STATION_QUALIFIED,))
        if other is None:
            why = f"this station has no qualification on record: {WHO}"
        else:
            was = json.loads(other.payload).get("probe")
            why = (
                f"probe {probe_id} has no qualification on this station (its last one, "
                f"{_day(other.created_us)}, is of probe {was}): {WHO}"
            )
        return Standing(False, why, probe=probe_id, dirty_probe=dirty)
    ev, doc = found
    expires_us = ev.created_us + policy.max_age_us
    tips: dict[str, Any] = doc.get("calibrations") or {}
    when = _day(ev.created_us)
    reason = None
    if not doc.get("passed"):
        why = "; ".join(doc.get("reasons") or [])[:240]
        reason = (
            f"this station failed its last qualification ({when}: {why}): it records no "
            f"inspection until {WHO}"
        )
    elif now_us > expires_us:
        reason = (
            f"this station's qualification expired on {_day(expires_us)} (qualified "
            f"{when}, valid {policy.max_age_days:g} days): {WHO}"
        )
    else:
        reason = _calibration_changed(session, station_id, probe_id, scales, tips, ev.id, when)
    if reason is None and dirty is not None:
        reason = dirty.get("message") or "the probe tip is dirty: clean the probe tip"
    return Standing(
        reason is None,
        reason,
        event_id=ev.id,
        at_us=ev.created_us,
        expires_us=expires_us,
        passed=bool(doc.get("passed")),
        probe=doc.get("probe"),
        tips=tips,
        dirty_probe=dirty,
    )


def qualification_of(
    session: Session, station_id: str, probe_id: str, look_back: int = 500
) -> tuple[Event, dict[str, Any]] | None:
    """The station's latest qualification of this probe (a bench may keep a spare probe,
    qualified on its own), with its payload."""
    rows = session.execute(
        select(Event)
        .where(Event.kind == Kind.STATION_QUALIFIED.value, Event.station_id == station_id)
        .order_by(Event.id.desc())
        .limit(look_back)
    ).scalars()
    for ev in rows:
        doc = json.loads(ev.payload)
        if doc.get("probe") == probe_id:
            return ev, doc
    return None


def _calibration_changed(
    session: Session,
    station_id: str,
    probe_id: str,
    scales: Mapping[str, float | tuple[float, float] | None],
    tips: Mapping[str, Any],
    event_id: int,
    when: str,
) -> str | None:
    for tip, scale in scales.items():
        qualified = tips.get(tip)
        if qualified is None:
            return f"the {tip} tip of probe {probe_id} was not part of this station's qualification ({when}): {WHO}"
        if scale is not None and not _same_scale(scale, qualified):
            x = _pair(scale)[0]
            return (
                f"the {tip} tip of probe {probe_id} is calibrated at {x:.4g} um/px, not the "
                f"{qualified.get('um_per_px'):.4g} um/px it was qualified at ({when}): {WHO}"
            )
    later = session.execute(
        select(Event.payload, Event.created_us).where(
            Event.kind == Kind.STATION_CALIBRATED.value,
            Event.station_id == station_id,
            Event.id > event_id,
        )
    ).all()
    for payload, at in later:
        doc = json.loads(payload)
        if doc.get("probe") == probe_id and doc.get("tip") in scales:
            return (
                f"the {doc.get('tip')} tip of probe {probe_id} was calibrated again on "
                f"{_day(at)}, after this station's qualification ({when}): {WHO}"
            )
    return None


def _same_scale(scale: float | tuple[float, float], qualified: Mapping[str, Any]) -> bool:
    x, y = _pair(scale)
    qx = qualified.get("um_per_px")
    qy = qualified.get("um_per_px_y") or qx
    if not isinstance(qx, int | float) or not isinstance(qy, int | float):
        return False
    return abs(x / qx - 1.0) <= SCALE_MATCH and abs(y / qy - 1.0) <= SCALE_MATCH


def _pair(scale: float | tuple[float, float]) -> tuple[float, float]:
    """(x, y) um per pixel of a scale that is given (``scale_pair`` is None only for None)."""
    pair = scale_pair(scale)
    if pair is None:
        raise ValueError("a scale is needed here; none was given")
    return pair


def dirty_alarm(session: Session, station_id: str) -> dict[str, Any] | None:
    """The dirty-probe alarm standing at this station (its payload), or None."""
    ev = latest(session, station_id, (Kind.PROBE_DIRTY, Kind.PROBE_CLEANED))
    if ev is None or ev.kind != Kind.PROBE_DIRTY.value:
        return None
    doc: dict[str, Any] = json.loads(ev.payload)
    doc["event_id"] = ev.id
    return doc


def _day(at_us: int) -> str:
    return dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
