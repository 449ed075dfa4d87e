"""Accounts: sign-in sessions, per-place sign-in delays, and facts about the store.

Sessions replace the free-standing ``Actor``: the gate acts only for a token
``Accounts`` issued (its sha256 is kept here). Failed sign-ins slow down the
place they come from instead of locking the account. ``store_settings`` holds
the fingerprint of the accounts key badges are enrolled with, and marks the
demo's own record.

Existing badges (an unsalted sha256) are kept as they are and re-keyed with
the station's key the next time each one signs in; ``user list`` shows the
ones still waiting.

Revision ID: 0005
Revises: 0004 (the signed chain)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("source", sa.String(96), nullable=False),
        sa.Column("issued_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("ended_us", sa.BigInteger()),
    )
    op.create_index("ix_sign_ins_operator_id", "sign_ins", ["operator_id"])
    op.create_table(
        "sign_in_sources",
        sa.Column("source", sa.String(96), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_us", sa.BigInteger()),
        sa.Column("wait_until_us", sa.BigInteger()),
    )
    op.create_table(
        "store_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_settings")
    op.drop_table("sign_in_sources")
    op.drop_index("ix_sign_ins_operator_id", "sign_ins")
    op.drop_table("sign_ins")
