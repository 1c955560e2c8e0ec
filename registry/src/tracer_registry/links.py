"""OpenAPI links of the registry's routes (see
``tracer.api.openapi_links``): how an answer's ids feed the next request, for clients, agents
and the stateful fuzzer. Search the catalog → read a listing → install it → read its
certification; create a publisher → register its key, domain prefix and trusted publisher;
publish → read the listing and the release's certification, or yank it.

Registered by the registry's ``tracer_routes`` hook (certification's are in
``certify/links.py``); a link whose target is not mounted is left out of the document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracer.api.openapi_links import Table

LISTING = "/v1/catalog/{name}"
CERTIFICATION = "/v1/certification/releases/{plugin}/{version}"
PUBLISHER = {"publisher_id": "$response.body#/id"}


def _release(at: str) -> dict[str, str]:
    """The plugin and version of a release named at the JSON pointer prefix ``at``."""
    return {"plugin": f"$response.body#{at}/{'name' if at else 'listing'}",
            "version": f"$response.body#{at}/version"}


REGISTRY: Table = {
    ("get", "/v1/catalog", "200"): [
        ("ReadListing", "get", LISTING, {"name": "$response.body#/0/name"}, None),
        ("Install", "post", "/v1/installs", {}, {"spec": "$response.body#/0/name"}),
        ("Certification", "get", CERTIFICATION, _release("/0"), None),
    ],
    ("get", LISTING, "200"): [
        ("InstallIt", "post", "/v1/installs", {}, {"spec": "$response.body#/name"}),
        ("Certification", "get", CERTIFICATION, {
            "plugin": "$response.body#/name", "version": "$response.body#/versions/0/version"},
         None),
    ],
    ("post", "/v1/installs", "201"): [
        ("ReadListing", "get", LISTING, {"name": "$response.body#/listing"}, None),
        ("Certification", "get", CERTIFICATION, _release(""), None),
    ],
    ("get", "/v1/installs/policy", "200"): [
        ("SetPolicy", "put", "/v1/installs/policy", {},
         {"min_level": "$response.body#/min_level"}),
    ],
    ("post", "/v1/publishers", "201"): [
        ("RegisterKey", "post", "/v1/publishers/{publisher_id}/keys", PUBLISHER, None),
        ("ClaimDomain", "post", "/v1/publishers/{publisher_id}/domains", PUBLISHER, None),
        ("TrustPublisher", "post", "/v1/publishers/{publisher_id}/trusted-publishers",
         PUBLISHER, None),
    ],
    ("post", "/v1/releases", "201"): [
        ("ReadListing", "get", LISTING, {"name": "$response.body#/listing"}, None),
        ("Certification", "get", CERTIFICATION, _release(""), None),
        ("Yank", "post", "/v1/releases/{name}/{version}/{action}", {
            "name": "$response.body#/listing", "version": "$response.body#/version",
            "action": "yank"}, {"reason": "yanked (linked)"}),
    ],
}
