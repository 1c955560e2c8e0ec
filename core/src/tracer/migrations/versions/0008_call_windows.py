"""Per-key call counts per minute window (tracer.ratelimit): rate limits across workers

Revision ID: 0008
Revises: 0007_training
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007_training"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_windows",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "window"),
    )


def downgrade() -> None:
    op.drop_table("call_windows")
