"""Tenant datasets: uploaded record files validated against a domain's schema.

A file is parsed and validated in full before anything is written; only then is it stored
(normalised to Parquet, under a path the platform chooses, never the client) and its row
committed. A failure at any point removes the file, so nothing is partially saved.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from tracer.db import session
from tracer.errors import LimitError, NotFoundError, ValidationError
from tracer.models import Dataset
from tracer.records import validate_records
from tracer.uploads import read_upload

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracer.domain import Domain
    from tracer.settings import Settings


def dataset_path(settings: Settings, tenant_id: str, dataset_id: str) -> Path:
    return settings.data_dir / "tenants" / tenant_id / f"{dataset_id}.parquet"


def parse_upload(filename: str, content: bytes, settings: Settings) -> pd.DataFrame:
    """CSV (optionally gzip) or Parquet bytes to a frame, with a one-line error; bounded
    in decompressed size and rows (:mod:`tracer.uploads`)."""
    name = Path(filename or "upload").name
    if not content:
        raise ValidationError(f"{name}: the file is empty", source=name)
    try:
        return read_upload(name, content, settings)
    except LimitError:
        raise
    except pd.errors.EmptyDataError:
        raise ValidationError(f"{name}: the file is empty", source=name) from None
    except Exception as exc:  # noqa: BLE001 -- any parser failure is bad input; its message has the line
        raise ValidationError(f"{name}: cannot read the file as CSV or Parquet: {exc}",
                              source=name) from None


def store_dataset(settings: Settings, tenant_id: str, domain: Domain, filename: str,
                  content: bytes) -> Dataset:
    """Validate and store an uploaded training file; all or nothing."""
    name = Path(filename or "upload").name[:255]
    frame = parse_upload(name, content, settings)
    records, labels = validate_records(domain, frame, source=name, require_label=True,
                                       require_order=True)
    assert labels is not None  # require_label=True: a missing label column was refused
    records[domain.label] = labels
    dataset_id = str(uuid.uuid4())
    target = dataset_path(settings, tenant_id, dataset_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_suffix(".partial")
    try:
        records.to_parquet(staged, index=False)
        os.replace(staged, target)
        with session(settings) as s:
            row = Dataset(id=dataset_id, tenant_id=tenant_id, domain=domain.name,
                          filename=name, rows=len(records), positives=int(labels.sum()),
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
