"""What crosses the pipe between a host and its runner: framed JSON plus raw buffers.

One message is ``[u32 header length][header JSON][u32 buffer count]([u64 length][bytes])*``.
The header is plain JSON (no pickle, nothing executable); numeric columns, arrays and
model bytes travel as raw buffers the header refers to by index, so a 90,000-row feature
frame costs one ``memcpy`` per column and a one-row call costs a few microseconds.

Frames are encoded column by column: numeric and boolean columns as little-endian numpy
buffers with their dtype, datetimes as int64 nanoseconds, anything else as a JSON list
(strings, ``None``). Decoding checks every length against the declared row count.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: a message bigger than this is refused (a runner cannot make its host allocate without end)
MAX_MESSAGE_BYTES = 1 << 30
_NUMERIC_KINDS = "biuf"


class ProtocolError(RuntimeError):
    """A malformed, oversized or truncated message."""


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other end closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


#: how long a waiting side polls before it sleeps: a sleeping process on an idle virtual CPU
#: takes about a millisecond to wake, several times the cost of a whole one-row call
SPIN_SECONDS = 0.0005


def wait_readable(fd: int, seconds: float | None, spin: float = SPIN_SECONDS) -> bool:
    """True once ``fd`` has data; polls for ``spin`` seconds, then sleeps in ``select``."""
    until = time.perf_counter() + spin
    while time.perf_counter() < until:
        if select.select([fd], [], [], 0)[0]:
            return True
    if seconds is not None and seconds <= 0:
        return bool(select.select([fd], [], [], 0)[0])
    return bool(select.select([fd], [], [], seconds)[0])


def send(fd: int, header: dict[str, Any], buffers: Sequence[bytes | memoryview] = ()) -> None:
    head = json.dumps(header, separators=(",", ":"), allow_nan=True).encode()
    parts: list[bytes | memoryview] = [struct.pack("<I", len(head)), head,
                                       struct.pack("<I", len(buffers))]
    for buffer in buffers:
        parts += [struct.pack("<Q", len(buffer)), buffer]
    small = sum(len(p) for p in parts) < 1 << 16
    if small:
        _write_all(fd, b"".join(bytes(p) for p in parts))
    else:
        for part in parts:
            _write_all(fd, part)


def receive(fd: int) -> tuple[dict[str, Any], list[bytearray]]:
    (size,) = struct.unpack("<I", _read_exact(fd, 4))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"header of {size} bytes is over the limit")
    header = json.loads(_read_exact(fd, size))
    if not isinstance(header, dict):
        raise ProtocolError("the header is not a JSON object")
    (count,) = struct.unpack("<I", _read_exact(fd, 4))
    if count > 100_000:
        raise ProtocolError(f"{count} buffers in one message")
    buffers, total = [], size
    for _ in range(count):
        (length,) = struct.unpack("<Q", _read_exact(fd, 8))
        total += length
        if total > MAX_MESSAGE_BYTES:
            raise ProtocolError("message over the size limit")
        buffers.append(bytearray(_read_exact(fd, length)))  # writable for numpy
    return header, buffers


# -- values --------------------------------------------------------------------------------

def encode_array(array: np.ndarray, buffers: list[Any]) -> dict[str, Any]:
    array = np.ascontiguousarray(array)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise ProtocolError(f"cannot send an array of dtype {array.dtype}")
    buffers.append(memoryview(array).cast("B") if array.size else b"")  # type: ignore[arg-type]  # numpy arrays are buffers; its stubs do not say so
    return {"array": len(buffers) - 1, "dtype": array.dtype.newbyteorder("<").str,
            "shape": list(array.shape)}


def decode_array(spec: dict[str, Any], buffers: list[bytes]) -> np.ndarray:
    try:
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(n) for n in spec["shape"])
        raw = buffers[int(spec["array"])]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ProtocolError(f"bad array spec: {exc}") from None
    if dtype.kind not in _NUMERIC_KINDS:
        raise ProtocolError(f"arrays of dtype {dtype} are not accepted")
    if len(raw) != dtype.itemsize * math.prod(shape):
        raise ProtocolError(f"array of shape {shape} and dtype {dtype} has {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _arrays(frame: pd.DataFrame) -> Iterator[tuple[Any, Any]]:
    """Each column's values without building a Series per column (a one-row frame pays
    pandas' per-column cost twenty times over otherwise)."""
    iterate = getattr(frame, "_iter_column_arrays", None)
    if iterate is not None and frame.columns.is_unique:
        return zip(frame.columns, iterate(), strict=True)
    return ((name, frame[name].array) for name in frame.columns)


