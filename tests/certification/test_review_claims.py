"""Review: only the reviewer holding the claim approves or rejects, and reading the
statement has no side effect. The report here is a passing one stored as the validator
stores it (the review service does not care how it was produced), so no sandbox runs."""

# ruff: noqa: F811 -- pytest fixtures imported from the review tests are test arguments here
from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from tracer.db import session
from tracer.errors import ConflictError, ForbiddenError
from tracer_registry.certify import review as service
from tracer_registry.certify.models import CertificationApproval, CertificationReview
from tracer_registry.certify.report import CheckResult, Report

from tests.certification.build import FIXTURES, build_wheel
from tests.certification.test_certification_review import platform_db, reviewers  # noqa: F401


@pytest.fixture
def queued(platform_db, tmp_path):
    wheel = build_wheel(FIXTURES / "benign", tmp_path)
    data = wheel.read_bytes()
    report = Report(plugin="tracer-certsample", version="1.0.0", wheel=wheel.name,
                    wheel_sha256=hashlib.sha256(data).hexdigest(), policy_version="test",
                    tracer_version="0", checks=[CheckResult("conformance", "passed", "error",
                                                            "the conformance suite passed")])
    with session(platform_db) as s:
        return service.submit(s, platform_db, report, data).id


def _row(settings, review_id):
    with session(settings) as s:
        row = service.get_review(s, review_id)
        approvals = s.query(CertificationApproval).filter_by(review_id=review_id).count()
        return row.status, row.claimed_by, row.statement, row.notes, approvals


def test_only_the_claimer_approves_or_rejects(platform_db, queued, reviewers):
    with session(platform_db) as s:
        service.claim(s, queued, "ada")
    before = _row(platform_db, queued)
    with session(platform_db) as s, pytest.raises(ForbiddenError, match="claimed by ada"):
        service.reject(s, queued, "grace", "I did not claim this but reject it anyway")
    with session(platform_db) as s, pytest.raises(ForbiddenError, match="claimed by ada"):
        service.approve_with_key(s, platform_db, queued, "grace", reviewers["grace"])
    assert _row(platform_db, queued) == before  # nothing stored changed
    with session(platform_db) as s:
        service.approve_with_key(s, platform_db, queued, "ada", reviewers["ada"])
    status, claimed_by, _, _, approvals = _row(platform_db, queued)
    assert (status, claimed_by, approvals) == ("queued", None, 1)
    with session(platform_db) as s, pytest.raises(ConflictError, match="already approved"):
        service.claim(s, queued, "ada")
    with session(platform_db) as s:
        service.claim(s, queued, "grace")
        service.approve_with_key(s, platform_db, queued, "grace", reviewers["grace"])
    assert _row(platform_db, queued)[0] == "approved"


def test_reading_the_statement_has_no_side_effect(platform_db, queued):
    with session(platform_db) as s, pytest.raises(ConflictError, match="fixed when a reviewer "
                                                                        "claims it"):
        service.statement(s, queued)
    assert _row(platform_db, queued)[2] is None
    with session(platform_db) as s:
        service.claim(s, queued, "ada")
    fixed = _row(platform_db, queued)[2]
    with session(platform_db) as s:
        assert service.statement(s, queued) == fixed
    assert _row(platform_db, queued)[2] == fixed


def test_over_http_another_reviewer_cannot_reject_and_get_statement_changes_nothing(
        platform_db, queued):
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from tracer.errors import TracerError
    from tracer.tenancy import issue_key
    from tracer_registry.certify.api import router

    app = FastAPI()  # the certification routes as the platform mounts them
    app.state.settings = platform_db
    app.include_router(router)
    app.add_exception_handler(TracerError, lambda request, exc: JSONResponse(
        exc.problem(), status_code=exc.status))
    with session(platform_db) as s:
        ada = issue_key(s, "reviewer", subject="ada")[1]
        grace = issue_key(s, "reviewer", subject="grace")[1]
    client = TestClient(app)
    headers = {name: {"Authorization": f"Bearer {key}"} for name, key in
               (("ada", ada), ("grace", grace))}
    url = f"/v1/certification/reviews/{queued}"
    read = client.get(f"{url}/statement", headers=headers["grace"])
    assert read.status_code == 409 and _row(platform_db, queued)[2] is None
    assert client.post(f"{url}/claim", headers=headers["ada"]).status_code == 200
    fixed = _row(platform_db, queued)
    for _ in range(2):
        assert client.get(f"{url}/statement", headers=headers["grace"]).json()[
            "statement"] == fixed[2]
    refused = client.post(f"{url}/reject", headers=headers["grace"],
                          json={"notes": "not mine, rejecting anyway"})
    assert refused.status_code == 403 and "claimed by ada" in refused.json()["detail"]
    assert _row(platform_db, queued) == fixed
    with session(platform_db) as s:
        assert s.get(CertificationReview, queued).status == "claimed"
