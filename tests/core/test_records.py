"""Record validation follows the pydantic schema and says where each problem is."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import pytest
from pydantic import BaseModel, Field
from tracer.errors import LabelError, ValidationError
from tracer.records import read_table, validate_records

from tests.core.toy import make_frame, toy_domain


class Draft(BaseModel):
    side: Literal[-1, 0, 1]
    rating: float | None = Field(default=None, le=3000)
    name: str


def draft_domain():
    return toy_domain(record=Draft)


def test_valid_records_come_back_typed():
    records, labels = validate_records(toy_domain(), make_frame(20), require_label=True)
    assert list(records.columns) == ["signal", "count", "noise", "seq"]
    assert records["count"].dtype == "float64"
    assert labels.dtype == "int8" and set(labels) <= {0, 1}


def test_literal_optional_and_bounds():
    frame = pd.DataFrame({"side": [1, 2, -1], "rating": [None, 3500.0, 10.0],
                          "name": ["a", "b", "c"]})
    with pytest.raises(ValidationError) as info:
        validate_records(draft_domain(), frame, source="picks.csv")
    problems = info.value.details["errors"]
    assert {"row": 2, "column": "side", "message": "2 is not one of [-1, 0, 1]"} in problems
    assert {"row": 2, "column": "rating", "message": "3500 is not <= 3000"} in problems
    assert len(problems) == 2  # the missing optional rating in row 1 is fine


def test_many_problems_are_capped_and_counted():
    frame = make_frame(100)
    frame["count"] = -1
    with pytest.raises(ValidationError) as info:
        validate_records(toy_domain(), frame)
    assert len(info.value.details["errors"]) == 20
    assert "(and 17 more)" in str(info.value)


def test_missing_values_in_required_columns():
    frame = make_frame(5)
    frame.loc[3, "noise"] = None
    with pytest.raises(ValidationError, match=r"row 4, column 'noise': missing value"):
        validate_records(toy_domain(), frame)


def test_whole_numbers_required_for_int_fields():
    frame = make_frame(5)
    frame["count"] = frame["count"].astype(float)
    frame.loc[1, "count"] = 2.5
    with pytest.raises(ValidationError, match=r"row 2, column 'count': 2.5 is not a whole number"):
        validate_records(toy_domain(), frame)


def test_labels_with_three_values_are_refused():
    frame = make_frame(9)
    frame["outcome"] = [0, 1, 2] * 3
    with pytest.raises(LabelError, match="has 3 distinct values"):
        validate_records(toy_domain(), frame, require_label=True)


def test_positive_label_maps_other_values_to_zero():
    frame = make_frame(6)
    frame["outcome"] = [1, -1, 1, -1, -1, 1]
    _, labels = validate_records(toy_domain(), frame, require_label=True)
    assert labels.tolist() == [1, 0, 1, 0, 0, 1]


def test_read_table_reads_csv_gzip_and_parquet(tmp_path):
    frame = make_frame(10)
    frame.to_csv(tmp_path / "a.csv.gz", index=False)
    frame.to_parquet(tmp_path / "a.parquet")
    assert read_table(tmp_path / "a.csv.gz").shape == (10, 5)
    assert read_table(tmp_path / "a.parquet").shape == (10, 5)
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValidationError, match="broken.parquet: cannot read the file"):
        read_table(tmp_path / "broken.parquet")
