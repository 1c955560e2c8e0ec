"""API keys: a cap on active keys per holder, bounded names without control characters.

Each refusal leaves the stored keys as they were.
"""

from __future__ import annotations

import pytest
from tracer.db import session
from tracer.errors import ConflictError, ValidationError
from tracer.models import ApiKey
from tracer.settings import ApiSettings
from tracer.tenancy import create_tenant, issue_key, revoke_key

MAX_ACTIVE_KEYS = ApiSettings.model_fields["max_active_keys"].default


@pytest.fixture
def tenant(db):
    with session(db) as s:
        create_tenant(s, "t1", "Tenant One", "starter", db.tiers)
    return db


def _count(settings) -> int:
    with session(settings) as s:
        return s.query(ApiKey).count()


def test_a_tenant_holds_at_most_the_cap_of_active_keys_and_revoking_frees_one(tenant):
    with session(tenant) as s:
        keys = [issue_key(s, "tenant", tenant_id="t1", name=f"k{i}")[0].id
                for i in range(MAX_ACTIVE_KEYS)]
    with pytest.raises(ConflictError, match=f"the most allowed \\({MAX_ACTIVE_KEYS}\\)"), \
            session(tenant) as s:
        issue_key(s, "tenant", tenant_id="t1", name="one too many")
    assert _count(tenant) == MAX_ACTIVE_KEYS
    with session(tenant) as s:
        revoke_key(s, keys[0], tenant_id="t1")
        issue_key(s, "tenant", tenant_id="t1", name="after a revoke")
    assert _count(tenant) == MAX_ACTIVE_KEYS + 1


def test_the_cap_counts_per_holder_for_people_keys_too(db):
    with session(db) as s:
        for _ in range(MAX_ACTIVE_KEYS):
            issue_key(s, "reviewer", subject="ada")
        issue_key(s, "reviewer", subject="grace")  # another holder is not affected
    with pytest.raises(ConflictError), session(db) as s:
        issue_key(s, "reviewer", subject="ada")


@pytest.mark.parametrize("name, why", [
    ("x" * 101, "at most 100 characters"),
    ("laptop\nadmin key issued", "U+000A"),
    ("ops\x1b[2Jkey", "U+001B"),
    ("invoice\u202egpj.exe", "U+202E"),
])
def test_key_names_are_bounded_and_free_of_control_characters(tenant, name, why):
    with pytest.raises(ValidationError, match=why.replace("+", "\\+")), session(tenant) as s:
        issue_key(s, "tenant", tenant_id="t1", name=name)
    assert _count(tenant) == 0
    with session(tenant) as s:  # an ordinary name of the longest length is fine
        issue_key(s, "tenant", tenant_id="t1", name="é" * 100)
