"""Training jobs as tasks on a Dask distributed cluster (``training.backend = "dask"``).

A claimed job (``tracer.dispatch``) becomes one task, ``run_job``, on the cluster at
``training.dask_scheduler_address``. The task does not train in the Dask worker: it runs the same
supervised training worker subprocess the local backend runs (``tracer.supervise``), so
plugin code stays in confined runners and the Dask worker process imports only platform
modules. What crosses to the cluster is the job id and the platform's settings as JSON.

When a Dask worker dies mid-task its training subprocess dies with it and the scheduler
starts the task again on another worker; the new attempt starts over if the job has attempts
left (``training.max_attempts``) and fails the job with the reason if not. If the cluster
itself gives up on the task, the API process that submitted it fails the job with Dask's
reason. ``import distributed`` happens here only, when a job is submitted.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

from tracer.errors import ConfigurationError

if TYPE_CHECKING:
    from tracer.settings import Settings

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def client(settings: Settings) -> Any:
    """This process's ``distributed.Client`` for the configured scheduler (one, reused)."""
    address = settings.training.dask_scheduler_address
    if not address:
        raise ConfigurationError("training.backend is dask but training.dask_scheduler_address is "
                                 "not set (TRACER_TRAINING__DASK_SCHEDULER_ADDRESS)")
    from distributed import Client

    with _clients_lock:
        found = _clients.get(address)
        if found is None or found.status not in ("running", "connecting"):
            found = _clients[address] = Client(address, set_as_default=False, timeout=30)
        return found


def submit(settings: Settings, job_id: str) -> None:
    """Send a claimed job to the cluster; a thread of this process watches the outcome."""
    from distributed import fire_and_forget

    # stores as this process resolves them: the Dask worker's working directory differs
    dumped = settings.model_dump(mode="json")
    portable = {**dumped, "home": str(settings.home.resolve()),
                "database_url": settings.platform_db_url,
                "mlflow": {**dumped["mlflow"], "tracking_uri": settings.tracking_uri,
                           "artifact_root": str(settings.artifact_root)},
                "plugins": {**dumped["plugins"], "dir": str(settings.plugins_path)}}
    future = client(settings).submit(run_job, job_id, portable,
                                     key=f"tracer-training-{job_id}-{uuid.uuid4().hex[:8]}",
                                     pure=False)
    fire_and_forget(future)  # runs to its end even if this process goes
    threading.Thread(target=_watch, args=(settings, job_id, future), daemon=True,
                     name=f"dask-job-{job_id[:8]}").start()


def _watch(settings: Settings, job_id: str, future: Any) -> None:
    from tracer.dispatch import dispatch_after
    from tracer.jobs import fail_unfinished

    try:
        future.result()
    except Exception as exc:  # noqa: BLE001 -- Dask's reason goes on the job
        fail_unfinished(settings, job_id, f"the Dask cluster gave up on the job: "
                        f"{type(exc).__name__}: {exc}")
    finally:
        dispatch_after(settings)  # the slot is free


def run_job(job_id: str, settings_json: dict[str, Any]) -> str:
    """The task, in a Dask worker: one supervised attempt of the job; its status after."""
    import os

    from distributed import get_worker

    from tracer.jobs import worker_env
    from tracer.settings import Settings
    from tracer.supervise import supervise

    settings = Settings(**settings_json)
    env = {**os.environ, **{k: v for k, v in worker_env(settings).items()
                            if k.startswith("TRACER_")}}
    return supervise(settings, job_id, env, f"dask {get_worker().address}")


def close_clients() -> None:
    """Close this process's clients (tests; a server keeps its client for its life)."""
    with _clients_lock:
        for found in _clients.values():
            found.close()
        _clients.clear()
