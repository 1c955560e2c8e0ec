"""OpenAPI links of the certification routes (see ``tracer.api.openapi_links``): read the
reviewer queue → read or claim a review → read the statement to sign, or reject it; read a
release's certification → its attestation and its review."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracer.api.openapi_links import Table

CERTIFICATION = "/v1/certification/releases/{plugin}/{version}"
REVIEW = "/v1/certification/reviews/{review_id}"

CERTIFY: Table = {
    ("get", "/v1/certification/queue", "200"): [
        ("ReadReview", "get", REVIEW, {"review_id": "$response.body#/0/id"}, None),
        ("ClaimReview", "post", REVIEW + "/claim", {"review_id": "$response.body#/0/id"},
         None),
    ],
    ("post", REVIEW + "/claim", "200"): [
        ("Statement", "get", REVIEW + "/statement", {"review_id": "$response.body#/id"}, None),
        ("Reject", "post", REVIEW + "/reject", {"review_id": "$response.body#/id"},
         {"notes": "rejected (linked)"}),
    ],
    ("get", REVIEW, "200"): [
        ("Statement", "get", REVIEW + "/statement", {"review_id": "$request.path.review_id"},
         None),
    ],
    ("get", CERTIFICATION, "200"): [
        ("Attestation", "get", CERTIFICATION + "/attestation", {
            "plugin": "$request.path.plugin", "version": "$request.path.version"}, None),
        ("ReadReview", "get", REVIEW, {"review_id": "$response.body#/review"}, None),
    ],
}
