"""Who held which role when, by the record (for actions done at one time and sent later).

An action a bench kept in its outbox names its actor and the time it was
done. Before it is replayed, the record (the signed ``user.added`` events,
not the editable accounts table alone) must show that account existing with
that role at that time.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from qa_station.store import Store
from qa_station.store.kinds import Kind
from qa_station.store.models import Event, Operator


def role_at(store: Store, username: str, at_us: int) -> str | None:
    """The role ``username`` held at ``at_us``, or None when the account did not exist then
    (or does not now, or its row and its event disagree)."""
    with store.read() as s:
        row = s.execute(select(Operator).where(Operator.username == username)).scalar()
        if row is None or not row.active:
            return None
        added = s.execute(
            select(Event.payload, Event.created_us)
            .where(Event.kind == Kind.USER_ADDED.value, Event.created_us <= at_us)
            .order_by(Event.id)
        ).all()
    role = None
    for payload, _at in added:
        p = json.loads(payload)
        if p.get("username") == username:
            role = p.get("role")
    return role if role == row.role else None
