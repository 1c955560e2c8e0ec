"""Real artifacts for registry tests: wheels written to the wheel spec, signed for real.

A wheel here is a zip with METADATA, WHEEL, entry_points.txt and a RECORD holding the
sha256 of every file, exactly what ``uv build`` makes, plus a small domain plugin module.
Hostile variants (``../`` members, symlinks) are made the same way, which a build tool
would refuse to produce.
"""

from __future__ import annotations

import base64
import hashlib
import io
import stat
import zipfile
from typing import TYPE_CHECKING

from tracer_registry.signing import sign_with_key

if TYPE_CHECKING:
    from pathlib import Path

PLUGIN_SOURCE = '''
"""A third-party domain plugin used by the registry tests ({version})."""
import numpy as np
import pandas as pd
from pydantic import BaseModel

from tracer import Baseline, Domain, hookimpl

VERSION = "{version}"


class Row(BaseModel):
    signal: float


def _reference(n=200):
    rng = np.random.default_rng(1)
    signal = rng.normal(size=n)
    return pd.DataFrame({{"seq": np.arange(n), "signal": signal,
                          "outcome": (signal > 0).astype(int)}})


DOMAIN = Domain(name="{domain}", version="{version}", title="Acme signal", record=Row,
                label="outcome", order_by="seq", load_reference=_reference,
                primary_metric="roc_auc", certification_threshold=0.6,
                outcome="the signal is positive",
                baseline=Baseline("signal > 0", lambda r: (r["signal"] > 0).astype(float)))


@hookimpl
def tracer_domains():
    {body}
    return [DOMAIN]
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(name: str = "acme-signal", version: str = "1.0.0", *,
               domain: str = "acme/signal", body: str = "pass",
               extra: dict[str, bytes] | None = None, symlink: str | None = None,
               requires_tracer: str = ">=0.1,<0.2") -> tuple[str, bytes]:
    """(filename, bytes) of a plugin wheel; ``extra`` adds members (any path)."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": PLUGIN_SOURCE.format(version=version, domain=domain,
                                                      body=body).encode(),
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n"
                                  f"Summary: Acme signal domain for Tracer\n"
                                  f"License-Expression: Apache-2.0\n"
                                  f"Requires-Dist: tracer{requires_tracer}\n"
                                  f"Description-Content-Type: text/markdown\n\n"
                                  f"# {name}\n\nPredicts whether the signal is positive.\n"
                                  ).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": f"[tracer]\n{name} = {module}\n".encode(),
        **(extra or {}),
    }
    record = "\n".join(_record_line(n, d) for n, d in files.items())
    record += f"\n{dist_info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
        archive.writestr(f"{dist_info}/RECORD", record)
    return f"{module}-{version}-py3-none-any.whl", buffer.getvalue()


def signed(key, filename: str, data: bytes) -> bytes:
    return sign_with_key(data, filename, key)


def write(directory: Path, filename: str, data: bytes) -> Path:
    path = directory / filename
    path.write_bytes(data)
    return path
