"""The CLI on hostile input (issue 18): one-line errors and exit 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.core.test_cli import LOL, lol_rows, run  # noqa: F401 -- lol_rows is a fixture


def test_predict_output_that_cannot_be_written(settings, capsys, tmp_path, lol_rows):  # noqa: F811
    src = tmp_path / "games.csv"
    lol_rows.head(3).drop(columns=["blueWins"]).to_csv(src, index=False)
    (tmp_path / "a-file").write_text("")
    for output, words in ((tmp_path, "is a directory"),
                          (tmp_path / "missing" / "out.csv", "no such directory"),
                          (tmp_path / "a-file" / "out.csv", "no such directory"),
                          # a directory where no file can be created, whoever runs this
                          (Path("/proc/tracer-output.csv"), "cannot write")):
        code, out, err = run(capsys, "predict", LOL, "--input", str(src), "--output",
                             str(output))
        assert code == 1 and words in err and "Traceback" not in err + out
        assert len(err.strip().splitlines()) == 1


def test_predict_input_with_infinite_or_huge_numbers(settings, capsys, tmp_path,
                                                     lol_rows):  # noqa: F811
    run(capsys, "train", LOL)
    for token in ("inf", "1" * 400, "1e309"):
        bad = lol_rows.head(5).drop(columns=["blueWins"]).astype(object)
        bad.loc[3, "blueTotalGold"] = token
        src = tmp_path / "bad.csv"
        bad.to_csv(src, index=False)
        code, out, err = run(capsys, "predict", LOL, "--input", str(src))
        assert code == 1, (token, err)
        assert "row 4, column 'blueTotalGold'" in err and "finite number" in err
        assert "Traceback" not in err + out
