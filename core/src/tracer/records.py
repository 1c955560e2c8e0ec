"""Reading record files and validating records against a domain's schema.

Validation is vectorised over the whole frame (a 90k-row file validates in well under a
second) but follows the pydantic record model: its fields, their types, ``Literal``
choices and ``Field`` bounds. Every problem is reported with its row and column; the
message names the source (a file path, or ``records`` for an API body).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from annotated_types import Ge, Gt, Le, Lt

from tracer.errors import LabelError, ValidationError

if typing.TYPE_CHECKING:
    from tracer.domain import Domain

MAX_REPORTED = 20
#: The largest magnitude any record number may have, whatever its field declares: beyond
#: it float64 (what models score) no longer holds integers exactly, and a 400-digit
#: integer or ``1e309`` is a client's mistake, not a measurement.
NUMBER_LIMIT = 1e15


@dataclass(frozen=True)
class Problem:
    row: int | None  # 1-based record number, None for the whole column/file
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (optionally gzip-compressed) or Parquet file, with one-line errors."""
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"{path}: no such file", source=str(path))
    if path.stat().st_size == 0:
        raise ValidationError(f"{path}: the file is empty", source=str(path))
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise ValidationError(f"{path}: the file is empty", source=str(path)) from None
    except Exception as exc:  # noqa: BLE001 -- any parser failure is bad input; its message has the line
        raise ValidationError(f"{path}: cannot read the file: {exc}".strip(),
                              source=str(path)) from None


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(underlying type, optional?) for a field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner, _ = _base_type(args[0]) if len(args) == 1 else (object, False)
        return inner, True
    if origin is typing.Annotated:
        return _base_type(typing.get_args(annotation)[0])
    return annotation, False


def _show(value: Any) -> str:
    """A cell as the user wrote it: 2.5, 'lots' (never np.float64(2.5))."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _short(value: Any) -> str:
    text = _show(value)
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} characters)"


def _to_numeric(column: pd.Series) -> pd.Series:
    """Numbers of a column, NaN where a cell is not one; an integer too large for float64
    (a 400-digit cell) becomes ``inf``, refused by the caller like any infinity."""
    try:
        return pd.to_numeric(column, errors="coerce")
    except OverflowError:
        return pd.to_numeric(column.map(_float_or_inf), errors="coerce")


def _float_or_inf(value: Any) -> Any:
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return float("inf")
    return value


def _check_column(name: str, field: Any, column: pd.Series,
                  problems: list[Problem]) -> pd.Series:
    kind, optional = _base_type(field.annotation)
    optional = optional or not field.is_required()
    missing = column.isna()
    if missing.any() and not optional:
        for row in np.flatnonzero(missing.to_numpy())[:MAX_REPORTED]:
            problems.append(Problem(int(row) + 1, name, "missing value"))
    if typing.get_origin(kind) is typing.Literal:
        allowed = typing.get_args(kind)
        bad = ~column.isin(allowed) & ~missing
        for row in np.flatnonzero(bad.to_numpy())[:MAX_REPORTED]:
            problems.append(Problem(int(row) + 1, name,
                                    f"{_show(column.iloc[row])} is not one of {list(allowed)}"))
        return column
    if kind is str:
        return column.astype("string")
    if kind in (int, float, bool):
        numeric = _to_numeric(column)
        bad = numeric.isna() & ~missing
        for row in np.flatnonzero(bad.to_numpy())[:MAX_REPORTED]:
            problems.append(Problem(int(row) + 1, name,
                                    f"{_show(column.iloc[row])} is not a number"))
        huge = ~(numeric.abs() <= NUMBER_LIMIT) & numeric.notna()
        for row in np.flatnonzero(huge.to_numpy())[:MAX_REPORTED]:
            problems.append(Problem(int(row) + 1, name, f"{_short(column.iloc[row])} is not "
                                    f"a finite number within ±{NUMBER_LIMIT:g}"))
        numeric = numeric.where(~huge)
        if kind in (int, bool):
            fractional = numeric.notna() & (numeric != np.floor(numeric.fillna(0)))
            for row in np.flatnonzero(fractional.to_numpy())[:MAX_REPORTED]:
                problems.append(Problem(int(row) + 1, name,
                                        f"{_show(column.iloc[row])} is not a whole number"))
        for meta in field.metadata:
            for cls, attr, op, word in ((Ge, "ge", np.less, ">="), (Gt, "gt", np.less_equal, ">"),
                                        (Le, "le", np.greater, "<="),
                                        (Lt, "lt", np.greater_equal, "<")):
                if isinstance(meta, cls):
                    bound = getattr(meta, attr)
                    out = op(numeric, bound) & numeric.notna()
                    for row in np.flatnonzero(out.to_numpy())[:MAX_REPORTED]:
                        problems.append(Problem(int(row) + 1, name,
                                                f"{numeric.iloc[row]:g} is not {word} {bound}"))
        return numeric.astype("float64")
    return column


def validate_records(domain: Domain, frame: pd.DataFrame, *, source: str = "records",
                     require_label: bool = False, require_order: bool = False,
                     first_row: int = 1, part: bool = False,
                     ) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Check ``frame`` against the domain's record schema.

    Returns the records (schema columns, plus the ordering column when present) with
    numeric columns as float64, and the 0/1 labels when ``require_label``. Raises one
    ``ValidationError`` listing up to 20 problems with their rows and columns.

    An upload is checked in chunks (``part``: one chunk of a file, whose rows are numbered
    from ``first_row``): a chunk may hold one class only; the caller checks the classes
    of the whole file (:func:`tracer.datasets.store_dataset`).
    """
    if frame is None or len(frame) == 0:
        raise ValidationError(f"{source}: no records", source=source)
    problems: list[Problem] = []
    fields = domain.record.model_fields
    needed = list(fields)
    if require_label:
        needed.append(domain.label)
    if require_order and domain.order_by not in fields:
        needed.append(domain.order_by)
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        noun = "column" if len(absent) == 1 else "columns"
        raise ValidationError(
            f"{source}: missing {noun} {', '.join(repr(c) for c in absent[:10])}"
            f"{' …' if len(absent) > 10 else ''} (domain {domain.name} expects them)",
            source=source, errors=[Problem(None, c, "missing column").as_dict() for c in absent])
    frame = frame.reset_index(drop=True)
    out = {name: _check_column(name, field, frame[name], problems)
           for name, field in fields.items()}
    if domain.order_by in frame.columns and domain.order_by not in out:
        order = pd.to_numeric(frame[domain.order_by], errors="coerce")
        if require_order:
            for row in np.flatnonzero(order.isna().to_numpy())[:MAX_REPORTED]:
                problems.append(Problem(int(row) + 1, domain.order_by,
                                        "missing or not a number (it orders records in time)"))
        out[domain.order_by] = order
    labels = None
    if require_label:
        labels = _labels(domain, frame[domain.label], source, problems, whole=not part)
    if problems:
        problems = [Problem(p.row + first_row - 1, p.column, p.message)
                    if p.row is not None else p for p in problems]
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValidationError(f"{source}: {shown}{more}", source=source,
                              errors=[p.as_dict() for p in problems[:MAX_REPORTED]])
    return pd.DataFrame(out), labels


