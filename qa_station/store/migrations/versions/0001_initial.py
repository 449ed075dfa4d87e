"""The first schema: stations, operators, products, assemblies, ends, images,
inspections, cleanings, and the hash-chained events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_event_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256)),
        sa.Column("badge_hash", sa.String(128), unique=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until_us", sa.BigInteger()),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "assemblies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(128), nullable=False, unique=True),
        sa.Column("product_id", sa.String(64), sa.ForeignKey("products.id"), nullable=False),
        sa.Column("part_number", sa.String(128)),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "ends",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "assembly_id", sa.Integer(), sa.ForeignKey("assemblies.id"), nullable=False, index=True
        ),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("connector", sa.String(16), nullable=False),
        sa.Column("rules", sa.String(256), nullable=False),
        sa.UniqueConstraint("assembly_id", "label"),
    )
    op.create_table(
        "images",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("relpath", sa.String(256), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "assembly_id", sa.Integer(), sa.ForeignKey("assemblies.id"), nullable=False, index=True
        ),
        sa.Column("end_id", sa.Integer(), sa.ForeignKey("ends.id"), nullable=False, index=True),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("rules", sa.String(256), nullable=False),
        sa.Column("rules_sha256", sa.String(64)),
        sa.Column("um_per_px", sa.Float()),
        sa.Column("probe_id", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("overview_sha256", sa.String(64), sa.ForeignKey("images.sha256")),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "inspection_fibers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "inspection_id",
            sa.Integer(),
            sa.ForeignKey("inspections.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("fiber", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("image_sha256", sa.String(64), sa.ForeignKey("images.sha256")),
        sa.Column("focus_score", sa.Float()),
        sa.UniqueConstraint("inspection_id", "fiber"),
    )
    op.create_table(
        "cleanings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "assembly_id", sa.Integer(), sa.ForeignKey("assemblies.id"), nullable=False, index=True
        ),
        sa.Column("end_id", sa.Integer(), sa.ForeignKey("ends.id"), nullable=False, index=True),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("tool_id", sa.String(64), nullable=False),
        sa.Column("adapter_cleaned", sa.Boolean(), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", _event_id, primary_key=True, autoincrement=True),
        sa.Column("assembly_id", sa.Integer(), sa.ForeignKey("assemblies.id")),
        sa.Column("end_label", sa.String(16)),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(64)),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_events_assembly_id_id", "events", ["assembly_id", "id"])
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.execute(
        "INSERT INTO chain_head (id, last_event_id, last_hash) VALUES (1, 0, '" + "0" * 64 + "')"
    )


def downgrade() -> None:
    for table in (
        "chain_head",
        "events",
        "cleanings",
        "inspection_fibers",
        "inspections",
        "images",
        "ends",
        "assemblies",
        "products",
        "operators",
        "stations",
    ):
        op.drop_table(table)
