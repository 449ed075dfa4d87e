"""A signed chain: events carry their format, session time and signature; station keys and
signed checkpoints are kept; the store's current head is signed as its first checkpoint.

Events written before stay as they were (format 1, unsigned); the checkpoint signed
here pins them, so none of them can be changed, removed or added to unseen from now on.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    signer = context.config.attributes.get("record_signer")
    if signer is None:
        raise RuntimeError(
            "migration 0004 signs the store's head with the station key: run it through "
            "Store.migrate, which hands the key over"
        )
    op.add_column(
        "events", sa.Column("format", sa.SmallInteger(), nullable=False, server_default="1")
    )
    op.add_column("events", sa.Column("session", sa.String(32)))
    op.add_column("events", sa.Column("mono_us", sa.BigInteger()))
    op.add_column("events", sa.Column("key_id", sa.String(64)))
    op.add_column("events", sa.Column("signature", sa.String(700)))
    op.create_index("ix_events_station_id_id", "events", ["station_id", "id"])
    op.add_column(
        "chain_head",
        sa.Column("event_count", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute("UPDATE chain_head SET event_count = (SELECT count(*) FROM events)")
    op.create_table(
        "station_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("registered_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("head_id", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(700), nullable=False),
    )
    # The head as it is now, signed: the first checkpoint of this store.
    signer(op.get_bind())


def downgrade() -> None:
    op.drop_table("checkpoints")
    op.drop_table("station_keys")
    op.drop_column("chain_head", "event_count")
    op.drop_index("ix_events_station_id_id", "events")
    for column in ("signature", "key_id", "mono_us", "session", "format"):
        op.drop_column("events", column)
