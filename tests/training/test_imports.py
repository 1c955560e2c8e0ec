"""``import distributed`` stays off every path that does not use the Dask backend: the CLI
starts, the API app is built and a local job's modules load without it."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from tracer.cli import build_app
build_app(load_plugins=False)
import tracer.api, tracer.dispatch, tracer.jobs, tracer.supervise, tracer.training_worker
import tracer.api.routes.training
print(sorted(m for m in sys.modules if m == "distributed" or m.startswith("distributed.")))
"""


def test_the_cli_and_the_local_backend_never_import_distributed():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
