"""``esports/lol-10min``: League of Legends Diamond games, state at minute 10 → blue wins?

Features are blue-minus-red differences, the quantities commentators talk about; the raw
columns are exactly redundant in places (``redGoldDiff = -blueGoldDiff``,
``blueKills = redDeaths``), so differences lose nothing and read better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, create_model
from tracer import Baseline, Domain, hookimpl

from tracer_esports import data_path, explain_matchup

_TEAM_COLUMNS: list[tuple[str, type, str]] = [
    ("WardsPlaced", int, "wards placed"),
    ("WardsDestroyed", int, "enemy wards destroyed"),
    ("FirstBlood", int, "1 if the team drew first blood"),
    ("Kills", int, "champion kills"),
    ("Deaths", int, "deaths"),
    ("Assists", int, "assists"),
    ("EliteMonsters", int, "dragons plus heralds"),
    ("Dragons", int, "dragons slain"),
    ("Heralds", int, "rift heralds slain"),
    ("TowersDestroyed", int, "enemy towers destroyed"),
    ("TotalGold", int, "total gold"),
    ("AvgLevel", float, "average champion level"),
    ("TotalExperience", int, "total experience"),
    ("TotalMinionsKilled", int, "minions killed"),
    ("TotalJungleMinionsKilled", int, "jungle monsters killed"),
    ("GoldDiff", int, "own gold minus enemy gold"),
    ("ExperienceDiff", int, "own experience minus enemy experience"),
    ("CSPerMin", float, "creep score per minute"),
    ("GoldPerMin", float, "gold per minute"),
]
_SIGNED = {"GoldDiff", "ExperienceDiff"}


def _field(kind: type, text: str, signed: bool):
    return (kind, Field(description=text) if signed else Field(ge=0, description=text))


LolGame = create_model(
    "LolGame",
    __doc__="One League of Legends ranked game (Diamond–Master) at minute 10.",
    **{f"{team}{col}": _field(kind, f"{team} team: {text}", col in _SIGNED)
       for team in ("blue", "red") for col, kind, text in _TEAM_COLUMNS},
)


def load_reference() -> pd.DataFrame:
    return pd.read_csv(data_path("lol_diamond_10min_dev.csv.gz"))


#: feature -> (blue column, red column); the feature is blue minus red. Wards, assists,
#: minions and levels were dropped: cross-validation inside the training part did no worse
#: without them (they repeat what gold and experience already say).
_DIFFS = {
    "gold_lead": ("blueTotalGold", "redTotalGold"),
    "experience_lead": ("blueTotalExperience", "redTotalExperience"),
    "kill_lead": ("blueKills", "redKills"),
    "dragon_lead": ("blueDragons", "redDragons"),
    "herald_lead": ("blueHeralds", "redHeralds"),
    "tower_lead": ("blueTowersDestroyed", "redTowersDestroyed"),
}
FEATURES = (*_DIFFS, "blue_first_blood")


DOMAIN = Domain(
    name="esports/lol-10min",
    version="0.1.0",
    title="League of Legends: who wins, from the state at minute 10",
    description=("Probability that the blue side wins a Diamond-ranked solo-queue game, "
                 "from gold, experience, kills and objectives at minute 10."),
    record=LolGame,
    label="blueWins",
    order_by="gameId",
    load_reference=load_reference,
    primary_metric="accuracy",
    # the floor a certified release must reach (the gold rule alone scores ~0.70); the
    # roadmap target of 73 % is reported, and not reached, in the README
    certification_threshold=0.71,
    positive_label=1,
    outcome="blue wins",
    baseline=Baseline("blue leads on gold", lambda r: (r["blueGoldDiff"] > 0).astype(float)),
    # Chosen by time-aware cross-validation inside the training part (five expanding
    # windows, each calibrated like the lifecycle does; see the README): stumps make an
    # additive model whose every factor is one lead, and the monotone constraints say a
    # bigger lead never hurts the leader. No evaluation rows were looked at.
    train_params={"max_depth": 1, "eta": 0.03, "num_boost_round": 1000,
                  "min_child_weight": 5.0, "subsample": 0.8, "colsample_bytree": 0.8,
                  "monotone_constraints": {name: 1 for name in FEATURES}},
    tags=("esports", "league-of-legends", "in-game"),
    license="CC0-1.0 (data); Apache-2.0 (code)",
)


@hookimpl
def tracer_domains():
    return [DOMAIN]


_BLUE = [blue for blue, _ in _DIFFS.values()]
_RED = [red for _, red in _DIFFS.values()]


@hookimpl
def tracer_features(domain, records, state):
    # one array subtraction instead of a pandas operation per column: this runs on every
    # prediction, where per-column pandas overhead was most of a one-row request
    leads = records[_BLUE].to_numpy(dtype=float) - records[_RED].to_numpy(dtype=float)
    out = pd.DataFrame(leads, columns=list(_DIFFS))
    out["blue_first_blood"] = records["blueFirstBlood"].to_numpy(dtype=float)
    return out


@hookimpl
def tracer_features_array(domain, columns, values, state):
    # the same features as tracer_features, on the float matrix serving passes for small
    # batches: index arithmetic instead of a one-row frame
    index = {name: k for k, name in enumerate(columns)}
    blue = values[:, [index[c] for c in _BLUE]]
    red = values[:, [index[c] for c in _RED]]
    first_blood = values[:, [index["blueFirstBlood"]]]
    return [*_DIFFS, "blue_first_blood"], np.hstack([blue - red, first_blood])


_UNITS = {
    "gold_lead": ("gold", "{:,.0f}"), "experience_lead": ("experience", "{:,.0f}"),
    "kill_lead": ("kills", "{:.0f}"), "dragon_lead": ("dragons", "{:.0f}"),
    "herald_lead": ("heralds", "{:.0f}"), "tower_lead": ("towers", "{:.0f}"),
}


def sentence(feature: str, value: float, contribution: float) -> str:
    helps = "helps blue" if contribution > 0 else "helps red"
    if feature == "blue_first_blood":
        who = "Blue" if value >= 0.5 else "Red"
        return f"{who} drew first blood ({helps})"
    noun, fmt = _UNITS[feature]
    if abs(value) < 1e-9:
        return f"Teams are level on {noun} at 10 minutes ({helps})"
    leader = "Blue" if value > 0 else "Red"
    amount = fmt.format(abs(value))
    if noun in ("dragons", "heralds", "towers", "kills") and amount == "1":
        noun = noun[:-1]
    return f"{leader} leads by {amount} {noun} at 10 minutes"


@hookimpl
def tracer_explain(domain, prediction):
    return explain_matchup(prediction, sentence, ("Blue", "Red"), "the teams are even")


__all__ = ["DOMAIN", "LolGame"]
