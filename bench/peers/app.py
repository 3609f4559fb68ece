"""A Python scoring service answering Studio's request-response shape, the
way people serve scikit-learn and xgboost models: Flask (under gunicorn) or
FastAPI (under uvicorn). PEER_MODEL names a pickled bench/peers/model.py
Pipeline.

  gunicorn -w 2 -b 127.0.0.1:PORT 'app:flask_app'
  uvicorn --workers 2 --port PORT app:fastapi_app
"""
import os
import pickle
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with open(os.environ["PEER_MODEL"], "rb") as f:
    PIPELINE = pickle.load(f)


def answer(body):
    data = body["Inputs"]["input1"]
    df = pd.DataFrame(data["Values"], columns=data["ColumnNames"])
    for c in PIPELINE.numeric:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    labels, probs = PIPELINE.score(df)
    names = list(data["ColumnNames"]) + ["Scored Labels", "Scored Probabilities"]
    values = [[str(v) for v in row] + [lab, repr(float(p))]
              for row, lab, p in zip(data["Values"], labels, probs)]
    return {"Results": {"output1": {"type": "DataTable",
                                    "value": {"ColumnNames": names, "Values": values}}}}


def make_flask():
    from flask import Flask, jsonify, request
    app = Flask("peer")

    @app.post("/execute")
    def execute():
        return jsonify(answer(request.get_json(force=True)))

    return app


def make_fastapi():
    from fastapi import FastAPI, Request
    app = FastAPI()

    @app.post("/execute")
    async def execute(request: Request):
        return answer(await request.json())

    return app


flask_app = make_flask() if os.environ.get("PEER_KIND") == "flask" else None
fastapi_app = make_fastapi() if os.environ.get("PEER_KIND") == "fastapi" else None
