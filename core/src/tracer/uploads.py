"""Reading an uploaded table within bounds: decompressed size and rows, while streaming.

``max_upload_bytes`` bounds what a client sends; a 1.4 MB gzip can still hold 400 MB of
CSV. A gzip upload is therefore inflated chunk by chunk and refused (413, naming
``max_upload_expanded_bytes``) the moment its output passes the limit, before the whole
is ever held; a Parquet file is refused from its footer (rows and uncompressed size)
before any column is read; a CSV is parsed for at most ``max_upload_rows`` + 1 rows.
"""

from __future__ import annotations

import io
import zlib
from typing import TYPE_CHECKING

import pandas as pd

from tracer.errors import LimitError, ValidationError

if TYPE_CHECKING:
    from tracer.settings import Settings

CHUNK = 1 << 20


def _over(name: str, what: str, limit: int, setting: str) -> LimitError:
    return LimitError(f"{name}: over the limit of {limit:,} {what} (setting {setting})",
                      limit=limit, setting=setting, source=name)


def gunzip(name: str, content: bytes, limit: int) -> bytes:
    """The inflated bytes of a gzip file (every member), refused once they pass ``limit``."""
    out, size, data = [], 0, content
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof:
            piece = inflater.decompress(data, CHUNK)
            data = inflater.unconsumed_tail
            if not piece and not data:
                raise ValidationError(f"{name}: the gzip stream is truncated", source=name)
            size += len(piece)
            if size > limit:
                raise _over(name, "bytes decompressed", limit, "max_upload_expanded_bytes")
            out.append(piece)
        data = inflater.unused_data  # a next gzip member, if any
    return b"".join(out)


def read_upload(name: str, content: bytes, settings: Settings) -> pd.DataFrame:
    """CSV (optionally gzip) or Parquet bytes to a frame within the upload limits."""
    rows, expanded = settings.max_upload_rows, settings.max_upload_expanded_bytes
    if name.endswith(".parquet") or content[:4] == b"PAR1":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(io.BytesIO(content)).metadata
        if meta.num_rows > rows:
            raise _over(name, "rows", rows, "max_upload_rows")
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > expanded:
            raise _over(name, "bytes decompressed", expanded, "max_upload_expanded_bytes")
        return pd.read_parquet(io.BytesIO(content))
    if content[:2] == b"\x1f\x8b":
        content = gunzip(name, content, expanded)
    elif len(content) > expanded:
        raise _over(name, "bytes decompressed", expanded, "max_upload_expanded_bytes")
    frame = pd.read_csv(io.BytesIO(content), low_memory=False, nrows=rows + 1)
    if len(frame) > rows:
        raise _over(name, "rows", rows, "max_upload_rows")
    return frame
