"""Alembic environment: migrations run on the connection the station hands over."""

from __future__ import annotations

from alembic import context

from qa_station.store.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "qa-station runs its migrations itself (Store.migrate); no URL is configured here"
    )
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
