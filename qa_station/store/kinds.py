"""Every kind of event the record holds, in one registry.

An event's kind decides how it is folded into a serial's state, how it is
described to an auditor, and which rows it seals. Writing or folding a kind
that is not here is refused: a record with an event nobody knows how to read
is not a record anyone can vouch for. Supervisor decisions are kinds too, so
the window, the controller and the gate name them the same way.
"""

from __future__ import annotations

from enum import StrEnum


class UnknownEventKind(ValueError):
    """A kind of event that is not in the registry (misspelt, or forged into the record)."""


class Kind(StrEnum):
    # an assembly and its ends, at the gate
    ASSEMBLY_REGISTERED = "assembly.registered"
    ASSEMBLY_ACCEPTED = "assembly.accepted"
    ASSEMBLY_REJECTED = "assembly.rejected"
    END_INSPECTED = "end.inspected"
    END_CLEANED = "end.cleaned"
    END_CONNECTED = "end.connected"
    END_ESCALATED = "end.escalated"
    END_OVERRIDE = "end.override"
    END_RELEASED_FOR_REWORK = "end.released_for_rework"
    GATE_REFUSED = "gate.refused"
    CERTIFICATE_ISSUED = "certificate.issued"
    # a bench's outbox, sent after a floor outage
    OUTBOX_SENT = "outbox.sent"
    OUTBOX_CONFLICT = "outbox.conflict"
    # people and their sign-ins
    USER_ADDED = "user.added"
    USER_PASSWORD_SET = "user.password_set"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_BADGE_REKEYED = "user.badge_rekeyed"
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login.failed"
    LOGIN_DELAYED = "login.delayed"  # a place that failed too often waits
    LOGIN_UNLOCKED = "login.unlocked"  # a supervisor cleared a place's wait
    LOGIN_LOCKED = "login.locked"  # the per-account lock of records before sessions (read only)
    # the station itself, its record and its image store
    STATION_CONFIGURED = "station.configured"
    STATION_CALIBRATED = "station.calibrated"
    CLOCK_JUMPED = "clock.jumped"
    STORE_DEMO = "store.demo"  # this record is the demo's own
    IMAGES_ARCHIVED = "images.archived"
    IMAGES_REMOVED = "images.removed"
    # trusting the station itself (qa_station/qualification, regrade.py)
    STATION_QUALIFIED = "station.qualified"  # a reference qualification, passed or failed
    REPEATABILITY_STUDIED = "station.repeatability"  # a repeatability and reproducibility study
    PROBE_DIRTY = "probe.dirty"  # the dirty-probe alarm: the inspections it affected
    PROBE_CLEANED = "probe.cleaned"  # the probe tip cleaned: the alarm is cleared
    ARCHIVE_REGRADED = "archive.regraded"  # a what-if re-grade report of past inspections

    @property
    def label(self) -> str:
        """The kind in a person's words (the supervisor's choices are shown this way)."""
        return LABELS.get(self, self.value)


LABELS = {
    Kind.END_OVERRIDE: "override connect",
    Kind.END_RELEASED_FOR_REWORK: "release for rework",
    Kind.ASSEMBLY_REJECTED: "reject assembly",
}

# What a supervisor decides, in the order the window offers it.
DECISIONS = (Kind.END_OVERRIDE, Kind.END_RELEASED_FOR_REWORK, Kind.ASSEMBLY_REJECTED)


def kind(value: str) -> Kind:
    """The registered kind named ``value``; anything else is refused by name."""
    try:
        return Kind(value)
    except ValueError:
        shown = repr(value)[:60]
        raise UnknownEventKind(f"unknown event kind {shown}: not in the registry") from None


def decision(value: str) -> Kind:
    """A supervisor decision by its kind; anything else is refused."""
    k = kind(value) if not isinstance(value, Kind) else value
    if k not in DECISIONS:
        raise UnknownEventKind(
            f"{k.value} is not a supervisor decision: one of {', '.join(d.value for d in DECISIONS)}"
        )
    return k
