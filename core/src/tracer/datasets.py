"""Tenant datasets: uploaded record files validated against a domain's schema.

A file is parsed, validated and written chunk by chunk (:func:`tracer.uploads.iter_upload`):
each chunk is checked, then appended to a staged Parquet file (a path the platform
chooses, never the client), so the process holds one chunk, not the file. Only when every
chunk has passed is the file moved into place and its row committed; a failure at any point
removes the staged file, so nothing is partially saved.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from tracer.db import session
from tracer.errors import LabelError, LimitError, NotFoundError, ValidationError
from tracer.models import Dataset
from tracer.records import one_class, validate_records
from tracer.uploads import iter_upload

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session

    from tracer.domain import Domain
    from tracer.settings import Settings


def dataset_path(settings: Settings, tenant_id: str, dataset_id: str) -> Path:
    return settings.data_dir / "tenants" / tenant_id / f"{dataset_id}.parquet"


def parse_upload(filename: str, content: bytes, settings: Settings) -> pd.DataFrame:
    """CSV (optionally gzip) or Parquet bytes to one frame, with a one-line error; bounded
    in decompressed size and rows (:mod:`tracer.uploads`)."""
    chunks = list(upload_chunks(filename, content, settings))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def upload_chunks(filename: str, content: bytes, settings: Settings
                  ) -> Iterator[pd.DataFrame]:
    """The upload's chunks as they are parsed; a parser failure is one-line bad input."""
    name = Path(filename or "upload").name
    if not content:
        raise ValidationError(f"{name}: the file is empty", source=name)
    chunks = iter_upload(name, content, settings)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except LimitError:
            raise
        except pd.errors.EmptyDataError:
            raise ValidationError(f"{name}: the file is empty", source=name) from None
        except Exception as exc:  # noqa: BLE001 -- any parser failure is bad input; its message has the line
            raise ValidationError(f"{name}: cannot read the file as CSV or Parquet: {exc}",
                                  source=name) from None
        yield chunk


def _write_validated(settings: Settings, domain: Domain, name: str, content: bytes,
                     staged: Path) -> tuple[int, int]:
    """Validate the upload chunk by chunk, appending each to ``staged`` (Parquet, one row
    group a chunk); returns (rows, positives). The label's classes are checked over the
    whole file: a chunk may hold one class, the file may not, nor more than two values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    rows = positives = 0
    classes: set[Any] = set()
    try:
        for chunk in upload_chunks(name, content, settings):
            records, labels = validate_records(domain, chunk, source=name, require_label=True,
                                               require_order=True, first_row=rows + 1,
                                               part=True)
            assert labels is not None  # require_label=True: a missing label was refused
            classes.update(chunk[domain.label].dropna().unique().tolist())
            if len(classes) > 2:
                shown = ", ".join(repr(v) for v in sorted(classes, key=str)[:5])
                raise LabelError(f"{name}: label column {domain.label!r} has more than two "
                                 f"distinct values ({shown}); a binary domain needs two",
                                 source=name, column=domain.label)
            records[domain.label] = labels
            table = pa.Table.from_pandas(records, schema=schema, preserve_index=False)
            if writer is None:
                # a column all empty in the first chunk may hold text in a later one
                schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type)
                                    else f for f in table.schema])
                table = table.cast(schema)
                writer = pq.ParquetWriter(staged, schema)
            writer.write_table(table)
            rows, positives = rows + len(records), positives + int(labels.sum())
    finally:
        if writer is not None:
            writer.close()
    if positives in (0, rows):
        raise one_class(domain, name, positive=positives > 0)
    return rows, positives


def store_dataset(settings: Settings, tenant_id: str, domain: Domain, filename: str,
                  content: bytes) -> Dataset:
    """Validate and store an uploaded training file, a chunk at a time; all or nothing."""
    name = Path(filename or "upload").name[:255]
    dataset_id = str(uuid.uuid4())
    target = dataset_path(settings, tenant_id, dataset_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_suffix(".partial")
    try:
        rows, positives = _write_validated(settings, domain, name, content, staged)
        os.replace(staged, target)
        with session(settings) as s:
            row = Dataset(id=dataset_id, tenant_id=tenant_id, domain=domain.name,
                          filename=name, rows=rows, positives=positives,
                          sha256=hashlib.sha256(content).hexdigest())
            s.add(row)
    except BaseException:
        staged.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    return row


def get_dataset(s: Session, tenant_id: str, dataset_id: str) -> Dataset:
    row = s.get(Dataset, dataset_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"dataset {dataset_id} not found", dataset=dataset_id)
    return row


def list_datasets(s: Session, tenant_id: str, domain: str | None = None) -> list[Dataset]:
    query = select(Dataset).where(Dataset.tenant_id == tenant_id)
    if domain:
        query = query.where(Dataset.domain == domain)
    return list(s.scalars(query.order_by(Dataset.created_at)))


def delete_dataset(settings: Settings, tenant_id: str, dataset_id: str) -> None:
    with session(settings) as s:
        row = get_dataset(s, tenant_id, dataset_id)
        s.delete(row)
    dataset_path(settings, tenant_id, dataset_id).unlink(missing_ok=True)


def load_dataset(settings: Settings, tenant_id: str, dataset_id: str) -> pd.DataFrame:
    return pd.read_parquet(dataset_path(settings, tenant_id, dataset_id))
