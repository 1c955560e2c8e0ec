"""The registry's and the ledger's errors are kinds of core's hierarchy, rendered by core's
one problem handler with the status of their kind and a problem type of their own."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tracer.api.problems import install_handlers
from tracer.errors import ConflictError, InvalidError, TracerError
from tracer_registry.errors import CertificationError, RegistryError
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.verify.refusal import Refusal


@pytest.mark.parametrize(("error", "kind", "status", "slug"), [
    (RegistryError("blob sha256:ab is corrupt on disk"), InvalidError, 400, "registry"),
    (Refusal("digest", "the wheel differs from its bundle"), InvalidError, 400, "registry"),
    (CertificationError("attestation is not JSON"), InvalidError, 400, "certification"),
    (LedgerError("period 2026-06 is already closed"), ConflictError, 409, "ledger"),
])
def test_registry_error_answers_with_its_kinds_status(error, kind, status, slug):
    assert isinstance(error, kind) and isinstance(error, TracerError)
    app = FastAPI()
    install_handlers(app)

    @app.get("/v1/thing")
    def thing():
        raise error

    answer = TestClient(app).get("/v1/thing")
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == f"https://tracer.dev/problems/{slug}"
    assert body["detail"] == str(error) and body["instance"] == "/v1/thing"


def test_core_knows_no_registry_error():
    from tracer import errors

    assert not hasattr(errors, "RegistryError")
    assert not hasattr(errors, "CertificationError")
    assert not hasattr(errors, "LedgerError")
