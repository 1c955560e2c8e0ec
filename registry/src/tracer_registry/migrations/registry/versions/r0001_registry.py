"""registry: publishers, trusted publishers, keys, listings, releases, policies, installs

Revision ID: r0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "registry_publishers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("first_party", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "registry_trusted_publishers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("publisher_id", sa.String(64), sa.ForeignKey("registry_publishers.id"),
                  nullable=False, index=True),
        sa.Column("namespace", sa.String(128), nullable=False, index=True),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("workflow", sa.String(300), nullable=False),
        sa.Column("environment", sa.String(200)),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("namespace", "issuer", "repository", "workflow"),
    )
    op.create_table(
        "registry_publisher_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("publisher_id", sa.String(64), sa.ForeignKey("registry_publishers.id"),
                  nullable=False, index=True),
        sa.Column("namespace", sa.String(128), nullable=False, index=True),
        sa.Column("public_pem", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
    )
    op.create_table(
        "registry_listings",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("publisher_id", sa.String(64), sa.ForeignKey("registry_publishers.id"),
                  nullable=False, index=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("readme", sa.Text, nullable=False),
        sa.Column("domains", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("monthly_fee_minor", sa.Integer, nullable=False),
        sa.Column("per_prediction_micros", sa.Integer, nullable=False),
        sa.Column("commission_bps", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("monthly_fee_minor >= 0 AND per_prediction_micros >= 0",
                           name="ck_listing_prices_not_negative"),
        sa.CheckConstraint("commission_bps BETWEEN 0 AND 10000", name="ck_listing_bps"),
    )
    op.create_table(
        "registry_releases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("listing_name", sa.String(128), sa.ForeignKey("registry_listings.name"),
                  nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("wheel_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("bundle_sha256", sa.String(64), nullable=False),
        sa.Column("identity_sha256", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("signer", sa.String(500), nullable=False),
        sa.Column("issuer", sa.String(300)),
        sa.Column("key_id", sa.String(64)),
        sa.Column("requires_tracer", sa.String(100), nullable=False),
        sa.Column("license", sa.String(200), nullable=False),
        sa.Column("entry_points", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("status_at", TZ),
        sa.Column("certification_level", sa.String(32), nullable=False),
        sa.Column("certification_report", sa.JSON),
        sa.Column("certification_expires_at", TZ),
        sa.Column("published_at", TZ, nullable=False),
        sa.UniqueConstraint("listing_name", "version"),
        sa.CheckConstraint("status IN ('active', 'yanked', 'quarantined', 'revoked')",
                           name="ck_release_status"),
    )
    op.create_table(
        "registry_tenant_policies",
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("min_level", sa.String(32), nullable=False),
    )
    op.create_table(
        "registry_installations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False,
                  index=True),
        sa.Column("listing_name", sa.String(128), sa.ForeignKey("registry_listings.name"),
                  nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("installed_at", TZ, nullable=False),
        sa.UniqueConstraint("tenant_id", "listing_name"),
    )


def downgrade() -> None:
    for table in ("registry_installations", "registry_tenant_policies", "registry_releases",
                  "registry_listings", "registry_publisher_keys", "registry_trusted_publishers",
                  "registry_publishers"):
        op.drop_table(table)
