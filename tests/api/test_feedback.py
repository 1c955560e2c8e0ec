"""Feedback loop: outcomes for earlier predictions give live metrics, and the retraining
policy trains a challenger that is promoted only because it beats the champion on the same
evaluation records; every decision carries its numbers."""

from __future__ import annotations

from tests.api.conftest import LOL, enable, records_of, upload, wait_for_job


def test_outcomes_trigger_a_challenger_that_beats_a_weak_champion_and_serves(
        client, make_caller, store, lol_reference):
    store.settings.api.champion_refresh_seconds = 0
    acme = make_caller("acme")
    enable(client, acme)
    dataset = upload(client, acme, lol_reference.head(300))
    weak = client.post(f"/v1/domains/{LOL}/jobs", headers=acme.headers, json={
        "use_reference": False, "dataset_ids": [dataset["id"]],
        "candidates": ["domain trainer"],
        "params": {"num_boost_round": 2, "max_depth": 1, "early_stopping_rounds": 0}}).json()
    assert wait_for_job(client, acme, weak["id"])["model_version"] == 1
    policy = client.put(f"/v1/domains/{LOL}/retraining-policy", headers=acme.headers,
                        json={"min_new_outcomes": 60})
    assert policy.status_code == 200
    recent = lol_reference.iloc[7000:7080]
    answers = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                          json={"records": records_of(recent)}).json()["predictions"]
    assert {a["model"]["version"] for a in answers} == {1}
    outcomes = [{"prediction_id": a["prediction_id"], "outcome": int(y)}
                for a, y in zip(answers, recent["blueWins"], strict=True)]
    few = client.post("/v1/feedback", headers=acme.headers, json={"outcomes": outcomes[:40]})
    assert few.json()["recorded"] == 40 and few.json()["retraining_jobs"] == []
    enough = client.post("/v1/feedback", headers=acme.headers,
                         json={"outcomes": outcomes[40:]}).json()
    assert enough["recorded"] == 40 and len(enough["retraining_jobs"]) == 1
    job = wait_for_job(client, acme, enough["retraining_jobs"][0])
    assert job["status"] == "succeeded", job["error"]
    assert job["trigger"] == "outcomes" and job["rows"]["feedback"] == 80
    decisions = client.get(f"/v1/domains/{LOL}/retraining-decisions",
                           headers=acme.headers).json()["decisions"]
    promoted, started = decisions[0], decisions[1]
    assert started["action"] == "started" and started["numbers"]["new_outcomes"] == 80
    assert promoted["action"] == "promoted"
    numbers = promoted["numbers"]
    assert numbers["challenger"] > numbers["champion"] > 0
    assert numbers["evaluation_rows"] == job["rows"]["evaluation"]
    assert job["promoted"] is True and job["model_version"] == 2
    after = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                        json={"record": records_of(recent.head(1))[0]}).json()
    assert after["predictions"][0]["model"]["version"] == 2
    metrics = client.get(f"/v1/domains/{LOL}/metrics", headers=acme.headers).json()
    # live metrics are per version: v2's own answers have no outcomes yet, v1's have 80
    assert metrics["live"]["outcomes"] == 0 and metrics["all_versions"]["outcomes"] == 80
    by_version = {v["version"]: v for v in metrics["versions"]}
    assert by_version[1]["live"]["outcomes"] == 80
    assert 0.0 <= by_version[1]["live"]["accuracy"] <= 1.0
    assert metrics["evaluation"]["accuracy"] == numbers["challenger"]


def test_feedback_is_all_or_nothing_and_repeats_are_harmless(client, make_caller, host,
                                                             store, lol_reference):
    from tests.api.conftest import train_champion

    acme = make_caller("acme")
    enable(client, acme)
    train_champion(host, store, "acme", lol_reference.head(600))
    answers = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                          json={"records": records_of(lol_reference.tail(2))}
                          ).json()["predictions"]
    first, second = (a["prediction_id"] for a in answers)
    bad = client.post("/v1/feedback", headers=acme.headers, json={"outcomes": [
        {"prediction_id": first, "outcome": 1}, {"prediction_id": "nope", "outcome": 0}]})
    assert bad.status_code == 404 and bad.json()["index"] == 1
    assert client.get(f"/v1/predictions/{first}", headers=acme.headers).json()["outcome"] is None
    ok = client.post("/v1/feedback", headers=acme.headers, json={"outcomes": [
        {"prediction_id": first, "outcome": 1}, {"prediction_id": second, "outcome": 0}]})
    assert ok.json()["recorded"] == 2
    again = client.post("/v1/feedback", headers=acme.headers, json={"outcomes": [
        {"prediction_id": first, "outcome": 1}]})
    assert again.json() == {**again.json(), "recorded": 0, "repeats": 1}
    flipped = client.post("/v1/feedback", headers=acme.headers, json={"outcomes": [
        {"prediction_id": first, "outcome": 0}]})
    assert flipped.status_code == 409
    assert flipped.json()["outcome_id"] == ok.json()["outcome_ids"][0]
    drift = client.get(f"/v1/domains/{LOL}/drift", headers=acme.headers).json()
    assert drift["records"] == 2 and drift["status"].startswith("too few records")
