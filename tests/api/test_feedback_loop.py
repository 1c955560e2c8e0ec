"""The feedback loop on esports/lol-10min as a tenant runs it over HTTP.

The tenant's world shifted: its data feed reports blue's total gold 30 % high, so the
champion (trained on the first 4,000 reference games) reads every game as a blue lead.
The tenant reports outcomes for 1,000 later games; the drift trigger starts one challenger,
which trains on reference + feedback rows (the tenant's newest outcomes held out), adapts,
and is promoted only because the paired-bootstrap interval of its advantage on the
tenant's window lies above zero. Restraint: no second challenger inside the cooldown or for
the same drift episode. Outcomes are strict integers and can be corrected, with history,
and live metrics are per model version.
"""

from __future__ import annotations

import numpy as np

from tests.api.conftest import LOL, enable, records_of, train_champion, wait_for_job

SHIFT = 1.3  # the tenant's feed reports blue's total gold 30 % high


def shifted(frame):
    return frame.assign(blueTotalGold=(frame["blueTotalGold"] * SHIFT).round().astype(int))


def predict(client, caller, frame) -> list[dict]:
    answer = client.post(f"/v1/domains/{LOL}/predict", headers=caller.headers,
                         json={"records": records_of(frame)})
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def report(client, caller, answers, frame) -> dict:
    outcomes = [{"prediction_id": a["prediction_id"], "outcome": int(y)}
                for a, y in zip(answers, frame["blueWins"], strict=True)]
    answer = client.post("/v1/feedback", headers=caller.headers, json={"outcomes": outcomes})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_shifted_tenant_gets_a_challenger_that_adapts_promoted_only_beyond_noise(
        client, make_caller, host, store, lol_reference):
    settings = store.settings
    settings.api.champion_refresh_seconds = 0
    acme = make_caller("acme")
    enable(client, acme)
    train_champion(host, store, "acme", lol_reference.head(4000))
    assert client.put(f"/v1/domains/{LOL}/retraining-policy", headers=acme.headers,
                      json={"drift_threshold": 0.25}).json()["drift_threshold"] == 0.25
    stream = shifted(lol_reference.iloc[4000:5400]).reset_index(drop=True)

    # outcomes are the integers 0 and 1: JSON true is refused and nothing is stored
    first = predict(client, acme, stream.iloc[:1000])
    refused = client.post("/v1/feedback", headers=acme.headers, json={"outcomes": [
        {"prediction_id": first[0]["prediction_id"], "outcome": True}]})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["where"] == "outcomes[0].outcome"
    assert client.get(f"/v1/predictions/{first[0]['prediction_id']}",
                      headers=acme.headers).json()["outcome"] is None

    # 1,000 outcomes of the shifted world: drift against champion v1 starts one challenger
    reported = report(client, acme, first, stream.iloc[:1000])
    assert reported["recorded"] == 1000 and len(reported["retraining_jobs"]) == 1
    assert reported["retraining"][0]["trigger"] == "drift"
    job = wait_for_job(client, acme, reported["retraining_jobs"][0])
    assert job["status"] == "succeeded", job["error"]
    decisions = client.get(f"/v1/domains/{LOL}/retraining-decisions",
                           headers=acme.headers).json()["decisions"]
    final, started = decisions[0], decisions[1]
    assert started["action"] == "started" and started["numbers"]["champion_version"] == 1
    assert started["numbers"]["feature"] == "gold_lead"
    assert started["numbers"]["max_psi"] >= 0.25

    # it trained on the feedback rows: counts by source on the job, the run and the decision
    assert (job["rows"]["reference"], job["rows"]["datasets"], job["rows"]["feedback"]) == (
        len(lol_reference), 0, 1000)
    by_source = job["rows"]["by_source"]
    assert by_source["training"] == {"reference": len(lol_reference), "datasets": 0,
                                     "feedback": 800}
    assert by_source["evaluation"] == {"reference": 0, "datasets": 0, "feedback": 200}
    numbers = final["numbers"]
    assert numbers["rows_by_source"] == by_source and numbers["tenant_weight"] == 4.0
    assert "automatic (drift)" in final["message"] and "feedback 1,000" in final["message"]
    from sqlalchemy import select
    from tracer.db import session
    from tracer.models import TrainingRun

    with session(settings) as s:
        run = s.scalars(select(TrainingRun).where(
            TrainingRun.model_name == "acme.esports.lol-10min",
            TrainingRun.model_version == job["model_version"])).one()
        assert run.rows["by_source"] == by_source

    # ... and it adapted: promoted only because the whole interval is above zero
    diff = numbers["difference"]
    print(f"\ndrift: PSI of gold_lead {started['numbers']['max_psi']:.3f} against v1; "
          f"champion v1 {numbers['champion']:.4f} vs challenger v2 "
          f"{numbers['challenger']:.4f} on the tenant's {diff['rows']} newest outcomes; "
          f"difference {diff['difference']:+.4f} [{diff['low']:+.4f}, {diff['high']:+.4f}]; "
          f"challenger interval {numbers['challenger_interval']}")
    assert final["action"] == "promoted" and job["promoted"] is True
    assert diff["rows"] == 200 and diff["low"] > 0
    assert numbers["challenger"] > numbers["champion"] + diff["low"] - 1e-9
    assert "beyond noise" in final["message"]

    # restraint: the next outcomes (answered by v2) start nothing inside the cooldown ...
    later = predict(client, acme, stream.iloc[1000:1300])
    assert {a["model"]["version"] for a in later} == {2}
    calm = report(client, acme, later, stream.iloc[1000:1300])
    assert calm["retraining_jobs"] == []
    assert calm["retraining"][0]["reason"].startswith("cooldown")
    # ... nor, without a cooldown, for the drift episode that already had its challenger
    settings.tiers["professional"].retraining_cooldown_hours = 0
    rest = predict(client, acme, stream.iloc[1300:1400])
    quiet = report(client, acme, rest, stream.iloc[1300:1400])
    assert quiet["retraining_jobs"] == []
    reason = quiet["retraining"][0]["reason"]
    assert "episode" in reason or reason.startswith("no drift"), reason
    usage = client.get("/v1/usage", headers=acme.headers).json()
    assert usage["totals"]["training_run"] == 1  # the one run, metered once

    # live metrics per version, next to each version's evaluation
    metrics = client.get(f"/v1/domains/{LOL}/metrics", headers=acme.headers).json()
    versions = {v["version"]: v for v in metrics["versions"]}
    assert metrics["model"]["version"] == 2 and metrics["live"] == versions[2]["live"]
    assert versions[1]["live"]["outcomes"] == 1000 and versions[2]["live"]["outcomes"] == 400
    y1 = stream["blueWins"].to_numpy()[:1000].copy()
    p1 = np.array([a["probability"] for a in first])
    t1 = np.array([a["threshold"] for a in first])
    assert abs(versions[1]["live"]["accuracy"] - np.mean((p1 >= t1) == (y1 == 1))) < 1e-12
    assert versions[2]["live"]["accuracy"] > versions[1]["live"]["accuracy"]
    assert versions[2]["evaluation"]["accuracy"] == numbers["challenger"]
    print(f"live accuracy v1 {versions[1]['live']['accuracy']:.4f} (1,000 outcomes), "
          f"v2 {versions[2]['live']['accuracy']:.4f} (400 outcomes)")

    # drift per version: what each version served against its own training profile
    v1 = client.get(f"/v1/domains/{LOL}/drift?version=1", headers=acme.headers).json()
    v2 = client.get(f"/v1/domains/{LOL}/drift?version=2", headers=acme.headers).json()
    now = client.get(f"/v1/domains/{LOL}/drift", headers=acme.headers).json()
    assert (v1["served_by"], v1["records"], next(iter(v1["features"]))) == (
        "version 1", 500, "gold_lead")
    assert (v2["served_by"], v2["records"]) == ("version 2", 400)
    assert now["model"]["version"] == 2 and now["served_by"] == "every version"
    print(f"drift: v1's answers vs v1 PSI {v1['max_psi']:.3f}; v2's answers vs v2 "
          f"{v2['max_psi']:.3f}; recent answers vs champion v2 {now['max_psi']:.3f}")

    # a wrong outcome is corrected; history kept; v1's live metrics follow
    outcome_id = reported["outcome_ids"][0]
    old = int(y1[0])
    fixed = client.post(f"/v1/outcomes/{outcome_id}/corrections", headers=acme.headers,
                        json={"outcome": 1 - old, "reason": "result overturned"})
    assert fixed.status_code == 200 and fixed.json()["changed"] is True
    history = client.get(f"/v1/outcomes/{outcome_id}", headers=acme.headers).json()
    assert history["outcome"] == 1 - old and history["corrected_at"] is not None
    assert [(h["old_outcome"], h["new_outcome"], h["reason"], h["by"]["subject"])
            for h in history["history"]] == [(old, 1 - old, "result overturned", "acme")]
    y1[0] = 1 - old
    after = client.get(f"/v1/domains/{LOL}/metrics", headers=acme.headers).json()
    again = {v["version"]: v for v in after["versions"]}
    assert abs(again[1]["live"]["accuracy"] - np.mean((p1 >= t1) == (y1 == 1))) < 1e-12
    assert again[1]["live"]["accuracy"] != versions[1]["live"]["accuracy"]
    bad = client.post(f"/v1/outcomes/{outcome_id}/corrections", headers=acme.headers,
                      json={"outcome": True})
    assert bad.status_code == 422
    assert client.get(f"/v1/outcomes/{outcome_id}", headers=acme.headers).json()[
        "outcome"] == 1 - old

    # on demand, a challenger on the same world: promoted if and only if beyond noise
    second = client.post(f"/v1/domains/{LOL}/retrain", headers=acme.headers)
    assert second.status_code == 202
    job = wait_for_job(client, acme, second.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    latest = client.get(f"/v1/domains/{LOL}/retraining-decisions",
                        headers=acme.headers).json()["decisions"][0]
    diff = latest["numbers"]["difference"]
    print(f"on demand: v3 {latest['numbers']['challenger']:.4f} vs champion v2 "
          f"{latest['numbers']['champion']:.4f} on {diff['rows']} outcomes v2 never saw; "
          f"difference {diff['difference']:+.4f} [{diff['low']:+.4f}, {diff['high']:+.4f}]: "
          f"{latest['action']}")
    assert latest["trigger"] == "on_demand" and "Why: on demand" in latest["message"]
    assert job["rows"]["by_source"]["evaluation"] == {"reference": 0, "datasets": 0,
                                                      "feedback": 280}
    assert (latest["action"] == "promoted") == (diff["low"] > 0)
    assert client.get("/v1/usage", headers=acme.headers).json()["totals"]["training_run"] == 2
    import threading

    for thread in threading.enumerate():  # the launcher threads finish with their workers
        if thread.name.startswith("training-job-"):
            thread.join()
