"""Receipts of actions a bench replayed from its local outbox after a floor outage.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_receipts",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("serial", sa.String(128)),
        sa.Column("done_at_us", sa.BigInteger(), nullable=False),
        sa.Column("sent_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outbox_receipts")
