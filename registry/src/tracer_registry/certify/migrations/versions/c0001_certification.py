"""certification: reports, reviews, approvals, reviewer keys, allowances, attestations

Revision ID: c0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "certification_reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("plugin", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("wheel", sa.String(300), nullable=False),
        sa.Column("wheel_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "certification_reviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("certification_reports.id"),
                  nullable=False, index=True),
        sa.Column("plugin", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("wheel_sha256", sa.String(64), nullable=False),
        sa.Column("publisher", sa.JSON, nullable=False),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("claimed_at", TS),
        sa.Column("notes", sa.Text),
        sa.Column("statement", sa.JSON),
        sa.Column("decided_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "certification_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("review_id", sa.String(36), sa.ForeignKey("certification_reviews.id"),
                  nullable=False, index=True),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("keyid", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("review_id", "reviewer"),
    )
    op.create_table(
        "certification_reviewer_keys",
        sa.Column("keyid", sa.String(64), primary_key=True),
        sa.Column("reviewer", sa.String(200), nullable=False, index=True),
        sa.Column("public_pem", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "certification_allowances",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plugin", sa.String(128), nullable=False, index=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("file", sa.String(300), nullable=False),
        sa.Column("symbol", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("plugin", "rule", "file", "symbol"),
    )
    op.create_table(
        "certification_attestations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("review_id", sa.String(36), sa.ForeignKey("certification_reviews.id"),
                  nullable=False, index=True),
        sa.Column("plugin", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("wheel_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("envelope", sa.JSON, nullable=False),
        sa.Column("reviewed_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("certification_attestations", "certification_allowances",
                  "certification_reviewer_keys", "certification_approvals",
                  "certification_reviews", "certification_reports"):
        op.drop_table(table)
