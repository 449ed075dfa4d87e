"""The floor store holds the whole record: frames in the database, audit tables insert-only,
indexes for History's search at a floor's scale.

- ``image_data``: each frame's PNG bytes (bytea, content-addressed by sha256), written in
  the transaction of the row that seals it. On PostgreSQL the migrating bench's own frames
  (``<data>/images``) are moved in here, each hashed on the way (a file that is not what
  its name says stops the migration: nothing is written); other benches move theirs with
  ``qa-station store move-frames``. SQLite benches keep their folder; the table stays empty.
- PostgreSQL: a trigger on every audit table refuses UPDATE, DELETE and TRUNCATE.
- Indexes: assemblies by time (History lists newest first) and, on PostgreSQL, by serial
  fragment (a trigram index, pg_trgm) so "serial contains" never reads the whole table.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from qa_station.store.floor import append_only_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_data",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_assemblies_created_us", "assemblies", ["created_us"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.create_index("ix_assemblies_serial_trgm", "assemblies", ["serial"])
        return
    # PNG does not compress again: store it out of line without trying (TOAST EXTERNAL).
    op.execute("ALTER TABLE image_data ALTER COLUMN data SET STORAGE EXTERNAL")
    trigram = bind.begin_nested()  # pg_trgm may be unavailable: search then uses LIKE alone
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        bind.exec_driver_sql(
            "CREATE INDEX ix_assemblies_serial_trgm ON assemblies USING gin (serial gin_trgm_ops)"
        )
        trigram.commit()
    except sa.exc.DBAPIError:
        trigram.rollback()
    mover = context.config.attributes.get("frame_mover")
    if mover is not None:
        mover(bind)
    for statement in append_only_sql():
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from qa_station.store.floor import AUDIT_TABLES, REFUSE_FUNCTION

        for t in AUDIT_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS qa_insert_only ON {t}")
            op.execute(f"DROP TRIGGER IF EXISTS qa_no_truncate ON {t}")
        op.execute(f"DROP FUNCTION IF EXISTS {REFUSE_FUNCTION}()")
    op.drop_index("ix_assemblies_serial_trgm", "assemblies")
    op.drop_index("ix_assemblies_created_us", "assemblies")
    op.drop_table("image_data")
