"""training_runs.decision holds a sentence with its numbers, not a 32-character code

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.alter_column("decision", type_=sa.Text, existing_type=sa.String(32))


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.alter_column("decision", type_=sa.String(32), existing_type=sa.Text)
