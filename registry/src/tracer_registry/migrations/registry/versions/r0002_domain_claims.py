"""registry: domain prefixes owned by publishers

Revision ID: r0002
Revises: r0001
"""

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_domain_claims",
        sa.Column("prefix", sa.String(128), primary_key=True),
        sa.Column("publisher_id", sa.String(64), sa.ForeignKey("registry_publishers.id"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("registry_domain_claims")
