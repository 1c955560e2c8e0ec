"""The kernel-enforced box a runner lives in: a bubblewrap command line.

What the runner sees and may do, enforced by Linux, not by Python:

- **namespaces**: its own user (uid/gid 65534, no capabilities), PID, IPC, UTS, cgroup and
  network namespaces; the network namespace has no interface but a downed loopback;
- **filesystem**: a new root holding, read-only, ``/usr`` (and the ``/lib``, ``/bin``
  links), the Python installation and the environment's import path, and the plugin's own
  files; ``/scratch`` is an empty size-limited tmpfs (the only writable folder, also
  ``$TMPDIR``; there is no ``/tmp``; the root is remounted read-only), ``/proc`` and
  ``/dev`` are the sandbox's own. ``TRACER_HOME``, the plugin folder, the databases, the
  MLflow store, the blobs and keys and the user's home are never bound, and are masked
  with an empty tmpfs where they lie inside a bound folder;
- **environment**: cleared, then a handful of variables (``HOME=/scratch``, thread counts);
- **session**: a new session (no controlling terminal to inject keystrokes into), and the
  box dies with its host.

seccomp and rlimits are applied by the runner itself (``tracer.runner.child``) before the
first byte of plugin code is imported; see ``tracer.runner.seccomp``.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.errors import PluginError

if TYPE_CHECKING:
    from tracer.settings import Settings

#: the mount point of a plugin's own files inside the box
PLUGIN_ROOT = "/plugin"
#: the only writable folder inside the box (an empty, size-limited tmpfs; also $TMPDIR)
SCRATCH = "/scratch"
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; `make setup` "
                "does it when run as root)")


def bwrap_path() -> str:
    """The bubblewrap binary, or a clear error: third-party code never runs unconfined."""
    path = shutil.which("bwrap")
    if path is None:
        raise PluginError("third-party plugins run only in a confined runner, and this "
                          f"machine has no bubblewrap: {INSTALL_HINT}")
    return path


def secrets(settings: Settings) -> list[Path]:
    """Folders a plugin must never see: platform state, keys, other tenants' data, home."""
    paths = [settings.home, Path(".tracer"), settings.plugins_path, settings.artifact_root,
             settings.blobs, settings.data_dir, Path.home()]
    url = settings.platform_db_url
    if url.startswith("sqlite:///"):
        paths.append(Path(url.removeprefix("sqlite:///")).parent)
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///"):
        paths.append(Path(uri.removeprefix("sqlite:///")).parent)
    return sorted({p.resolve() for p in paths})


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _prefixes() -> set[Path]:
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                            sys.base_exec_prefix)}
    prefixes.add(Path(os.path.realpath(sys.executable)).parent.parent)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        prefixes.add(Path(sysconfig.get_paths()[key]).resolve())
    return prefixes


def import_path(settings: Settings) -> list[str]:
    """This process's import path, in order, minus anything inside a secret folder."""
    hidden, prefixes = secrets(settings), _prefixes()
    out: list[str] = []
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        path = Path(entry).resolve()
        if any(_inside(path, h) for h in hidden) and not any(_inside(path, p) for p in prefixes):
            continue  # inside a secret folder (the plugin dir, TRACER_HOME): never bound
        if str(path) not in out:
            out.append(str(path))
    return out


def python_paths(settings: Settings) -> list[Path]:
    """The Python installation and import path a runner needs, minus anything secret."""
    paths = _prefixes() | {Path(p) for p in import_path(settings)}
    # a folder already inside another bound folder needs no bind of its own
    ordered = sorted(paths, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in ordered:
        if not any(_inside(path, k) for k in kept):
            kept.append(path)
    return kept


def command(settings: Settings, plugin_files: list[tuple[Path, str]],
            argv: list[str]) -> list[str]:
    """The bwrap command that runs ``argv`` confined, with ``plugin_files`` bound at
    their box paths (read-only)."""
    bwrap = bwrap_path()
    box = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-net", "--unshare-cgroup-try", "--uid", "65534", "--gid", "65534",
           "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            box += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            box += ["--ro-bind", str(top), str(top)]
    box += ["--ro-bind", "/usr", "/usr"]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf"):
        if os.path.exists(etc):
            box += ["--ro-bind", etc, etc]
    box += ["--proc", "/proc", "--dev", "/dev",
            "--size", str(settings.runner.scratch_bytes), "--tmpfs", SCRATCH]
    hidden = secrets(settings)
    mounts: list[tuple[int, list[str]]] = []
    bound = python_paths(settings)
    for path in bound:
        mounts.append((len(path.parts), ["--ro-bind", str(path), str(path)]))
    owned = {p.resolve() for p in (settings.home, settings.plugins_path, settings.blobs,
                                   settings.data_dir, settings.artifact_root)}
    for secret in hidden:
        if any(secret != b and _inside(secret, b) for b in bound):
            if secret in owned:
                secret.mkdir(parents=True, exist_ok=True)  # a later mkdir must not show
            if secret.is_dir():
                mounts.append((len(secret.parts), ["--tmpfs", str(secret)]))
    # parents before children: a mask goes over its bind, a deeper bind over a mask
    for _, args in sorted(mounts, key=lambda m: m[0]):
        box += args
    box += ["--dir", PLUGIN_ROOT]
    for source, target in plugin_files:
        box += ["--ro-bind", str(source), f"{PLUGIN_ROOT}/{target}"]
    box += ["--remount-ro", "/"]  # the root itself: no folder to write but /scratch
    env = {"HOME": SCRATCH, "TMPDIR": SCRATCH, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           "MPLCONFIGDIR": SCRATCH, "OMP_NUM_THREADS": str(settings.runner.threads),
           "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    for passthrough in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if passthrough in os.environ:  # wrong results on some CPUs without them
            env[passthrough] = os.environ[passthrough]
    for key, value in env.items():
        box += ["--setenv", key, value]
    box += ["--chdir", SCRATCH, "--"]
    return box + argv
