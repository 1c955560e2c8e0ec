"""A server process loads the champions of enabled installs before their first request:
``ChampionCache.warm`` (started by ``tracer serve``) loads each one and scores its example
record; disabled installs and tenants without a champion are skipped, not errors."""

from __future__ import annotations

from tests.api.conftest import LOL, enable, train_champion


def test_warm_loads_enabled_champions_and_skips_the_rest(app, client, make_caller, host,
                                                         store, lol_reference):
    from tracer.api.champions import ChampionCache
    from tracer.lifecycle import model_name_for

    acme, beta = make_caller("acme"), make_caller("beta")
    enable(client, acme)
    enable(client, beta)  # enabled, but no champion trained: skipped
    make_caller("gamma")  # nothing installed
    train_champion(host, store, "acme", lol_reference.head(600))
    cache = ChampionCache(host, store)
    assert cache.warm(store.settings) == 1
    domain = host.domain(LOL)
    assert set(cache._entries) == {model_name_for(domain, "acme")}
    # the warm entry is the one requests get (no second load)
    assert cache.scorer(domain, "acme") is cache._entries[model_name_for(domain, "acme")].scorer
    assert ChampionCache(host, store).warm(store.settings, limit=0) == 0
