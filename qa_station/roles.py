"""Who held which role when, by the record (for actions done at one time and sent later).

An action a bench kept in its outbox names its actor and the time it was
done. Before it is replayed, the record (the signed ``user.added``,
``user.disabled`` and ``user.enabled`` events, not the editable accounts
table alone) must show that account existing, active and with that role at
that time. An account disabled after the action does not undo it; one
disabled before refuses it.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from qa_station.store import Store
from qa_station.store.kinds import Kind
from qa_station.store.models import Event, Operator

ACCOUNT_EVENTS = (Kind.USER_ADDED, Kind.USER_DISABLED, Kind.USER_ENABLED)


def role_at(store: Store, username: str, at_us: int) -> str | None:
    """The role ``username`` held at ``at_us``, or None when the account did not exist or was
    disabled then (or does not exist now, or its row and its events disagree)."""
    with store.read() as s:
        row = s.execute(select(Operator).where(Operator.username == username)).scalar()
        if row is None:
            return None
        said = s.execute(
            select(Event.kind, Event.payload)
            .where(Event.kind.in_([k.value for k in ACCOUNT_EVENTS]), Event.created_us <= at_us)
            .order_by(Event.id)
        ).all()
    role, active = None, False
    for kind, payload in said:
        p = json.loads(payload)
        if p.get("username") != username:
            continue
        if kind == Kind.USER_ADDED:
            role, active = p.get("role"), True
        else:
            active = kind == Kind.USER_ENABLED
    return role if active and role == row.role else None