def encode_frame(frame: pd.DataFrame, buffers: list[Any]) -> dict[str, Any]:
    """Numeric columns of one dtype travel as one 2-D block (decoded into one pandas block
    without a per-column cost); datetimes and anything else column by column."""
    columns: list[dict[str, Any]] = []
    groups: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    order = []
    for name, values in _arrays(frame):
        kind = getattr(values.dtype, "kind", "O")
        order.append(str(name))
        if isinstance(values, np.ndarray) and kind in _NUMERIC_KINDS:
            names, arrays = groups.setdefault(values.dtype.str, ([], []))
            names.append(str(name))
            arrays.append(values)
        elif kind == "M":  # naive or zone-aware (then as UTC): int64 nanoseconds
            stamps = pd.DatetimeIndex(values)
            if stamps.tz is not None:
                stamps = stamps.tz_convert("UTC").tz_localize(None)
            ns = np.asarray(stamps.astype("datetime64[ns]")).view("int64")
            columns.append({"name": str(name), "datetime": True, **encode_array(ns, buffers)})
        else:
            plain = [None if _missing(v) else (v.item() if isinstance(v, np.generic) else v)
                     for v in list(values)]
            columns.append({"name": str(name), "values": plain})
    blocks = [{"names": names, **encode_array(np.column_stack(arrays) if len(frame) else
                                              np.empty((0, len(arrays)), arrays[0].dtype),
                                              buffers)}
              for names, arrays in groups.values()]
    return {"frame": columns, "blocks": blocks, "order": order, "rows": len(frame)}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) \
        or value is pd.NaT or value is pd.NA


_INDEXES: dict[tuple[str, ...], pd.Index] = {}


def _index(names: list[str]) -> pd.Index:
    """Column labels, built once per set of names (an Index of strings costs ~0.1 ms to
    make, more than the one-row frame it labels); pandas Indexes are immutable."""
    key = tuple(names)
    index = _INDEXES.get(key)
    if index is None:
        if len(_INDEXES) > 256:
            _INDEXES.clear()
        index = _INDEXES[key] = pd.Index(key)
    return index


def decode_frame(spec: dict[str, Any], buffers: list[bytes]) -> pd.DataFrame:
    try:
        rows = int(spec["rows"])
        columns = spec["frame"]
        if not isinstance(columns, list) or not isinstance(spec.get("blocks", []), list):
            raise TypeError("frame is not a list")
        parts: list[pd.DataFrame] = []
        for block in spec.get("blocks", []):
            names = block["names"]
            array = decode_array(block, buffers)
            if not isinstance(names, list) or array.ndim != 2 \
                    or array.shape != (rows, len(names)):
                raise ProtocolError(f"block of shape {array.shape} for {rows} rows and "
                                    f"{len(names)} columns")
            parts.append(pd.DataFrame(array, columns=_index(names), copy=False))
        data: dict[str, Any] = {}
        for column in columns:
            name = column["name"]
            if not isinstance(name, str) or name in data:
                raise ProtocolError(f"bad or repeated column name {name!r}")
            if "values" in column:
                values = column["values"]
                if not isinstance(values, list):
                    raise ProtocolError(f"column {name!r}: values is not a list")
                data[name] = pd.Series(values, dtype=object)
            else:
                array = decode_array(column, buffers)
                if array.ndim != 1:
                    raise ProtocolError(f"column {name!r} is not one-dimensional")
                data[name] = array.view("datetime64[ns]") if column.get("datetime") else array
            if len(data[name]) != rows:
                raise ProtocolError(f"column {name!r} has {len(data[name])} values, the frame "
                                    f"{rows} rows")
        if data:
            parts.append(pd.DataFrame(data, index=pd.RangeIndex(rows)))
        if not parts:
            return pd.DataFrame(index=pd.RangeIndex(rows))
        frame = parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)
        order = spec.get("order") or list(frame.columns)
        if len(set(order)) != len(order) or set(order) != set(frame.columns) \
                or len(order) != frame.shape[1]:
            raise ProtocolError("repeated, missing or extra column names")
        return frame if list(frame.columns) == order else frame[_index(order)]
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"bad frame: {exc}") from None
