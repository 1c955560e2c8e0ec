"""The text content of each tool answer, for clients (and models) that read no structured
content: the answer in sentences, then the structured content itself as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from mcp_types import ContentBlock, TextContent

if TYPE_CHECKING:
    from tracer.errors import TracerError

#: answers of a batch spelled out in the text; the JSON block carries every one
SHOWN = 10


def contents(text: str, structured: dict[str, Any]) -> list[ContentBlock]:
    return [TextContent(type="text", text=text),
            TextContent(type="text", text=orjson.dumps(structured).decode())]


def _answer(answer: dict[str, Any], outcome: str) -> str:
    lines = [f"{answer['model']['domain']}: probability {answer['probability']:.3f} that "
             f"{outcome} (label {answer['label']} at threshold {answer['threshold']:.3f}; "
             f"base rate {answer['base_rate']:.3f})."]
    if answer.get("summary"):
        lines.append(answer["summary"])
    lines += [f"- {f['sentence']} ({f['direction']}, {f['contribution']:+.3f} log-odds)"
              for f in answer.get("factors") or []]
    lines.append(f"prediction_id {answer['prediction_id']} · model {answer['model']['name']} "
                 f"version {answer['model']['version']}")
    return "\n".join(lines)


def predictions(response: dict[str, Any], outcome: str) -> str:
    answers = response["predictions"]
    parts = [_answer(a, outcome) for a in answers[:SHOWN]]
    if len(answers) > SHOWN:
        parts.append(f"… and {len(answers) - SHOWN} more answers (all of them are in the "
                     "structured content, in the order sent).")
    over = response.get("overage") or 0
    parts.append(f"{response['count']} prediction(s) metered"
                 + (f", {over} above the monthly allowance." if over else "."))
    return "\n\n".join(parts)


def explanation(answer: dict[str, Any], outcome: str) -> str:
    text = _answer(answer, outcome)
    reported = answer.get("outcome")
    return text + ("\nNo outcome reported yet." if reported is None else
                   f"\nReported outcome: {reported}.")


def reported(answer: dict[str, Any]) -> str:
    jobs = answer["retraining_jobs"]
    text = (f"Recorded {answer['recorded']} outcome(s)"
            + (f"; {answer['repeats']} already reported with the same value" if
               answer["repeats"] else "") + ".")
    return text + (f" Retraining started: job {', '.join(jobs)}." if jobs else "")


def what_if(answer: dict[str, Any]) -> str:
    lines = [answer["summary"]] if not answer["changes"] else [
        f"{answer['domain']}: probability {answer['probability']:.3f}, label "
        f"{answer['label']} at threshold {answer['threshold']:.3f}. Changes that flip it, "
        "smallest first:"]
    lines += [f"- {c['sentence']}" for c in answer["changes"]]
    lines.append(f"prediction_id {answer['prediction_id']} · {answer['records_scored']} "
                 f"edited records scored over {answer['fields_searched']} fields")
    return "\n".join(lines)


def domains(answer: dict[str, Any]) -> str:
    if not answer["domains"]:
        return ("No domain is enabled for this key's tenant: install and enable one "
                "(POST /v1/domains/{domain}/install, then /enable).")
    lines = []
    for d in answer["domains"]:
        if d["model"] is None:
            lines.append(f"- {d['domain']} ({d['tool']}): {d['title']}; no champion yet, "
                         "train one first (POST /v1/domains/{domain}/jobs).")
            continue
        cal = d["calibration"] or {}
        ece = cal.get("ece")
        lines.append(f"- {d['domain']} ({d['tool']}): probability that {d['outcome']}; "
                     f"model version {d['model']['version']}, {d['primary_metric']} "
                     f"{_num(d['metric'])} on held-out data, calibration error (ECE) "
                     f"{_num(ece)}.")
    return "\n".join(lines)


def error(exc: TracerError) -> str:
    return f"{exc.title} ({exc.status}): {exc.message}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
