"""Alembic environment of the ledger tree (run by ``tracer.db.upgrade`` via the hook)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection,
                  version_table=context.config.attributes.get("version_table",
                                                              "alembic_version_ledger"),
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
