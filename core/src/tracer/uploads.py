"""Reading an uploaded table within bounds: decompressed size and rows, while streaming.

``api.max_upload_bytes`` bounds what a client sends; a 1.4 MB gzip can still hold 400 MB of
CSV. A gzip upload is therefore inflated chunk by chunk as the CSV parser reads it, and
refused (413, naming ``api.max_upload_expanded_bytes``) the moment its output passes the
limit: the inflated file is never held whole; a Parquet file is refused from its footer
(rows and uncompressed size) before any column is read; a CSV is parsed in chunks of
rows and refused once it passes ``api.max_upload_rows``.

:func:`iter_upload` yields the file chunk by chunk (CSV chunks of ``CHUNK_ROWS`` rows,
Parquet batches of as many), so a caller that validates and writes each chunk as it comes
(:func:`tracer.datasets.store_dataset`) holds one chunk at a time, never the whole table.
"""

from __future__ import annotations

import gzip
import io
from typing import TYPE_CHECKING, Any

import pandas as pd

from tracer.errors import LimitError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tracer.settings import Settings

CHUNK = 1 << 20
CHUNK_ROWS = 50_000


def _over(name: str, what: str, limit: int, setting: str) -> LimitError:
    return LimitError(f"{name}: over the limit of {limit:,} {what} (setting {setting})",
                      limit=limit, setting=setting, source=name)


class Inflating(io.RawIOBase):
    """A gzip upload as a stream the CSV parser reads from: inflated chunk by chunk as the
    parser asks (every member), refused the moment the output passes ``limit``. The
    decompressed file is never held whole: only the parser's buffer and the frame."""

    def __init__(self, name: str, content: bytes, limit: int) -> None:
        self.name_, self.limit, self.size = name, limit, 0
        self._gzip = gzip.GzipFile(fileobj=io.BytesIO(content), mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            count = self._gzip.readinto(buffer)
        except EOFError:
            raise ValidationError(f"{self.name_}: the gzip stream is truncated",
                                  source=self.name_) from None
        self.size += count
        if self.size > self.limit:
            raise _over(self.name_, "bytes decompressed", self.limit,
                        "api.max_upload_expanded_bytes")
        return count


def read_upload(name: str, content: bytes, settings: Settings) -> pd.DataFrame:
    """CSV (optionally gzip) or Parquet bytes to one frame within the upload limits."""
    chunks = list(iter_upload(name, content, settings))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def iter_upload(name: str, content: bytes, settings: Settings) -> Iterator[pd.DataFrame]:
    """CSV (optionally gzip) or Parquet bytes as frames of at most ``CHUNK_ROWS`` rows,
    within the upload limits (refused as the chunks come); at least one frame, or
    ``EmptyDataError``."""
    rows, expanded = settings.api.max_upload_rows, settings.api.max_upload_expanded_bytes
    if name.endswith(".parquet") or content[:4] == b"PAR1":
        import pyarrow.parquet as pq

        file = pq.ParquetFile(io.BytesIO(content))
        meta = file.metadata
        if meta.num_rows > rows:
            raise _over(name, "rows", rows, "api.max_upload_rows")
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > expanded:
            raise _over(name, "bytes decompressed", expanded, "api.max_upload_expanded_bytes")
        if meta.num_rows == 0:
            yield file.schema_arrow.empty_table().to_pandas()
            return
        for batch in file.iter_batches(batch_size=CHUNK_ROWS):
            yield batch.to_pandas()
        return
    source: io.BufferedIOBase | io.BytesIO
    if content[:2] == b"\x1f\x8b":
        source = io.BufferedReader(Inflating(name, content, expanded), CHUNK)
    elif len(content) > expanded:
        raise _over(name, "bytes decompressed", expanded, "api.max_upload_expanded_bytes")
    else:
        source = io.BytesIO(content)
    # in chunks of rows: the parser's working memory is one chunk's, not the file's, and
    # the row limit is checked as the chunks come
    count = 0
    with pd.read_csv(source, low_memory=False, chunksize=CHUNK_ROWS) as reader:
        for chunk in reader:
            count += len(chunk)
            if count > rows:
                raise _over(name, "rows", rows, "api.max_upload_rows")
            yield chunk
    if not count:
        raise pd.errors.EmptyDataError("no rows")
