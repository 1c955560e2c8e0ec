"""The ``tracer`` command line, run in-process on the workspace's plugins."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from tracer.cli import main

LOL = "esports/lol-10min"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def lol_rows():
    from tracer_esports.lol import load_reference

    return load_reference()


def test_plugins_lists_loaded_plugins_as_json(settings, capsys):
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    records = {r["name"]: r for r in json.loads(out)}
    assert records["esports-lol"]["status"] == "loaded"
    assert records["esports-lol"]["distribution"] == "tracer-esports"
    assert records["tracer.builtin.trainer"]["builtin"] is True


def test_domains_json_describes_each_template(settings, capsys):
    code, out, _ = run(capsys, "domains", "--json")
    assert code == 0
    lol = next(d for d in json.loads(out) if d["name"] == LOL)
    assert (lol["primary_metric"], lol["label"], lol["order_by"]) == ("accuracy", "blueWins",
                                                                     "gameId")


def test_train_predict_models_promote_rollback(settings, capsys, tmp_path, lol_rows):
    code, out, _ = run(capsys, "train", LOL, "--json")
    assert code == 0
    trained = json.loads(out)
    assert trained["version"] == 1 and trained["promoted"] is True

    sample = lol_rows.tail(25).drop(columns=["blueWins"])
    src = tmp_path / "games.csv"
    sample.to_csv(src, index=False)
    dest = tmp_path / "scored.csv"
    code, _, err = run(capsys, "predict", LOL, "--input", str(src), "--output", str(dest))
    assert code == 0 and "wrote 25 predictions" in err
    scored = pd.read_csv(dest)
    assert len(scored) == 25
    assert list(scored.columns[:5]) == ["probability", "label", "factor_1", "factor_2",
                                        "factor_3"]
    # one row per input row, in order: the gold leader is favoured row by row
    gold_lead = sample["blueGoldDiff"].to_numpy()
    strong = abs(gold_lead) > 3000
    assert ((scored["probability"].to_numpy()[strong] > 0.5) == (gold_lead[strong] > 0)).all()

    code, out, _ = run(capsys, "predict", LOL, "--input", str(src), "--json", "--top", "2")
    answers = json.loads(out)
    assert len(answers) == 25 and len(answers[0]["factors"]) == 2
    assert answers[0]["model"]["version"] == 1

    code, out, _ = run(capsys, "train", LOL)
    # the leaderboard, the refit champion and its decision, in that order
    board, served, decision = (out.index("Candidates: time-aware cross-validation"),
                               out.index("served: "), out.index("kept champion: champion v1"))
    assert board < served < decision
    assert "XGBoost" in out and "trainer" in out and "winner: " in out
    assert "refit on all 7,903 records (version 2)" in out
    code, out, _ = run(capsys, "models", LOL, "--leaderboard", "--json")
    boards = json.loads(out)
    assert list(boards) == ["esports.lol-10min v1"]
    assert boards["esports.lol-10min v1"]["winner"] == trained["extras"]["winner"]
    code, out, _ = run(capsys, "models", LOL, "--leaderboard", "--version", "2")
    assert code == 0 and "v2: candidate leaderboard" in out and "window" in out
    code, out, _ = run(capsys, "models", LOL, "--json")
    versions = {v["version"]: v for v in json.loads(out)}
    assert set(versions) == {1, 2}
    assert "challenger" in versions[2]["aliases"]

    code, out, _ = run(capsys, "promote", LOL, "2")
    assert code == 0 and "version 2 is now the champion" in out
    code, out, _ = run(capsys, "rollback", LOL)
    assert code == 0 and "version 1 is the champion again" in out


@pytest.mark.parametrize(("args", "message"), [
    (["train", "nope/nothing"], "error: unknown domain 'nope/nothing'"),
    (["predict", LOL, "--input", "missing.csv"], "error: missing.csv: no such file"),
    (["promote", LOL, "7"], "error: model esports.lol-10min has no version 7"),
])
def test_bad_commands_exit_1_with_one_line(settings, capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert "Traceback" not in out + err


def test_predict_reports_row_and_column_of_bad_records(settings, capsys, tmp_path, lol_rows):
    run(capsys, "train", LOL)
    bad = lol_rows.head(5).drop(columns=["blueWins"])
    bad["blueKills"] = bad["blueKills"].astype(object)
    bad.loc[2, "blueKills"] = "lots"
    src = tmp_path / "bad.csv"
    bad.to_csv(src, index=False)
    code, _, err = run(capsys, "predict", LOL, "--input", str(src))
    assert code == 1
    assert "bad.csv: row 3, column 'blueKills': 'lots' is not a number" in err


def test_help_lists_every_core_command(settings, capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("plugins", "domains", "train", "predict", "models", "promote", "rollback",
                    "demo"):
        assert command in out


def test_train_takes_cost_overrides_and_refuses_unknown_keys(settings, capsys):
    from tracer.cli.lifecycle import parse_costs
    from tracer.errors import ValidationError

    assert parse_costs(["false_positive=2", "currency=EUR"]) == {"false_positive": 2.0,
                                                                 "currency": "EUR"}
    code, _, err = run(capsys, "train", LOL, "--cost", "review=2")
    assert code == 1 and "--cost 'review=2': use KEY=VALUE with KEY one of" in err
    with pytest.raises(ValidationError, match="'lots' is not a number"):
        parse_costs(["false_positive=lots"])
