"""Feedback loop: outcome corrections with their history, restraint on automatic
retraining (cooldown, tenant weight, the drift episode handled), row counts by source on
training runs

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcome_corrections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("outcome_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("old_outcome", sa.Integer(), nullable=False),
        sa.Column("new_outcome", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outcome_id"], ["outcomes.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_outcome_corrections_outcome_id"), "outcome_corrections",
                    ["outcome_id"], unique=False)
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("retraining_policies") as batch:
        batch.add_column(sa.Column("cooldown_hours", sa.Float(), nullable=True))
        batch.add_column(sa.Column("tenant_weight", sa.Float(), nullable=True))
        batch.add_column(sa.Column("drift_episode", sa.String(length=64), nullable=True))
    with op.batch_alter_table("training_runs") as batch:
        batch.add_column(sa.Column("rows", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_column("rows")
    with op.batch_alter_table("retraining_policies") as batch:
        batch.drop_column("drift_episode")
        batch.drop_column("tenant_weight")
        batch.drop_column("cooldown_hours")
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("corrected_at")
    op.drop_index(op.f("ix_outcome_corrections_outcome_id"), table_name="outcome_corrections")
    op.drop_table("outcome_corrections")