def _labels(domain: Domain, raw: pd.Series, source: str,
            problems: list[Problem], whole: bool = True) -> npt.NDArray[np.int8]:
    missing = raw.isna()
    for row in np.flatnonzero(missing.to_numpy())[:MAX_REPORTED]:
        problems.append(Problem(int(row) + 1, domain.label, "missing label"))
    values = raw[~missing].unique()
    if len(values) > 2:
        shown = ", ".join(repr(v) for v in sorted(values, key=str)[:5])
        raise LabelError(f"{source}: label column {domain.label!r} has {len(values)} distinct "
                         f"values ({shown}); a binary domain needs two", source=source,
                         column=domain.label)
    positive = domain.positive_label
    labels: npt.NDArray[np.int8]  # pandas' to_numpy is untyped: the astype makes int8
    if pd.api.types.is_numeric_dtype(raw) and isinstance(positive, int | float):
        labels = (raw.to_numpy() == positive).astype(np.int8)
    else:
        labels = (raw.astype(str).to_numpy() == str(positive)).astype(np.int8)
    if whole and not problems and len(np.unique(labels)) < 2:
        raise one_class(domain, source, positive=bool(labels[0] == 1))
    return labels


def one_class(domain: Domain, source: str, *, positive: bool) -> LabelError:
    """The refusal of training data whose labels are all one class."""
    only = "positive" if positive else "negative"
    return LabelError(f"{source}: label column {domain.label!r} has only one class "
                      f"(all {only}); training needs both outcomes", source=source,
                      column=domain.label)


