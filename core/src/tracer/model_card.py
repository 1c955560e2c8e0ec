"""The model card: a markdown page that states what a model version is and how good it is."""

from __future__ import annotations

from typing import Any

from tracer.domain import HIGHER_IS_BETTER, Domain

SHOWN = ("accuracy", "roc_auc", "auprc", "log_loss", "brier")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def metric_table(primary: str, model: dict[str, float], baselines: dict[str, dict[str, float]],
                 extra: tuple[str, ...] = ()) -> str:
    names = [primary, *[m for m in (*SHOWN, *extra) if m != primary]]
    header = "| metric | model | " + " | ".join(baselines) + " |"
    rule = "|---" * (2 + len(baselines)) + "|"
    lines = [header, rule]
    for name in names:
        arrow = "↑" if HIGHER_IS_BETTER.get(name, True) else "↓"
        label = f"**{name}** {arrow}" if name == primary else f"{name} {arrow}"
        cells = [_fmt(model.get(name)), *(_fmt(b.get(name)) for b in baselines.values())]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    ci = [f"[{model[f'{primary}_ci_low']:.4f}, {model[f'{primary}_ci_high']:.4f}]"]
    ci += [f"[{b[f'{primary}_ci_low']:.4f}, {b[f'{primary}_ci_high']:.4f}]"
           for b in baselines.values()]
    lines.append(f"| {primary} 95 % CI | " + " | ".join(ci) + " |")
    return "\n".join(lines)


def render_model_card(domain: Domain, name: str, metrics: dict[str, float],
                      interval: tuple[float, float], baselines: dict[str, dict[str, float]],
                      model: Any, rows: dict[str, int], source: str, decision: str,
                      extras: dict[str, Any]) -> str:
    primary = domain.primary_metric
    target = domain.certification_threshold
    reached = (metrics[primary] >= target) if HIGHER_IS_BETTER[primary] else (
        metrics[primary] <= target)
    lines = [
        f"# Model card: {name}",
        "",
        f"**Domain** `{domain.name}` {domain.version} — {domain.title}. Predicts the "
        f"probability that {domain.outcome}.",
        "",
        f"**Data**: {source}; {sum(rows.values()):,} records ordered by `{domain.order_by}`. "
        f"Trained on the earliest {rows['fit']:,}, calibrated on the next "
        f"{rows['calibration']:,}, evaluated on the latest {rows['evaluation']:,} "
        "(time-aware split, nothing random).",
        "",
        f"## Held-out evaluation ({primary} is the primary metric; certification "
        f"threshold {target})",
        "",
        metric_table(primary, metrics, baselines, domain.extra_metrics),
        "",
        f"Primary metric {metrics[primary]:.4f}, 95 % bootstrap interval "
        f"[{interval[0]:.4f}, {interval[1]:.4f}]; certification threshold {target} "
        f"{'reached' if reached else 'not reached'}.",
        "",
        "## Calibration",
        "",
        f"Expected calibration error {metrics['ece']:.4f} after Platt scaling on the "
        f"calibration part (before: {metrics['ece_uncalibrated']:.4f}). Base rate in training "
        f"data: {model.base_rate:.4f}.",
        "",
        "## Decision",
        "",
    ]
    if "costs" in extras:
        c = extras["costs"]
        fn = f"the value of `{c['false_negative_column']}`" if c["false_negative_column"] else (
            f"{c['false_negative']:.2f} {c['currency']}")
        lines += [
            f"Threshold {model.threshold:.4f}, chosen to minimise expected cost on the "
            f"calibration part: a false alarm costs {c['false_positive']:.2f} {c['currency']}, "
            f"a missed event costs {fn}.",
            f"Expected cost on the evaluation part: {metrics['expected_cost']:,.2f} "
            f"{c['currency']} (never acting: {metrics['expected_cost_never_act']:,.2f}; the best "
            f"threshold in hindsight: {metrics['expected_cost_best_possible_threshold']:,.2f}).",
        ]
    else:
        lines.append(f"Label threshold {model.threshold:.2f} on the calibrated probability.")
    lines += ["", "## Promotion", "", decision, ""]
    return "\n".join(lines)
