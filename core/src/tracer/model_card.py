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


def comparison_lines(primary: str, baselines: dict[str, dict[str, float]]) -> list[str]:
    """One line per baseline: the model's paired difference to it, with its interval."""
    out = []
    for label, b in baselines.items():
        if f"{primary}_model_minus" not in b:
            continue
        low, high = b[f"{primary}_model_minus_low"], b[f"{primary}_model_minus_high"]
        better = HIGHER_IS_BETTER[primary]
        verdict = ("better beyond noise" if (low > 0 if better else high < 0) else
                   "worse beyond noise" if (high < 0 if better else low > 0) else
                   "not distinguishable from it")
        out.append(f"- vs {label}: {b[f'{primary}_model_minus']:+.4f} [{low:+.4f}, "
                   f"{high:+.4f}], {verdict}")
    return out


def render_model_card(domain: Domain, name: str, metrics: dict[str, float],
                      interval: tuple[float, float], baselines: dict[str, dict[str, float]],
                      model: Any, rows: dict[str, Any], source: str, decision: str,
                      extras: dict[str, Any], board: Any = None) -> str:
    from tracer.selection import leaderboard_markdown

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
        f"**Data**: {source}; {rows['served']:,} records ordered by `{domain.order_by}`. "
        f"Candidates were compared on the earliest {rows['training']:,} (the training part), "
        f"the winner and the baselines were fitted on them and scored on the latest "
        f"{rows['evaluation']:,} (time-aware split, nothing random, nothing chosen on them). "
        f"The served model is **{extras.get('winner', '?')}** ({model.kind}) refit on all "
        f"{rows['served']:,} records.",
        "",
    ]
    if "by_source" in rows:  # a tenant's challenger: where its rows came from
        parts = rows["by_source"]
        lines += ["**Rows by source** (training / evaluation): " + ", ".join(
            f"{src} {parts['training'][src]:,} / {parts['evaluation'][src]:,}"
            for src in parts["training"]) + f". Rule: {rows['evaluation_rule']}.", ""]
    if board is not None:
        lines += [
            "## Leaderboard (time-aware cross-validation on the training part)",
            "",
            f"{len(board.windows)} expanding windows; out-of-fold probabilities, Platt-scaled "
            "per candidate. Rule: best mean primary metric; within one standard error, the "
            "lowest log-loss; within one standard error of that, the simplest.",
            "",
            leaderboard_markdown(board),
            "",
            f"Winner: {board.reason}.",
            "",
        ]
    lines += [
        f"## Held-out evaluation ({primary} is the primary metric; certification "
        f"threshold {target})",
        "",
        metric_table(primary, metrics, baselines, domain.extra_metrics),
        "",
        f"Primary metric {metrics[primary]:.4f}, 95 % bootstrap interval "
        f"[{interval[0]:.4f}, {interval[1]:.4f}]; certification threshold {target} "
        f"{'reached' if reached else 'not reached'}. Paired bootstrap differences "
        f"(model − baseline, 95 %) on the same {rows['evaluation']:,} records:",
        "",
        *comparison_lines(primary, baselines),
        "",
        "## Calibration",
        "",
        f"Platt scaling fitted on out-of-fold margins only. Expected calibration error on the "
        f"held-out part {metrics['ece']:.4f} (before scaling: "
        f"{metrics['ece_uncalibrated']:.4f}); the served model on its out-of-fold "
        f"predictions: {metrics.get('ece_out_of_fold', float('nan')):.4f}. Base rate in "
        f"training data: {model.base_rate:.4f}.",
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
            f"out-of-fold predictions: a false alarm costs {c['false_positive']:.2f} "
            f"{c['currency']}, a missed event costs {fn}.",
            f"Expected cost on the evaluation part: {metrics['expected_cost']:,.2f} "
            f"{c['currency']} (never acting: {metrics['expected_cost_never_act']:,.2f}; the best "
            f"threshold in hindsight: {metrics['expected_cost_best_possible_threshold']:,.2f}).",
        ]
    else:
        lines.append(f"Label threshold {model.threshold:.2f} on the calibrated probability.")
    lines += ["", "## Promotion", "", decision, ""]
    return "\n".join(lines)
