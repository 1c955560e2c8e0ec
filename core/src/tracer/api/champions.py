"""The champion of each tenant model, kept in memory and swapped when its alias moves.

A prediction waits on MLflow only for a model's first request. After that the alias is
re-checked off the request path every ``api.champion_refresh_seconds`` per model (the training
worker and other API workers move aliases from other processes) while requests keep being
answered by the cached champion; the new version is swapped in once loaded. A request past
the interval starts the check; the serving app's sweeper (:meth:`ChampionCache.watch`)
checks every cached model each interval even when no request comes, so an alias moved
anywhere is served by every worker within ``api.champion_refresh_seconds`` plus the time to
load the new version (docs/consistency.md). Promotions and rollbacks through this
worker's API invalidate its entry at once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracer.errors import NotFoundError
from tracer.lifecycle import model_name_for
from tracer.scoring import Scorer
from tracer.tracking import CHAMPION, ModelStore

if TYPE_CHECKING:
    from tracer.domain import Domain
    from tracer.host import PluginHost
    from tracer.settings import Settings

log = logging.getLogger(__name__)

#: How many champions a server process loads at start (the most recently changed installs).
WARM_LIMIT = 32


@dataclass
class _Entry:
    version: int
    scorer: Scorer
    checked: float


class ChampionCache:
    def __init__(self, host: PluginHost, store: ModelStore) -> None:
        self.host, self.store = host, store
        self._entries: dict[str, _Entry] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def scorer(self, domain: Domain, tenant: str) -> Scorer:
        name = model_name_for(domain, tenant)
        entry = self._entries.get(name)
        now = time.monotonic()
        # read live: settable at run time
        refresh = self.store.settings.api.champion_refresh_seconds
        if entry is not None and refresh == 0:  # no caching asked: check every time
            return self._load(domain, name, entry, tenant)
        if entry is not None:
            if self._claim(name, entry, now, refresh):
                threading.Thread(target=self._refresh, args=(domain, name, tenant),
                                 daemon=True, name=f"champion-refresh {name}").start()
            return entry.scorer
        return self._load(domain, name, None, tenant)

    def _claim(self, name: str, entry: _Entry, now: float, refresh: float) -> bool:
        """Whether ``name`` is due a re-check and nobody is re-checking it; if so, it is now
        ours (requests and the sweeper share this, so one re-check runs at a time)."""
        with self._lock:
            if now - entry.checked < refresh or name in self._refreshing:
                return False
            self._refreshing.add(name)
            entry.checked = now
            return True

    def _refresh(self, domain: Domain, name: str, tenant: str) -> None:
        try:
            self._load(domain, name, self._entries.get(name), tenant)
        except Exception:
            log.warning("refreshing the champion of %s failed; serving the cached one",
                        name, exc_info=True)
        finally:
            self._refreshing.discard(name)

    def _load(self, domain: Domain, name: str, entry: _Entry | None, tenant: str) -> Scorer:
        now = time.monotonic()
        version = self._champion_version(name)
        if version is None:
            raise NotFoundError(f"{domain.name} has no champion model for this tenant yet; "
                                f"start a training job (POST /v1/domains/{domain.name}/jobs)",
                                domain=domain.name)
        if entry is not None and entry.version == version:
            entry.checked = now
            return entry.scorer
        model = self.store.load(name, version)
        fresh = _Entry(version, Scorer(self.host, domain, model, name, version, tenant), now)
        with self._lock:
            self._entries[name] = fresh
        return fresh.scorer

    def watch(self) -> threading.Event:
        """Re-check every cached champion each ``api.champion_refresh_seconds`` in a daemon
        thread (serving apps); returns the event that stops it."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(max(0.2, self.store.settings.api.champion_refresh_seconds)):
                self.sweep()

        threading.Thread(target=loop, daemon=True, name="champion-sweeper").start()
        return stop

    def sweep(self) -> None:
        """Refresh the cached champions not checked for ``api.champion_refresh_seconds``."""
        refresh = self.store.settings.api.champion_refresh_seconds
        now = time.monotonic()
        for name, entry in list(self._entries.items()):
            domain = self.host.domains.get(entry.scorer.domain.name)
            tenant = entry.scorer.tenant
            if domain is None or tenant is None:  # unloaded (revoked) since: nothing to serve
                continue
            if self._claim(name, entry, now, refresh):
                self._refresh(domain, name, tenant)

    def warm(self, settings: Settings, limit: int = WARM_LIMIT) -> int:
        """Load the champions of enabled installs (at most ``limit``) and score each
        in-process one's example record once, so a worker's first requests do not pay for
        the model load or the booster's first prediction. Returns how many are warm."""
        from sqlalchemy import select

        from tracer.db import session
        from tracer.models import DomainInstall
        from tracer.records import example_record, validate_rows

        with session(settings) as s:
            pairs = s.execute(select(DomainInstall.tenant_id, DomainInstall.domain).where(
                DomainInstall.enabled.is_(True), DomainInstall.uninstalled_at.is_(None))
                .order_by(DomainInstall.updated_at.desc()).limit(limit)).all()
        warm = 0
        for tenant, name in pairs:
            try:
                domain = self.host.domain(name)
                scorer = self.scorer(domain, tenant)
                if not self.host.confined(domain):  # a runner starts on its first request
                    scorer.score(validate_rows(domain, [example_record(domain)], single=True))
                warm += 1
            except Exception:  # a cold champion is slow, not wrong
                log.info("warming the champion of %s for %s failed", name, tenant,
                         exc_info=True)
        return warm

    def invalidate(self, domain: Domain, tenant: str) -> None:
        with self._lock:
            self._entries.pop(model_name_for(domain, tenant), None)

    def _champion_version(self, name: str) -> int | None:
        from mlflow.exceptions import MlflowException

        try:
            return int(self.store.client.get_model_version_by_alias(name, CHAMPION).version)
        except MlflowException:
            return None
