"""``esports/dota2-draft``: Dota 2 public matches, hero draft before the horn → Radiant wins?

Features are the picks themselves (``hero_42`` = +1 if Radiant picked hero 42, -1 if Dire
did, 0 if neither) plus three draft statistics learned on the training part only (see
``tracer_esports.draft``): hero strength, synergy and counter leads of Radiant over Dire.

The UCI file carries no timestamps (every game falls within about two hours), so the
ordering key ``match_index`` is the position of the game in the original file; the loader
adds it. Tenants supply any number that grows with time (Valve match id, start time).
"""

from __future__ import annotations

from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from pydantic import Field, create_model
from tracer import Baseline, Domain, hookimpl

from tracer_esports import data_path, draft, explain_matchup

HERO_COLUMNS = [f"hero_{k}" for k in range(1, draft.HEROES + 1)]
Pick = Literal[-1, 0, 1]

DotaDraft = create_model(
    "DotaDraft",
    __doc__="One Dota 2 public match (13 August 2016) as the draft before the game starts.",
    cluster_id=(int, Field(ge=0, description="Valve server cluster (tied to a region)")),
    game_mode=(int, Field(ge=0, description="game mode code (2 is the most common)")),
    game_type=(int, Field(ge=0, description="lobby type code")),
    # one keyword per hero column (pydantic's stubs type create_model's keywords)
    **cast("dict[str, Any]", {
        column: (Pick, Field(description=f"hero id {column[5:]}: 1 = picked by Radiant, "
                                         "-1 = picked by Dire, 0 = not picked"))
        for column in HERO_COLUMNS}),
)


def load_reference() -> pd.DataFrame:
    """The UCI training partition, with ``match_index`` = position in the original file."""
    frame = pd.read_csv(data_path("dota2_uci_dev.csv.gz"))
    order = pd.DataFrame({"match_index": np.arange(len(frame), dtype=np.int64)})
    return pd.concat([order, frame], axis=1)


DOMAIN = Domain(
    name="esports/dota2-draft",
    version="0.1.0",
    title="Dota 2: who wins, from the hero draft",
    description=("Probability that Radiant wins a public Dota 2 match, from the ten heroes "
                 "picked, with hero strength, synergy and counter statistics learned from "
                 "past results."),
    record=DotaDraft,
    label="radiant_win",
    order_by="match_index",
    load_reference=load_reference,
    primary_metric="accuracy",
    # the floor a certified release must reach (published draft-only results: 58–61 %);
    # the roadmap target of 60.5 % is reported in the README
    certification_threshold=0.59,
    positive_label=1,
    outcome="Radiant wins",
    baseline=Baseline("Radiant always wins", lambda r: np.ones(len(r))),
    # The domain's candidate on the platform leaderboard (see the README): shallow trees on
    # the picks plus the three draft statistics. eta 0.1 (was 0.05 × 800 rounds) halves the
    # trees so that cross-validating every candidate stays well under a minute.
    train_params={"max_depth": 2, "eta": 0.1, "num_boost_round": 400,
                  "subsample": 0.9, "colsample_bytree": 0.9},
    tags=("esports", "dota-2", "pre-match", "draft"),
    license="CC-BY-4.0 (data: UCI Dota2 Games Results); Apache-2.0 (code)",
)

DRAFT_FEATURES = ("hero_strength_lead", "synergy_lead", "counter_lead")


@hookimpl
def tracer_domains():
    return [DOMAIN]


@hookimpl
def tracer_features(domain, records, state):
    picks = records[HERO_COLUMNS].to_numpy(dtype=np.float64)
    if state.fitting:
        if state.labels is None:  # unlabelled fit (conformance checks): nothing to learn
            state.values["draft"] = draft.empty()
            scores = draft.score(picks, state.values["draft"])
        else:
            won = np.asarray(state.labels, dtype=np.float64)
            state.values["draft"] = draft.learn(picks, won)
            scores = draft.out_of_fold(picks, won)
    else:
        scores = draft.score(picks, state.values.get("draft") or draft.empty())
    out = pd.DataFrame(picks.astype(np.int8), columns=HERO_COLUMNS)
    for name in DRAFT_FEATURES:
        out[name] = scores[name]
    return out


def sentence(feature: str, value: float, contribution: float) -> str:
    side = "Radiant" if contribution > 0 else "Dire"
    if feature.startswith("hero_") and feature[5:].isdigit():
        hero = f"hero {feature[5:]}"
        if value > 0:
            return f"Radiant picked {hero} (helps {side})"
        if value < 0:
            return f"Dire picked {hero} (helps {side})"
        return f"Neither team picked {hero} (helps {side})"
    leader = "Radiant" if value > 0 else "Dire"
    amount = f"{abs(value):.2f} log-odds"
    if abs(value) < 0.005:
        noun = {"hero_strength_lead": "hero strength", "synergy_lead": "hero synergy",
                "counter_lead": "counter-picks"}[feature]
        return f"The drafts are even on {noun} (helps {side})"
    if feature == "hero_strength_lead":
        return f"{leader}'s heroes win more often in past games (by {amount})"
    if feature == "synergy_lead":
        return f"{leader}'s heroes work better together (by {amount})"
    if feature == "counter_lead":
        return f"{leader}'s heroes counter the enemy's picks (by {amount})"
    return f"{feature} = {value:g} (helps {side})"


@hookimpl
def tracer_explain(domain, prediction):
    return explain_matchup(prediction, sentence, ("Radiant", "Dire"), "the drafts are even",
                           context=" on the draft")


__all__ = ["DOMAIN", "DotaDraft", "HERO_COLUMNS"]
