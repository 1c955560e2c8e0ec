"""OpenAPI links of the ledger's routes (see ``tracer.api.openapi_links``): list the
statements → read one and its publisher's balance; list a tenant's invoices → read one;
record a payment → read the tenant's invoices."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracer.api.openapi_links import Table

FIRST = "$response.body#/0"

LEDGER: Table = {
    ("get", "/v1/payouts/statements", "200"): [
        ("ReadStatement", "get", "/v1/payouts/statements/{publisher}/{period}/{currency}", {
            "publisher": f"{FIRST}/publisher", "period": f"{FIRST}/period",
            "currency": f"{FIRST}/currency"}, None),
        ("Balance", "get", "/v1/payouts/balances/{publisher}/{currency}", {
            "publisher": f"{FIRST}/publisher", "currency": f"{FIRST}/currency"}, None),
    ],
    ("get", "/v1/invoices", "200"): [
        ("ReadInvoice", "get", "/v1/invoices/{period}", {
            "period": "$response.body#/invoices/0/period",
            "query.tenant": "$response.body#/tenant"}, None),
    ],
    ("post", "/v1/payments", "201"): [
        ("TenantInvoices", "get", "/v1/invoices", {"query.tenant": "$response.body#/tenant"},
         None),
    ],
    ("get", "/v1/payouts/report", "200"): [
        ("Reconcile", "get", "/v1/payouts/reconciliation", {}, None),
    ],
}
