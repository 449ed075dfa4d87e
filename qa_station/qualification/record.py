"""Putting the station's own evidence on the record: qualifications, studies, probe alarms.

Each is a station event (no assembly), signed and chained like every other.
The person is a session ``Accounts`` issued, checked inside the event's own
transaction as the gate checks its actions: a made-up, ended or demoted one
records nothing. A qualification or a study needs a supervising session; a
re-grade run from the command line or a probe alarm names nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grading.projection import fields_dict
from qa_station.accounts import SUPERVISING, Accounts, AuthError, Session, signed_in
from qa_station.store import Store
from qa_station.store.kinds import Kind


@dataclass(frozen=True)
class IssuedReport:
    """A signed report file written before its event: the event carries its sha256."""

    report_id: str
    file: str  # the file's name (where it was written is the writer's business)
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)


def supervisor_name(store: Store, who: Session) -> str:
    """The supervisor's name, checked before any work is done on their behalf."""
    Accounts(store).check(who)
    if who.role not in SUPERVISING:
        raise AuthError(f"{who.username} is an {who.role}: a supervisor runs qualifications")
    return who.username


def record_event(
    store: Store,
    kind: Kind,
    payload: dict[str, Any],
    who: Session | None,
    report: IssuedReport | None = None,
    supervising: bool = False,
) -> int:
    """Append a station event (with its report, if any); returns its id. ``who``: the
    session it is recorded under (``supervising``: it must be a supervisor's)."""
    body = dict(payload)
    if report is not None:
        body["report"] = report.to_dict()
    with store.write() as w:
        name = None
        if who is not None or supervising:
            op = signed_in(w, who)
            if supervising and op.role not in SUPERVISING:
                raise AuthError(f"{op.username} is an {op.role}: a supervisor runs qualifications")
            name = op.username
        return w.event(kind, body, None, None, name).id