def as_dicts(records: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts of Python values (a fraction of ``DataFrame.to_dict``'s cost)."""
    columns = list(records.columns)
    return [dict(zip(columns, row, strict=True))
            for row in records.to_numpy(dtype=object).tolist()]


_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {}


def _example(domain: Domain) -> dict[str, Any]:
    frame = domain.load_reference()
    if domain.order_by in frame.columns:
        frame = frame.sort_values(domain.order_by, kind="stable")
    records, _ = validate_records(domain, frame.tail(1), source="reference data")
    row = as_dicts(records[domain.columns])[0]
    fields = domain.record.model_fields
    return {k: int(v) if fields[k].annotation is int else v for k, v in row.items()}


def example_record(domain: Domain) -> dict[str, Any]:
    """The latest reference record of a domain, as an API client would send it."""
    key = (domain.name, domain.version)
    if key not in _EXAMPLES:
        _EXAMPLES[key] = _example(domain)
    return dict(_EXAMPLES[key])


def _numeric_field(field: Any) -> bool:
    kind, _ = _base_type(field.annotation)
    if typing.get_origin(kind) is typing.Literal:
        return all(isinstance(v, int | float) for v in typing.get_args(kind))
    return kind in (int, float, bool)


@lru_cache(maxsize=256)
def _layout(model: type[Any]) -> tuple[pd.Index, bool]:
    """A record model's columns as a frame index, and whether every field is a number.

    Built once per model: a one-row frame spent more on a fresh (pyarrow string) column
    index and on re-reading the field types than on its numbers.
    """
    fields = model.model_fields
    return (pd.Index(list(fields), dtype=object),
            all(_numeric_field(field) for field in fields.values()))


def frame_from_rows(domain: Domain, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Already-validated rows (dicts of schema fields) as a frame, numbers as float64.

    A numbers-only schema goes through one float array: ``DataFrame.astype`` per column
    costs milliseconds on a one-row request.
    """
    index, numeric_only = _layout(domain.record)
    columns = domain.columns
    if numeric_only:
        try:
            values = np.array([[row.get(c) for c in columns] for row in rows],
                              dtype=np.float64)
        except OverflowError:  # an integer beyond float64: inf, refused by the caller
            values = np.array([[_float_or_inf(row.get(c)) for c in columns] for row in rows],
                              dtype=np.float64)
        return pd.DataFrame(values, columns=index, copy=False)
    fields = domain.record.model_fields
    frame = pd.DataFrame.from_records(rows, columns=columns)
    numeric = [c for c in columns if _numeric_field(fields[c])]
    try:
        return frame.astype(dict.fromkeys(numeric, "float64"))
    except OverflowError:
        return frame.assign(**{c: frame[c].map(_float_or_inf).astype("float64")
                               for c in numeric})


def validate_rows(domain: Domain, items: list[Any], *, single: bool = False) -> pd.DataFrame:
    """JSON records (an API body, an MCP call) checked one by one against the domain's
    record model, whatever the batch size: strict types (``"7"`` and ``true`` are not
    integers), declared bounds, finite numbers within ``NUMBER_LIMIT`` and no unknown field.
    Errors name the record (``records[3]``, or ``record`` when ``single``) and the field."""
    from pydantic import ValidationError as PydanticError

    model, fields = domain.record, domain.record.model_fields
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []

    def fail(index: int, field: str | None, message: str) -> None:
        where = "record" if single else f"records[{index}]"
        errors.append({"where": f"{where}.{field}" if field else where,
                       "index": None if single else index, "field": field,
                       "message": message})

    for index, item in enumerate(items):
        if not isinstance(item, dict):
            fail(index, None, f"a record is an object of fields, not {type(item).__name__}")
            continue
        for name in [k for k in item if k not in fields and k != domain.order_by][:5]:
            shown = name if len(name) <= 40 else f"{name[:40]}…"
            fail(index, shown, f"unknown field (domain {domain.name} has no such field)")
        try:
            rows.append(model.model_validate(item, strict=True).model_dump())
        except PydanticError as exc:
            for e in exc.errors(include_url=False):
                fail(index, ".".join(str(p) for p in e["loc"]) or None, e["msg"])
        if len(errors) >= 50:
            break
    if not errors:
        try:
            return _bounded(frame_from_rows(domain, rows), rows, single)
        except _Unbounded as exc:
            errors = exc.errors
    shown = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    raise ValidationError(f"{shown}{more}", errors=errors[:50], domain=domain.name)


class _Unbounded(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors


def _bounded(frame: pd.DataFrame, rows: list[dict[str, Any]], single: bool) -> pd.DataFrame:
    """The numeric columns of validated rows, refused where infinite, NaN or beyond
    ``NUMBER_LIMIT`` (pydantic floats allow ``inf``; ints have no size limit)."""
    values = frame.to_numpy()  # a numbers-only frame is one float array already
    numeric = frame
    if values.dtype.kind != "f":
        numeric = frame.select_dtypes("number")
        values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~(np.abs(values) <= NUMBER_LIMIT)
    if not bad.any():
        return frame
    errors = []
    for row, col in zip(*np.nonzero(bad), strict=True):
        field = str(numeric.columns[col])
        if rows[row].get(field) is None:  # an optional field left out: NaN, and fine
            continue
        errors.append({"where": ("record" if single else f"records[{row}]") + f".{field}",
                       "index": None if single else int(row), "field": field,
                       "message": f"{values[row, col]:g} is not a finite number within "
                                  f"±{NUMBER_LIMIT:g}"})
    if not errors:
        return frame
    raise _Unbounded(errors[:50])
