"""A publisher's payout statement as CSV, JSON and an HTML page with its earnings chart.

Amounts stay integers of minor units in CSV and JSON (with the currency's exponent beside
them); only the HTML page formats them for people.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import defaultdict
from typing import TYPE_CHECKING

from tracer_registry.ledger.statements import TOTALS, verify

if TYPE_CHECKING:
    from tracer_registry.ledger.models import Statement

CSV_FIELDS = ("period", "entry", "transaction", "kind", "domain", "line", "effective_at",
              "gross", "fee", "amount", "currency")


def as_json(row: Statement) -> str:
    return json.dumps({"statement": row.body, "content_hash": row.content_hash,
                       "hash_verified": verify(row)}, indent=2, sort_keys=True)


def as_csv(row: Statement) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for line in row.body["lines"]:
        writer.writerow({"period": row.period, "entry": line["entry"],
                         "transaction": line["transaction"], "kind": line["kind"],
                         "domain": line["domain"] or "", "line": line["line"] or "",
                         "effective_at": line["effective_at"], "gross": line.get("gross", ""),
                         "fee": line.get("fee", ""), "amount": line["amount"],
                         "currency": row.currency})
    for name in ("opening", *TOTALS, "closing"):
        writer.writerow({"period": row.period, "kind": f"total:{name}",
                         "amount": row.body[name], "currency": row.currency})
    return out.getvalue()


def money(amount: int, exponent: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10 ** exponent)
    text = f"{whole:,}" + (f".{frac:0{exponent}d}" if exponent else "")
    return f"{sign}{text} {currency}"


def earnings_by_domain(history: list[Statement]) -> dict[str, dict[str, int]]:
    """{period: {domain: publisher earnings (share minus refunds) in minor units}}."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in history:
        for line in row.body["lines"]:
            if line["domain"]:
                table[row.period][line["domain"]] += line["amount"]
    return {p: dict(d) for p, d in sorted(table.items())}


def chart_png(history: list[Statement], currency: str, exponent: int) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    table = earnings_by_domain(history)
    periods = list(table)
    domains = sorted({d for values in table.values() for d in values})
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    bottoms = [0.0] * len(periods)
    for domain in domains:
        # float only for drawing bars: the money itself never leaves integers
        heights = [table[p].get(domain, 0) / 10 ** exponent for p in periods]
        ax.bar(periods, heights, bottom=bottoms, label=domain)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_title("Earnings by domain and month")
    ax.set_ylabel(currency)
    ax.axhline(0, color="black", linewidth=0.6)
    if domains:
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def as_html(row: Statement, history: list[Statement], publisher_name: str | None = None) -> str:
    body, cur, exp = row.body, row.currency, row.body["exponent"]
    png = base64.b64encode(chart_png([h for h in history if h.currency == cur
                                      and h.period <= row.period], cur, exp)).decode()
    esc = html.escape
    summary = "".join(
        f"<tr><th>{esc(label)}</th><td>{money(sign * body[key], exp, cur)}</td></tr>"
        for label, key, sign in (("Opening balance", "opening", 1), ("Sales (net of tax)",
                                 "gross", 1), ("Platform commission", "fees", -1),
                                 ("Refunds", "refunds", -1), ("Chargebacks", "chargebacks", -1),
                                 ("Adjustments", "adjustments", 1), ("Payouts", "payouts", -1),
                                 ("Closing balance", "closing", 1)))
    lines = "".join(
        f"<tr><td>{esc(line['effective_at'][:10])}</td><td>{esc(line['kind'])}</td>"
        f"<td>{esc(line['domain'] or '')}</td>"
        f"<td>{money(line['gross'], exp, cur) if 'gross' in line else ''}</td>"
        f"<td>{money(-line['fee'], exp, cur) if 'fee' in line else ''}</td>"
        f"<td>{money(line['amount'], exp, cur)}</td><td>{line['entry']}</td></tr>"
        for line in body["lines"])
    who = esc(publisher_name or row.publisher_id)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Payout statement {esc(row.publisher_id)} {esc(row.period)} {esc(cur)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}}
table{{border-collapse:collapse}}td,th{{padding:.2rem .8rem;text-align:right;
border-bottom:1px solid #ddd}}th{{text-align:left}}</style></head>
<body>
<h1>Payout statement — {who}</h1>
<p>Period <strong>{esc(row.period)}</strong>, currency <strong>{esc(cur)}</strong>.
Commission rule(s): {esc(", ".join(body["rule_versions"]) or "none")}.</p>
<table>{summary}</table>
<h2>Earnings by domain and month</h2>
<img alt="Earnings by domain and month" src="data:image/png;base64,{png}">
<h2>Lines</h2>
<table><tr><th>Date</th><th>Kind</th><th>Domain</th><th>Sales</th><th>Commission</th>
<th>To you</th><th>Entry</th></tr>{lines}</table>
<p><small>Frozen at period close. Content hash (SHA-256): <code>{row.content_hash}</code>
</small></p>
</body></html>
"""
