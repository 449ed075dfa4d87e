"""Indexes for questions asked by period: statistics over months of inspections and events.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inspections_created_us", "inspections", ["created_us"])
    op.create_index("ix_events_kind_created_us", "events", ["kind", "created_us"])


def downgrade() -> None:
    op.drop_index("ix_events_kind_created_us", "events")
    op.drop_index("ix_inspections_created_us", "inspections")
