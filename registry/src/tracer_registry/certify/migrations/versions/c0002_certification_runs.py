"""certification runs: the validator runs queued when a release is published

Revision ID: c0002
Revises: c0001
"""

import sqlalchemy as sa
from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "certification_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("plugin", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("review_id", sa.String(36)),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.UniqueConstraint("plugin", "version", name="uq_certification_runs_release"),
    )


def downgrade() -> None:
    op.drop_table("certification_runs")
