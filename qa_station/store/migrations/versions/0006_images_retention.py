"""Image retention: which image files left the bench, and in which signed archive.

Frames are kept on the bench until a signed archive holds them; only then may
files older than the retention be removed, each with a row here, sealed by
the ``images.removed`` event of its archive.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_removals",
        sa.Column("sha256", sa.String(64), sa.ForeignKey("images.sha256"), primary_key=True),
        sa.Column("archive_sha256", sa.String(64), nullable=False),
        sa.Column("removed_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_image_removals_archive_sha256", "image_removals", ["archive_sha256"])


def downgrade() -> None:
    op.drop_index("ix_image_removals_archive_sha256", "image_removals")
    op.drop_table("image_removals")
