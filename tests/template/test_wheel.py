"""``tracer plugin new`` works after ``pip install tracer``: the template ships in the wheel.

The wheel is built the way a release is (sdist first, then the wheel from the sdist), put
in a fresh virtual environment beside tracer's locked dependencies (nothing of this
checkout), and asked for a plugin. Offline: uv installs the dependencies from its cache
(filled by ``uv sync``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.template.test_fresh_environment import find_uv

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("tracer-wheel")


def run(*command: str | Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done.stdout


def test_a_fresh_venv_with_only_the_tracer_wheel_renders_a_plugin(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACER_", "VIRTUAL_ENV", "PYTHONPATH", "UV_"))}
    env.update(TRACER_HOME=str(tmp_path / "home"), UV_OFFLINE="1",
               UV_PYTHON_DOWNLOADS="never", MLFLOW_DISABLE_TELEMETRY="true")
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, REPO / "core",
        cwd=tmp_path, env=env)
    [wheel] = dist.glob("tracer-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    shipped = {n.removeprefix("tracer/plugin_template/") for n in names
               if n.startswith("tracer/plugin_template/")}
    in_checkout = {str(p.relative_to(REPO / "template")) for p in (REPO / "template").rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
    assert shipped == in_checkout

    uv, venv = find_uv(), tmp_path / "venv"
    # tracer's locked dependencies (offline, from uv's cache), then the wheel itself
    run(uv, "sync", "--project", REPO, "--frozen", "--package", "tracer", "--no-install-project",
        "--no-dev", "--python", sys.executable, cwd=tmp_path,
        env={**env, "UV_PROJECT_ENVIRONMENT": str(venv)})
    run(uv, "pip", "install", "--no-deps", "--python", venv / "bin" / "python", wheel,
        cwd=tmp_path, env=env)
    run(uv, "pip", "check", "--python", venv / "bin" / "python", cwd=tmp_path, env=env)
    where = run(venv / "bin" / "python", "-c", "import tracer; print(tracer.__file__)",
                cwd=tmp_path, env=env)
    assert str(venv) in where and str(REPO) not in where  # the wheel, not this checkout

    out = tmp_path / "plugins"
    run(venv / "bin" / "tracer", "plugin", "new", "--no-input", "-o", out, cwd=tmp_path, env=env)
    project = out / "tracer-acme-churn"
    assert (project / "src" / "tracer_acme_churn" / "plugin.py").is_file()
    recorded = json.loads((project / ".tracer-template.json").read_text())
    assert recorded["answers"]["project_slug"] == "tracer-acme-churn"
