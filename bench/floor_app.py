"""The serving floor: the unavoidable work of one explained prediction, and nothing else.

A bare ASGI app (no framework, no database, no auth): parse the JSON record, build the LoL
feature vector, one-row TreeSHAP on the booster Tracer serves, the top five factors, JSON
out. bench/serving.py runs it under uvicorn as the baseline Tracer's figures are divided by.

    FLOOR_MODEL=/path/to/model.json uvicorn bench.floor_app:app
"""

from __future__ import annotations

import math
import os

import numpy as np
import orjson
import xgboost as xgb

BOOSTER = xgb.Booster()
BOOSTER.load_model(os.environ["FLOOR_MODEL"])
BOOSTER.set_param({"nthread": 1})  # as Tracer serves: one row is faster on one thread
NAMES = BOOSTER.feature_names or []
PAIRS = {"gold_lead": ("blueTotalGold", "redTotalGold"),
         "experience_lead": ("blueTotalExperience", "redTotalExperience"),
         "kill_lead": ("blueKills", "redKills"), "dragon_lead": ("blueDragons", "redDragons"),
         "herald_lead": ("blueHeralds", "redHeralds"),
         "tower_lead": ("blueTowersDestroyed", "redTowersDestroyed")}


def features(record: dict) -> np.ndarray:
    row = [record["blueFirstBlood"] if name == "blue_first_blood"
           else record[PAIRS[name][0]] - record[PAIRS[name][1]] for name in NAMES]
    return np.asarray([row], dtype=np.float32)


def answer(body: bytes) -> bytes:
    record = orjson.loads(body)["record"]
    matrix = xgb.DMatrix(features(record), feature_names=NAMES, nthread=1)
    contribs = BOOSTER.predict(matrix, pred_contribs=True, validate_features=False)[0]
    logit = float(contribs.sum())
    order = np.argsort(-np.abs(contribs[:-1]))[:5]
    return orjson.dumps({"probability": 1 / (1 + math.exp(-logit)), "factors": [
        {"feature": NAMES[i], "contribution": float(contribs[i])} for i in order]})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    payload = answer(body) if scope["method"] == "POST" else b"{}"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})
