"""The first half of Studio's retraining walkthrough on census-like data,
over HTTP only (requests, and curl for uploads): publish, score through RRS
in both body formats, upload shifted data, retrain through the training
service's batch API, download the new model and its evaluation, and check
that the new model is what the engine trains from that data and that it is
better on shifted data than the original one."""
import csv
import json
import subprocess
import time

import requests

from conftest import Cli, binary
from daemon_helpers import (answer_table, assert_error, bearer, classic_body, csv_text_rows,
                            curl_upload, download_model, read_csv, score_locally, session,
                            swagger_body)


def bes(s, service, method, path="", body=None):
    url = f"{service['ApiLocation']}/jobs{path}?api-version=2.0"
    return s.request(method, url, json=body, headers=bearer(service["PrimaryKey"]), timeout=120)


def wait_job(s, service, job, timeout=600):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = bes(s, service, "GET", f"/{job}")
        assert r.status_code == 200, r.text
        last = r.json()
        assert 0.0 <= last["Progress"] <= 1.0, last
        if last["StatusCode"] in ("Finished", "Failed", "Cancelled"):
            return last
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not finish in {timeout} s: {last}")


def fetch(location):
    """A blob through its reference, with no credential but the signed token."""
    assert location["BaseLocation"].endswith("/storage/"), location
    r = requests.get(location["BaseLocation"] + location["RelativeLocation"] +
                     location["SasBlobToken"], timeout=120)
    assert r.status_code == 200, r.text[:500]
    return r.content


def auc_of(model, data, workdir, name):
    """AUC of model on data (scored by `relearn score`, measured by `relearn evaluate`)."""
    scored = workdir / f"{name}.scored.csv"
    subprocess.run([binary("relearn"), "score", str(model), str(data), "--out", str(scored)],
                   check=True, capture_output=True)
    p = subprocess.run([binary("relearn"), "evaluate", str(scored), "--label", "income"],
                       check=True, capture_output=True, text=True)
    return json.loads(p.stdout)["AUC"]


