"""Runner tests reuse the registry's fixtures (a migrated registry DB, publisher ``acme``)."""

from tests.registry.conftest import acme, publisher_key, registry_db  # noqa: F401
