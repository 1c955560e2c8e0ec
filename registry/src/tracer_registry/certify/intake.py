"""Certification queued at publish: the upload is answered at once, the validator runs later.

What a real marketplace does: publishing verifies the signature and stores the release in
a second or two; the automated checks take tens of seconds (two trainings in a sandbox),
so publish only ``runs.enqueue``s a run and a worker process does the rest. The worker
(``python -m tracer_registry.certify.worker``, or ``tracer review run-pending`` on a
validator machine) claims pending runs one at a time and calls ``release_review.certify_release``;
the report then waits in the reviewer queue (or requests changes when it failed).

The API launches a worker after each publish (``launch``; one at a time, like training
jobs). An operator who keeps plugin code off the API machine sets
``app.state.certify_on_publish = False`` and runs ``tracer review run-pending`` elsewhere.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select, update
from tracer.db import session, utcnow

from tracer_registry.certify.models import CertificationRun
from tracer_registry.certify.policy import REGISTRY_POLICY, Policy
from tracer_registry.certify.release_review import certify_release

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.orm import Session
    from tracer.settings import Settings

_worker_slot = threading.Semaphore(1)


def _claim_next(settings: Settings, policy: Policy) -> tuple[str, str, str] | None:
    """Atomically move one run to ``running``: a pending one, or one whose worker died
    (running for longer than the sandbox could possibly take)."""
    stale = utcnow() - timedelta(seconds=2 * policy.wall_seconds + 60)
    with session(settings) as s:
        candidates = s.scalars(select(CertificationRun).where(
            (CertificationRun.status == "pending")
            | ((CertificationRun.status == "running") & (CertificationRun.started_at < stale)))
            .order_by(CertificationRun.created_at)).all()
        for run in candidates:
            # the conditional update is the claim: two workers cannot both win one run
            won = cast("CursorResult[Any]", s.execute(update(CertificationRun).where(
                CertificationRun.id == run.id, CertificationRun.status == run.status,
                CertificationRun.attempts == run.attempts).values(
                status="running", started_at=utcnow(), attempts=run.attempts + 1))).rowcount
            if won:
                return run.id, run.plugin, run.version
    return None


def _finish(settings: Settings, run_id: str, *, error: str) -> None:
    with session(settings) as s:
        _mark(s, run_id, error=error)


def _marked_done(run_id: str, s: Session, review_id: str) -> None:
    _mark(s, run_id, review_id=review_id)


def _mark(s: Session, run_id: str, *, review_id: str | None = None,
          error: str | None = None) -> None:
    run = s.get_one(CertificationRun, run_id)  # _claim_next found it
    run.status = "failed" if error else "done"
    run.review_id, run.error, run.finished_at = review_id, error, utcnow()


def run_pending(settings: Settings, policy: Policy = REGISTRY_POLICY,
                limit: int | None = None) -> list[dict[str, Any]]:
    """Certify queued releases one after another; returns what happened to each."""
    from tracer.errors import TracerError

    done: list[dict[str, Any]] = []
    while limit is None or len(done) < limit:
        claimed = _claim_next(settings, policy)
        if claimed is None:
            break
        run_id, plugin, version = claimed
        try:
            # the run is marked done in the review's own transaction: a reader never sees a
            # stored report whose run still says "running"
            review_id = certify_release(settings, plugin, version, policy=policy,
                                        submitted=partial(_marked_done, run_id))
        except TracerError as exc:
            _finish(settings, run_id, error=str(exc)[:2000])
            done.append({"plugin": plugin, "version": version, "status": "failed",
                         "error": str(exc)})
            continue
        except Exception as exc:
            _finish(settings, run_id, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        done.append({"plugin": plugin, "version": version, "status": "done",
                     "review": review_id})
    return done


def launch(settings: Settings) -> threading.Thread:
    """Drain the queue in a worker process started from a background thread."""
    thread = threading.Thread(target=_run_worker, args=(settings,), name="certification",
                              daemon=True)
    thread.start()
    return thread


def _run_worker(settings: Settings) -> None:
    from tracer.jobs import worker_env

    with _worker_slot:  # one validator at a time: each trains models on every core
        subprocess.run([sys.executable, "-m", "tracer_registry.certify.worker"],
                       env=worker_env(settings), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
