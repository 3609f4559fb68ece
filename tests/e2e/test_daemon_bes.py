"""End-to-end tests of batch execution (BES, docs/api.md "Batch") against a
real relearnd: retraining through the training service's jobs (the model
and evaluation a client downloads with the returned signed URLs), scoring
files through the predictive service (byte for byte what `relearn score`
writes), every refusal at job creation, the job routes' statuses, cancelling
a running job, and restarts: a job running when relearnd is SIGKILLed runs
again (and fails after 3 attempts), a job interrupted by SIGTERM or queued
before it runs after the restart without losing an attempt."""
import csv
import hashlib
import json
import time
from urllib.parse import urlparse

import pytest
import requests

from conftest import SANITIZED, Cli, Daemon

ADMIN = "bes-admin-token-0123456789"
SLOW = 5 if SANITIZED else 1
TERMINAL = {"Finished", "Failed", "Cancelled"}
BIG_ROWS = 200000


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def admin():
    return bearer(ADMIN)


class Service:
    """One web service endpoint of a (possibly restarted) daemon: URLs are
    rebuilt from the daemon's current port."""

    def __init__(self, daemon, info):
        self.d = daemon
        self.info = info
        self.path = urlparse(info["ApiLocation"]).path
        self.key = info["PrimaryKey"]

    @property
    def api(self):
        return self.d.url + self.path

    def call(self, method, sub="", key=None, headers=None, **kw):
        h = bearer(key or self.key) if headers is None else headers
        return requests.request(method, f"{self.api}/jobs{sub}?api-version=2.0", headers=h,
                                timeout=60, **kw)

    def create(self, inputs, outputs=None, params=None, ok=True):
        body = {"Inputs": inputs, "GlobalParameters": {} if params is None else params}
        if outputs is not None:
            body["Outputs"] = outputs
        r = self.call("POST", json=body)
        if ok:
            assert r.status_code == 200, r.text
            jid = r.json()
            assert isinstance(jid, str) and len(jid) == 32
            return jid
        return r

    def start(self, jid):
        r = self.call("POST", f"/{jid}/start")
        assert r.status_code == 204, r.text

    def status(self, jid):
        r = self.call("GET", f"/{jid}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, jid, until=TERMINAL, timeout=90, interval=0.05):
        deadline = time.monotonic() + timeout * SLOW
        while True:
            st = self.status(jid)
            if st["StatusCode"] in until:
                return st
            assert time.monotonic() < deadline, f"job {jid} still {st}"
            time.sleep(interval)

    def run(self, inputs, outputs=None):
        jid = self.create(inputs, outputs)
        self.start(jid)
        st = self.wait(jid)
        assert st["StatusCode"] == "Finished", st
        return jid, st


def ref(path, **kw):
    return dict({"ConnectionString": "", "RelativeLocation": path}, **kw)


def download(loc):
    """A blob by its returned location, with no credential but the token."""
    assert loc["ConnectionString"] is None
    r = requests.get(loc["BaseLocation"] + loc["RelativeLocation"] + loc["SasBlobToken"],
                     timeout=60)
    assert r.status_code == 200, r.text
    return r.content


def upload(d, path, local, token=ADMIN):
    with open(local, "rb") as f:
        r = requests.put(f"{d.url}/storage/{path}", data=f, headers=bearer(token), timeout=120)
    assert r.status_code == 201, r.text


def blob_status(d, path, token=ADMIN):
    return requests.get(f"{d.url}/storage/{path}", headers=bearer(token), timeout=60).status_code


def publish(d, root, rows=3000):
    c = Cli(root)
    c("generate", "census", "--rows", rows, "--seed", 7, "--out", root / "census.csv")
    upload(d, "data/census.csv", root / "census.csv")
    r = requests.post(f"{d.url}/workspaces/default/webservices", headers=admin(), timeout=300,
                      json={"Name": "census", "TrainingData": {"RelativeLocation":
                                                               "data/census.csv"},
                            "Label": "income"})
    assert r.status_code == 201, r.text
    pub = r.json()
    return Service(d, pub["TrainingService"]), Service(d, pub["PredictiveService"]), pub


def restart(d, kill=False):
    """Stops d (SIGKILL, or SIGTERM and exit 0) and starts it again on the same
    data directory. The log so far is kept beside it under another name (so
    that the new "listening on" line is the one read); returns that log."""
    if kill:
        d.proc.kill()
        d.proc.wait()
        d.proc = None
    else:
        assert d.stop() == 0
    text = d.log()
    if SANITIZED:
        for marker in ["runtime error", "AddressSanitizer", "LeakSanitizer", "ThreadSanitizer"]:
            assert marker not in text, text
    d.log_path.rename(d.log_path.with_name(f"{d.log_path.name}.{time.monotonic_ns()}"))
    d.start()
    return text


@pytest.fixture(scope="module")
def bes(tmp_path_factory):
    """A relearnd with the census services published and test files uploaded."""
    root = tmp_path_factory.mktemp("bes")
    d = Daemon(root / "data", env={"RELEARN_ADMIN_TOKEN": ADMIN})
    d.start()
    try:
        train, pred, pub = publish(d, root)
        c = Cli(root)
        c("generate", "census", "--rows", 3000, "--seed", 8, "--shift", 1,
          "--out", root / "shifted.csv")
        c("generate", "census", "--rows", 5000, "--seed", 9, "--out", root / "score5k.csv")
        upload(d, "data/shifted.csv", root / "shifted.csv")
        upload(d, "data/score5k.csv", root / "score5k.csv")
        # The endpoint's model, through the Resources location publish gave.
        model = download(pub["PredictiveService"]["Resources"][0]["Location"])
        (root / "endpoint.ilearner").write_bytes(model)
        yield {"d": d, "root": root, "train": train, "pred": pred, "pub": pub, "cli": c}
    finally:
        assert d.stop() == 0


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A census file large enough that scoring it takes a while."""
    root = tmp_path_factory.mktemp("big")
    Cli(root)("generate", "census", "--rows", BIG_ROWS, "--seed", 10, "--out", root / "big.csv")
    return root / "big.csv"


# ---- retraining and scoring ----

def test_retrain_through_training_service(bes, tmp_path):
    train, d, c = bes["train"], bes["d"], bes["cli"]
    jid = train.create({"input1": ref("data/shifted.csv")},
                       {"output1": ref("results/model.ilearner"),
                        "output2": ref("results/eval.csv")})
    st = train.status(jid)
    assert st["StatusCode"] == "NotStarted" and st["Id"] == jid
    assert st["Results"] is None and st["StartTime"] is None and st["EndTime"] is None
    train.start(jid)
    st = train.wait(jid)
    assert st["StatusCode"] == "Finished", st
    assert st["Progress"] == 1.0 and st["Details"] is None
    assert st["CreatedAt"] <= st["StartTime"] <= st["EndTime"]
    res = st["Results"]
    assert set(res) == {"output1", "output2"}
    assert res["output1"]["RelativeLocation"] == "results/model.ilearner"
    assert res["output1"]["BaseLocation"] == d.url + "/storage/"
    assert res["output2"]["RelativeLocation"] == "results/eval.csv"

    model = download(res["output1"])
    assert model.startswith(b"RLMODEL\x1a")
    # Exactly the stored bytes (the store's recorded SHA-256).
    listed = requests.get(f"{d.url}/storage/results?prefix=model", headers=admin()).json()
    assert [x["Sha256"] for x in listed if x["Name"] == "model.ilearner"] == \
        [hashlib.sha256(model).hexdigest()]
    # A new model: trained on the shifted data, not the published one.
    assert model != (bes["root"] / "endpoint.ilearner").read_bytes()
    (tmp_path / "retrained.ilearner").write_bytes(model)
    c("score", tmp_path / "retrained.ilearner", bes["root"] / "shifted.csv",
      "--out", tmp_path / "scored.csv")
    with open(tmp_path / "scored.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0][-2:] == ["Scored Labels", "Scored Probabilities"] and len(rows) == 3001
    shown = json.loads(c("model", "show", tmp_path / "retrained.ilearner").stdout)
    assert "income" in json.dumps(shown)

    ev = list(csv.DictReader(download(res["output2"]).decode().splitlines()))
    assert len(ev) == 1 and 0.5 < float(ev[0]["AUC"]) <= 1.0

    # Outputs left out go to jobs/JOB/NAME.EXT: a model .ilearner, an evaluation .csv.
    jid2, st2 = train.run({"input1": ref("data/shifted.csv")},
                          {"output2": ref("results/eval2.json")})
    assert st2["Results"]["output1"]["RelativeLocation"] == f"jobs/{jid2}/output1.ilearner"
    assert download(st2["Results"]["output1"]).startswith(b"RLMODEL\x1a")
    assert json.loads(download(st2["Results"]["output2"]))["AUC"] > 0.5


def test_predictive_scoring_matches_relearn_score(bes, tmp_path):
    pred, c, root = bes["pred"], bes["cli"], bes["root"]
    c("score", root / "endpoint.ilearner", root / "score5k.csv", "--out", tmp_path / "want.csv")
    c("score", root / "endpoint.ilearner", root / "score5k.csv", "--out", tmp_path / "want.tsv")
    want = (tmp_path / "want.csv").read_bytes()
    assert want.count(b"\n") == 5001

    jid, st = pred.run({"input1": ref("data/score5k.csv")})
    out = st["Results"]["output1"]
    assert out["RelativeLocation"] == f"jobs/{jid}/output1.csv"
    assert download(out) == want

    # A .tsv output, and a .tsv input scored to .csv.
    _, st = pred.run({"input1": ref("/data/score5k.csv")},
                     {"output1": ref("results/scored.TSV")})
    assert download(st["Results"]["output1"]) == (tmp_path / "want.tsv").read_bytes()
    with open(root / "score5k.csv") as f, open(tmp_path / "in.tsv", "w") as g:
        for row in csv.reader(f):
            g.write("\t".join(row) + "\n")
    upload(bes["d"], "data/score5k.tsv", tmp_path / "in.tsv")
    _, st = pred.run({"input1": ref("data/score5k.tsv",
                                    ConnectionString="UseDevelopmentStorage=true")},
                     {"output1": ref("results/from-tsv.csv",
                                     BaseLocation=bes["d"].url + "/storage/")})
    assert download(st["Results"]["output1"]) == want


def test_failed_job_says_why(bes, tmp_path):
    pred, train = bes["pred"], bes["train"]
    (tmp_path / "ragged.csv").write_text("age,workclass\n39,Private\n50,Private,extra\n")
    upload(bes["d"], "data/ragged.csv", tmp_path / "ragged.csv")
    jid = pred.create({"input1": ref("data/ragged.csv")})
    pred.start(jid)
    st = pred.wait(jid)
    assert st["StatusCode"] == "Failed" and st["Results"] is None
    assert st["Details"].startswith("input1: data/ragged.csv:3:"), st["Details"]
    # Columns the model needs are missing: named.
    (tmp_path / "other.csv").write_text("x,y\n1,2\n")
    upload(bes["d"], "data/other.csv", tmp_path / "other.csv")
    jid = train.create({"input1": ref("data/other.csv")})
    train.start(jid)
    st = train.wait(jid)
    assert st["StatusCode"] == "Failed" and "income" in st["Details"], st
    # The worker goes on with the next job.
    pred.run({"input1": ref("data/score5k.csv")})


# ---- refusals ----

def test_create_refusals(bes, tmp_path):
    pred, train, d = bes["pred"], bes["train"], bes["d"]
    before = len(pred.call("GET").json())
    (tmp_path / "notes.txt").write_text("age\n1\n")
    upload(d, "data/notes.txt", tmp_path / "notes.txt")
    good = {"input1": ref("data/score5k.csv")}

    def refused(svc, inputs, outputs=None, params=None, detail=None, text=None, body=None):
        if body is not None:
            r = svc.call("POST", data=body, headers={**bearer(svc.key),
                                                     "Content-Type": "application/json"})
        else:
            r = svc.create(inputs, outputs, params, ok=False)
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["code"] == "BadArgument"
        if detail:
            assert err["details"][0]["code"] == detail, err
        if text:
            assert text in err["details"][0]["message"], err
        return err

    refused(pred, {"input1": ref("data/score5k.csv"), "input9": ref("data/score5k.csv")},
            detail="UnknownInput", text="input9")
    refused(pred, {}, detail="MissingInput", text="input1")
    refused(pred, "input1", detail="InvalidInputs")
    refused(pred, {"input1": "data/score5k.csv"}, detail="InvalidBlobReference")
    refused(pred, {"input1": {"ConnectionString": ""}}, detail="InvalidBlobReference",
            text="RelativeLocation")
    refused(pred, {"input1": ref("data/notes.txt")}, detail="UnsupportedInputFormat",
            text="data/notes.txt")
    refused(pred, {"input1": ref("data/none.csv")}, detail="BlobNotFound", text="data/none.csv")
    refused(pred, {"input1": ref("data/../etc/passwd.csv")}, detail="InvalidBlobPath")
    refused(pred, {"input1": ref("data/score5k.csv", ConnectionString=
                                 "DefaultEndpointsProtocol=https;AccountName=acct;"
                                 "AccountKey=a2V5")},
            detail="InvalidBlobConnectionString")
    refused(pred, {"input1": ref("data/score5k.csv", ConnectionString=
                                 "BlobEndpoint=http://elsewhere.example/storage/")},
            detail="InvalidBlobConnectionString")
    refused(pred, {"input1": ref("data/score5k.csv",
                                 BaseLocation="https://acct.blob.core.windows.net/")},
            detail="InvalidBlobLocation")
    # Outputs: known names, extensions that fit what the experiment writes.
    refused(train, {"input1": ref("data/shifted.csv")}, {"output1": ref("results/m.csv")},
            detail="InvalidOutputExtension",
            text="output1: a trained model must be written to a .ilearner blob, not results/m.csv")
    refused(train, {"input1": ref("data/shifted.csv")}, {"output2": ref("results/e.ilearner")},
            detail="InvalidOutputExtension", text="evaluation")
    refused(pred, good, {"output1": ref("results/s.json")}, detail="InvalidOutputExtension",
            text="a dataset must be written to a .csv, .tsv or .arff blob")
    refused(pred, good, {"output7": ref("results/s.csv")}, detail="UnknownOutput", text="output7")
    refused(pred, good, [], detail="InvalidOutputs")
    refused(pred, good, {"output1": ref("results/s.csv", ConnectionString="AccountName=x")},
            detail="InvalidBlobConnectionString")
    # GlobalParameters: an object, and these services declare none.
    refused(pred, good, params=[], detail="InvalidGlobalParameters")
    refused(pred, good, params={"threshold": "0.5"}, detail="UnknownGlobalParameter",
            text="threshold")
    refused(pred, None, body="{not json", detail="InvalidJson")
    refused(pred, None, body="[1]", detail="InvalidJson")
    # Another workspace's blob is not reachable from this workspace's service.
    r = requests.put(f"{d.url}/workspaces/other", headers=admin())
    assert r.status_code == 201, r.text
    other = r.json()["AuthorizationToken"]
    upload(d, "data/secret.csv", bes["root"] / "score5k.csv", token=other)
    refused(pred, {"input1": ref("data/secret.csv")}, detail="BlobNotFound")
    # The endpoint's model is never overwritten by a job.
    model_rel = bes["pub"]["PredictiveService"]["Resources"][0]["Location"]["RelativeLocation"]
    r = train.create({"input1": ref("data/shifted.csv")}, {"output1": ref(model_rel)}, ok=False)
    assert r.status_code == 409 and r.json()["error"]["details"][0]["code"] == "BlobInUse"
    assert len(pred.call("GET").json()) == before

    # Accepted spellings of the built-in store.
    for inp in [ref("data/score5k.csv", ConnectionString="UseDevelopmentStorage=true"),
                ref("data/score5k.csv", ConnectionString=f"BlobEndpoint={d.url}/storage;"
                                                         "AccountName=relearn"),
                ref("data/score5k.csv", BaseLocation=d.url + "/storage/", SasBlobToken=None),
                {"RelativeLocation": "data/score5k.csv"}]:
        pred.create({"input1": inp}, {}, {})
    r = pred.call("POST", json={"Inputs": good})  # Outputs and GlobalParameters left out
    assert r.status_code == 200, r.text
    assert len(pred.call("GET").json()) == before + 5


# ---- routes and states ----

def test_job_routes_and_states(bes):
    pred, train, d = bes["pred"], bes["train"], bes["d"]
    jid = pred.create({"input1": ref("data/score5k.csv")})
    st = pred.status(jid)
    assert st["StatusCode"] == "NotStarted" and st["Progress"] == 0
    assert st["CreatedAt"].endswith("Z")
    # Credentials: missing or unknown 401, another endpoint's key or a token 403.
    for key, code in [(None, 401), ("nonsense", 401), (train.key, 403), (ADMIN, 403)]:
        h = {} if key is None else bearer(key)
        for method, sub in [("GET", f"/{jid}"), ("GET", ""), ("POST", ""),
                            ("POST", f"/{jid}/start"), ("DELETE", f"/{jid}")]:
            r = pred.call(method, sub, headers=h)
            assert r.status_code == code, (key, method, sub, r.text)
    assert pred.status(jid)["StatusCode"] == "NotStarted"
    r = pred.call("GET", f"/{jid}", headers={"api-key": pred.key})
    assert r.status_code == 200
    r = pred.call("GET", f"/{jid}", key=pred.info["SecondaryKey"])
    assert r.status_code == 200
    # Another service's job, or none: 404 on every job route.
    for sub, method in [(f"/{jid}", "GET"), (f"/{jid}/start", "POST"), (f"/{jid}", "DELETE")]:
        assert train.call(method, sub).status_code == 404
        assert pred.call(method, "/" + "0" * 32 + sub[33:]).status_code == 404
    assert jid not in [j["Id"] for j in train.call("GET").json()]
    # Other methods and paths.
    for method, sub, code in [("PUT", "", 405), ("DELETE", "", 405), ("POST", f"/{jid}", 405),
                              ("PUT", f"/{jid}", 405), ("GET", f"/{jid}/start", 405),
                              ("GET", f"/{jid}/other", 404), ("POST", f"/{jid}/start/x", 404)]:
        assert pred.call(method, sub).status_code == code, (method, sub)

    pred.start(jid)
    st = pred.wait(jid)
    assert st["StatusCode"] == "Finished"
    # Finished: neither started again nor cancelled.
    r = pred.call("POST", f"/{jid}/start")
    assert r.status_code == 409 and r.json()["error"]["code"] == "Conflict"
    r = pred.call("DELETE", f"/{jid}")
    assert r.status_code == 409 and "Finished" in r.text
    listed = pred.call("GET").json()
    mine = [j for j in listed if j["Id"] == jid]
    assert len(mine) == 1 and mine[0]["StatusCode"] == "Finished"
    assert mine[0]["Results"]["output1"]["SasBlobToken"].startswith("?")

    # A job cancelled before it starts never runs.
    jid = pred.create({"input1": ref("data/score5k.csv")})
    assert pred.call("DELETE", f"/{jid}").status_code == 204
    st = pred.status(jid)
    assert st["StatusCode"] == "Cancelled" and st["Details"] and st["EndTime"]
    assert pred.call("POST", f"/{jid}/start").status_code == 409
    assert pred.call("DELETE", f"/{jid}").status_code == 409
    time.sleep(1.2)
    assert pred.status(jid)["StatusCode"] == "Cancelled"
    assert blob_status(d, f"jobs/{jid}/output1.csv") == 404


def test_cancel_running_job(bes, big):
    pred, d = bes["pred"], bes["d"]
    upload(d, "data/big.csv", big)
    jid = pred.create({"input1": ref("data/big.csv")})
    pred.start(jid)
    st = pred.wait(jid, until={"Running"} | TERMINAL, interval=0.01)
    assert st["StatusCode"] == "Running", st
    # Batch work does not block request-response scoring.
    with open(bes["root"] / "score5k.csv") as f:
        rows = list(csv.reader(f))
    r = requests.post(pred.api + "/execute?api-version=2.0", headers=bearer(pred.key),
                      json={"Inputs": {"input1": {"ColumnNames": rows[0], "Values": rows[1:3]}},
                            "GlobalParameters": {}}, timeout=60)
    assert r.status_code == 200, r.text
    assert pred.call("DELETE", f"/{jid}").status_code == 204
    st = pred.wait(jid)
    assert st["StatusCode"] == "Cancelled" and st["Results"] is None, st
    time.sleep(0.5)
    assert pred.status(jid)["StatusCode"] == "Cancelled"
    assert blob_status(d, f"jobs/{jid}/output1.csv") == 404
    assert pred.call("DELETE", f"/{jid}").status_code == 409
    # The worker is free for the next job.
    pred.run({"input1": ref("data/score5k.csv")})


# ---- restarts ----

@pytest.fixture(scope="module")
def rd(tmp_path_factory, big):
    """A relearnd to kill and restart, with its services and the big file."""
    root = tmp_path_factory.mktemp("restart")
    d = Daemon(root / "data", env={"RELEARN_ADMIN_TOKEN": ADMIN})
    d.start()
    try:
        train, pred, _ = publish(d, root, rows=1500)
        upload(d, "data/big.csv", big)
        yield {"d": d, "pred": pred, "train": train, "root": root}
    finally:
        assert d.stop() == 0


def test_sigkill_running_job_runs_again(rd):
    d, pred = rd["d"], rd["pred"]
    jid = pred.create({"input1": ref("data/big.csv")})
    pred.start(jid)
    assert pred.wait(jid, until={"Running"} | TERMINAL, interval=0.01)["StatusCode"] == "Running"
    restart(d, kill=True)
    st = pred.wait(jid)
    assert st["StatusCode"] == "Finished", st
    head = requests.get(f"{d.url}/storage/jobs/{jid}/output1.csv", headers=admin(), stream=True)
    assert head.status_code == 200
    assert sum(chunk.count(b"\n") for chunk in head.iter_content(1 << 20)) == BIG_ROWS + 1

    # Killed while running on every attempt: Failed after 3, saying why; no output.
    jid = pred.create({"input1": ref("data/big.csv")})
    pred.start(jid)
    for attempt in range(3):
        st = pred.wait(jid, until={"Running"} | TERMINAL, interval=0.01)
        assert st["StatusCode"] == "Running", (attempt, st)
        restart(d, kill=True)
    st = pred.wait(jid)
    assert st["StatusCode"] == "Failed", st
    assert "interrupted 3 times" in st["Details"]
    assert blob_status(d, f"jobs/{jid}/output1.csv") == 404


def test_sigterm_requeues_running_and_queued_jobs(rd):
    d, pred = rd["d"], rd["pred"]
    running = pred.create({"input1": ref("data/big.csv")})
    queued = pred.create({"input1": ref("data/census.csv")})
    never = pred.create({"input1": ref("data/census.csv")})  # created, not started
    pred.start(running)
    pred.start(queued)
    # An orderly stop gives the attempt back: more stops than the attempt limit.
    for _ in range(4):
        st = pred.wait(running, until={"Running"} | TERMINAL, interval=0.01)
        assert st["StatusCode"] == "Running", st
        assert pred.status(queued)["StatusCode"] == "NotStarted"
        log = restart(d)
        assert f"job {running}: interrupted by the stop; queued to run again" in log
    assert pred.wait(running)["StatusCode"] == "Finished"
    st = pred.wait(queued)
    assert st["StatusCode"] == "Finished", st
    assert download(st["Results"]["output1"]).count(b"\n") == 1501
    # A job created but never started stays so across restarts.
    time.sleep(1.2)
    assert pred.status(never)["StatusCode"] == "NotStarted"