def test_retraining_walkthrough(daemon, tmp_path):
    d, s, cli = daemon, session(), Cli(tmp_path)
    original = tmp_path / "census.csv"
    shifted = tmp_path / "new.csv"
    holdout = tmp_path / "holdout.csv"
    cli("generate", "census", "--rows", 4000, "--seed", 7, "--out", original)
    cli("generate", "census", "--rows", 4000, "--seed", 9, "--shift", 1, "--out", shifted)
    cli("generate", "census", "--rows", 2000, "--seed", 10, "--shift", 1, "--out", holdout)
    token = bearer(d.token)

    # 1. Upload the training data (curl) and publish the quick path.
    status, body = curl_upload(f"{d.url}/storage/data/census.csv", original, token)
    assert status == 201, body
    r = s.post(f"{d.url}/workspaces/default/webservices",
               json={"Name": "census", "TrainingData": {"RelativeLocation": "data/census.csv"},
                     "Label": "income", "Learner": "two-class-boosted-decision-tree",
                     "Parameters": {"number-of-trees-constructed": 30}},
               headers=token, timeout=600)
    assert r.status_code == 201, r.text
    pub = r.json()
    train, pred = pub["TrainingService"], pub["PredictiveService"]
    assert pub["Evaluation"]["AUC"] > 0.75

    # 2. Score one row and 100 rows, in both body formats: what `relearn
    # score` writes for the same rows with the endpoint's model.
    model0 = tmp_path / "original.ilearner"
    model0.write_bytes(download_model(pred))
    url = pred["ApiLocation"] + "/execute?api-version=2.0"
    for n in (1, 100):
        cols, rows = csv_text_rows(original, limit=n)
        want = score_locally(model0.read_bytes(), cols, rows, tmp_path, f"rows{n}")
        got = s.post(url, json=classic_body(cols, rows), headers=bearer(pred["PrimaryKey"]))
        assert got.status_code == 200, got.text
        assert answer_table(got.json()) == want
        got = s.post(url + "&format=swagger", json=swagger_body(cols, rows),
                     headers=bearer(pred["SecondaryKey"]))
        assert got.status_code == 200, got.text
        assert answer_table(got.json(), swagger=True) == want

    # 3. Upload the new (shifted) data with curl.
    status, body = curl_upload(f"{d.url}/storage/data/new.csv", shifted, token)
    assert status == 201, body

    # 4. Retrain through the training service's batch API.
    job_body = {"Inputs": {"input1": {"ConnectionString": "", "RelativeLocation": "data/new.csv"}},
                "Outputs": {"output1": {"RelativeLocation": "results/model.ilearner"},
                            "output2": {"RelativeLocation": "results/eval.csv"}},
                "GlobalParameters": {}}
    r = bes(s, train, "POST", body=job_body)
    assert r.status_code == 200, r.text
    job = r.json()
    assert isinstance(job, str) and job
    # The predictive service's key does not open the training service's jobs.
    assert_error(s.post(f"{train['ApiLocation']}/jobs/{job}/start?api-version=2.0",
                        headers=bearer(pred["PrimaryKey"])), 403)
    st = bes(s, train, "GET", f"/{job}").json()
    assert st["StatusCode"] == "NotStarted", st
    r = bes(s, train, "POST", f"/{job}/start")
    assert r.status_code == 204, r.text
    st = wait_job(s, train, job)
    assert st["StatusCode"] == "Finished", st
    assert st["Progress"] == 1.0 and st["Details"] is None
    assert st["CreatedAt"] and st["StartTime"] and st["EndTime"]
    listed = bes(s, train, "GET").json()
    assert job in [x["Id"] for x in listed]

    # 5. Download the new model and the evaluation through the returned locations.
    res = st["Results"]
    assert res["output1"]["RelativeLocation"] == "results/model.ilearner"
    assert res["output2"]["RelativeLocation"] == "results/eval.csv"
    model1 = tmp_path / "retrained.ilearner"
    model1.write_bytes(fetch(res["output1"]))
    evaluation = tmp_path / "eval.csv"
    evaluation.write_bytes(fetch(res["output2"]))
    with open(evaluation, newline="") as f:
        ev = list(csv.DictReader(f))
    assert len(ev) == 1 and 0.5 < float(ev[0]["AUC"]) <= 1.0, ev
    assert model1.read_bytes() != model0.read_bytes()
    Cli(tmp_path)("model", "show", model1)

    # 6. The new model is the one the engine trains from the same data with
    # the training service's experiment: they score bit-identically.
    exp = s.get(f"{d.url}/workspaces/default/webservices/{train['Id']}", headers=token).json()
    (tmp_path / "training.json").write_text(json.dumps(exp["Experiment"]))
    local = tmp_path / "local.ilearner"
    cli("run", tmp_path / "training.json", "--input", f"input1={shifted}", "--output",
        f"output1={local}", "--output", f"output2={tmp_path / 'local-eval.csv'}")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    cli("score", model1, holdout, "--out", a)
    cli("score", local, holdout, "--out", b)
    assert a.read_bytes() == b.read_bytes()
    assert read_csv(tmp_path / "local-eval.csv") == read_csv(evaluation)

    # 7. Retrained on shifted data, it is better on shifted data than the original.
    auc0 = auc_of(model0, holdout, tmp_path, "m0")
    auc1 = auc_of(model1, holdout, tmp_path, "m1")
    assert auc1 > auc0, (auc0, auc1)
    # The predictive service still serves the original model (the second
    # half of the walkthrough would update it).
    cols, rows = csv_text_rows(holdout, limit=5)
    got = s.post(url, json=classic_body(cols, rows), headers=bearer(pred["PrimaryKey"]))
    assert answer_table(got.json()) == score_locally(model0.read_bytes(), cols, rows, tmp_path,
                                                     "still")
