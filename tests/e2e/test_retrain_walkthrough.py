"""Studio's whole retraining walkthrough on census-like data, twice: over
HTTP as a Studio client would do it, and with the `relearn` command line.

Classic way: publish the training and predictive services, score, retrain
through the training service's batch API on shifted data, read the
evaluation, add an endpoint and Update Resource (PATCH) it with exactly the
location the job returned. New-style way: export the definition, point the
trained-model asset at the new model, import it. Then roll the added endpoint
back. At every step each endpoint answers exactly what `relearn score` writes
for the same rows with the model it should be serving (every cell compared
as text), and the history says what happened and which job made the model."""
import csv
import json
import time

import requests

from conftest import Cli
from daemon_helpers import (answer_table, bearer, classic_body, csv_text_rows, download_model,
                            score_locally, session, upload)

RESOURCE = "census [trained model]"


def make_data(cli, tmp_path):
    census, new = tmp_path / "census.csv", tmp_path / "new.csv"
    cli("generate", "census", "--rows", 4000, "--seed", 7, "--out", census)
    cli("generate", "census", "--rows", 4000, "--seed", 9, "--shift", 1, "--out", new)
    return census, new


def fetch(loc):
    """A blob through the reference a job status gave, with no credential
    but its signed token."""
    r = requests.get(loc["BaseLocation"] + loc["RelativeLocation"] + loc["SasBlobToken"],
                     timeout=120)
    assert r.status_code == 200, r.text[:500]
    return r.content


class Rows:
    """The fixed rows every endpoint is asked about (shifted data, no label)."""

    def __init__(self, path, workdir, n=40):
        self.cols, self.rows = csv_text_rows(path, limit=n)
        self.workdir = workdir
        self.n = 0

    def asked(self, s, endpoint):
        r = s.post(endpoint["ApiLocation"] + "/execute?api-version=2.0",
                   json=classic_body(self.cols, self.rows),
                   headers=bearer(endpoint["PrimaryKey"]), timeout=120)
        assert r.status_code == 200, r.text[:1000]
        return answer_table(r.json())

    def scored(self, model):
        """What build/<mode>/relearn score writes for the rows with model."""
        self.n += 1
        return score_locally(model, self.cols, self.rows, self.workdir, f"walk{self.n}")

    def check(self, s, endpoint, model, what):
        got, want = self.asked(s, endpoint), self.scored(model)
        assert got[0] == want[0], what
        assert len(got[1]) == len(want[1]) == len(self.rows), what
        for i, (g, w) in enumerate(zip(got[1], want[1])):
            assert g == w, f"{what}, row {i + 1}: {g} != {w}"


def evaluation_of(data):
    rows = list(csv.DictReader(data.decode().splitlines()))
    assert len(rows) == 1, rows
    return rows[0]


def check_history_evaluation(entry, ev):
    assert entry["Evaluation"]["AUC"] == float(ev["AUC"])
    assert entry["Evaluation"]["Accuracy"] == float(ev["Accuracy"])
    assert entry["Evaluation"]["Rows"] == int(ev["Rows"])


def test_retraining_walkthrough_http(daemon, tmp_path):
    d, s, cli = daemon, session(), Cli(tmp_path)
    census, new = make_data(cli, tmp_path)
    token = bearer(d.token)
    ws = f"{d.url}/workspaces/default"

    # 1. Publish the training and the predictive web service.
    upload(s, d, census, "data/census.csv")
    r = s.post(f"{ws}/webservices",
               json={"Name": "census", "TrainingData": {"RelativeLocation": "data/census.csv"},
                     "Label": "income", "Learner": "two-class-boosted-decision-tree",
                     "Parameters": {"number-of-trees-constructed": 30}},
               headers=token, timeout=600)
    assert r.status_code == 201, r.text
    pub = r.json()
    train, pred = pub["TrainingService"], pub["PredictiveService"]
    base = f"{ws}/webservices/{pred['Id']}"
    default = s.get(f"{base}/endpoints/default", headers=token).json()
    original = download_model(default)
    rows = Rows(new, tmp_path)

    # 2. Score: the default endpoint answers as `relearn score` with the model
    # behind its Resources location.
    rows.check(s, default, original, "published default endpoint")

    # 3. Retrain through the training service's batch API on shifted data.
    upload(s, d, new, "data/new.csv")
    job_body = {"Inputs": {"input1": {"ConnectionString": "", "RelativeLocation": "data/new.csv"}},
                "Outputs": {"output1": {"RelativeLocation": "results/model.ilearner"},
                            "output2": {"RelativeLocation": "results/eval.csv"}},
                "GlobalParameters": {}}
    key = bearer(train["PrimaryKey"])
    r = s.post(f"{train['ApiLocation']}/jobs?api-version=2.0", json=job_body, headers=key)
    assert r.status_code == 200, r.text
    job = r.json()
    r = s.post(f"{train['ApiLocation']}/jobs/{job}/start?api-version=2.0", headers=key)
    assert r.status_code == 204, r.text
    deadline = time.monotonic() + 600
    while True:
        st = s.get(f"{train['ApiLocation']}/jobs/{job}?api-version=2.0", headers=key).json()
        if st["StatusCode"] in ("Finished", "Failed", "Cancelled") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert st["StatusCode"] == "Finished", st
    out1, out2 = st["Results"]["output1"], st["Results"]["output2"]

    # 4. Read the evaluation (output2) and the new model (output1).
    ev = evaluation_of(fetch(out2))
    assert 0.5 < float(ev["AUC"]) <= 1.0, ev
    retrained = fetch(out1)
    assert retrained != original

    # 5. Add an endpoint; it starts with the service's model.
    r = s.put(f"{base}/endpoints/retrained", json={"Description": "retrained on new data"},
              headers=token)
    assert r.status_code == 201, r.text
    added = r.json()
    rows.check(s, added, original, "new endpoint before Update Resource")

    # 6. Update Resource with exactly the location the job returned.
    patch = {"Resources": [{"Name": RESOURCE,
                            "Location": {"BaseLocation": out1["BaseLocation"],
                                         "RelativeLocation": out1["RelativeLocation"],
                                         "SasBlobToken": out1["SasBlobToken"]}}]}
    r = s.patch(f"{base}/endpoints/retrained", json=patch, headers=token)
    assert r.status_code == 200, r.text
    assert r.json()["Version"] == added["Version"] + 1

    # 7. The added endpoint answers as `relearn score` with the retrained
    # model; the default endpoint still with the original.
    rows.check(s, added, retrained, "added endpoint after Update Resource")
    rows.check(s, default, original, "default endpoint after Update Resource")
    assert rows.asked(s, added) != rows.asked(s, default)

    # 8. New-style on the default endpoint: export the definition, point the
    # trained model at the new blob, import it.
    definition = s.get(f"{base}/definition", headers=token).json()
    assets = definition["properties"]["assets"]
    trained = [a for a in assets.values() if a["type"] == "Resource"]
    assert len(trained) == 1 and trained[0]["name"] == RESOURCE
    assert trained[0]["locationInfo"]["uri"].endswith(".ilearner")
    trained[0]["locationInfo"]["uri"] = out1["BaseLocation"] + out1["RelativeLocation"]
    r = s.put(f"{base}/definition", json=definition, headers=token)
    assert r.status_code == 200, r.text
    rows.check(s, default, retrained, "default endpoint after the definition update")
    rows.check(s, added, retrained, "added endpoint after the definition update")
    # The definition now says so, and the default endpoint's Resources too.
    default = s.get(f"{base}/endpoints/default", headers=token).json()
    assert download_model(default) == retrained
    uri = [a for a in s.get(f"{base}/definition", headers=token).json()["properties"][
        "assets"].values() if a["type"] == "Resource"][0]["locationInfo"]["uri"]
    assert uri == default["Resources"][0]["Location"]["BaseLocation"] + \
        default["Resources"][0]["Location"]["RelativeLocation"]

    # 9. Roll the added endpoint back: the original model again.
    r = s.post(f"{base}/endpoints/retrained/rollback", headers=token)
    assert r.status_code == 200, r.text
    rows.check(s, added, original, "added endpoint after rollback")
    rows.check(s, default, retrained, "default endpoint after the added one's rollback")

    # 10. The histories: what, when, by whom, from which job, which file.
    h = s.get(f"{base}/endpoints/retrained/history", headers=token).json()
    assert [x["Action"] for x in h] == ["publish", "update-resource", "rollback"]
    assert [x["Seq"] for x in h] == [1, 2, 3]
    assert h[1]["JobId"] == job and h[0]["JobId"] is None
    assert all(x["Credential"] == "workspace token" and x["Time"].endswith("Z") for x in h)
    assert h[1]["Model"]["Sha256"] != h[0]["Model"]["Sha256"]
    assert h[2]["Model"] == h[0]["Model"]
    check_history_evaluation(h[1], ev)
    hd = s.get(f"{base}/endpoints/default/history", headers=token).json()
    assert [x["Action"] for x in hd] == ["publish", "definition-update"]
    assert hd[1]["JobId"] == job and hd[1]["Model"] == h[1]["Model"]
    check_history_evaluation(hd[1], ev)
    assert hd[0]["Evaluation"]["AUC"] == pub["Evaluation"]["AUC"]


def test_retraining_walkthrough_cli(daemon, tmp_path):
    d, s = daemon, session()
    cli = Cli(tmp_path)
    census, new = make_data(cli, tmp_path)
    env = {"RELEARN_URL": d.url, "RELEARN_TOKEN": d.token}

    def relearn(*args, ok=True):
        return cli(*args, ok=ok, env=env)

    def rjson(*args):
        return json.loads(relearn(*args, "--json").stdout)

    # 1. Publish.
    pub = rjson("publish", "--name", "census", census, "--label", "income", "--learner",
                "two-class-boosted-decision-tree", "--param", "number-of-trees-constructed=30")
    train, pred = pub["TrainingService"], pub["PredictiveService"]
    default = rjson("endpoint", "show", pred["Id"], "default")
    original = download_model(default)
    rows = Rows(new, tmp_path)
    rows.check(s, default, original, "published default endpoint")

    # 2. Retrain: submit (uploading the new data), start, wait.
    sub = rjson("job", "submit", train["Id"], "--input", f"input1=@{new}",
                "--output", "output1=results/model.ilearner",
                "--output", "output2=results/eval.csv")
    job = sub["Id"]
    assert sub["Started"] is False
    relearn("job", "start", job, "--service", train["Id"])
    st = rjson("job", "wait", job, "--service", train["Id"], "--timeout", 600)
    assert st["StatusCode"] == "Finished", st
    out1 = st["Results"]["output1"]
    relearn("blob", "get", "results/eval.csv", tmp_path / "eval.csv")
    ev = evaluation_of((tmp_path / "eval.csv").read_bytes())
    relearn("blob", "get", "results/model.ilearner", tmp_path / "retrained.ilearner")
    retrained = (tmp_path / "retrained.ilearner").read_bytes()
    assert retrained == fetch(out1) and retrained != original
    # The status as `job status` prints it shows the URL to give update-resource.
    url = out1["BaseLocation"] + out1["RelativeLocation"] + out1["SasBlobToken"]
    assert url in relearn("job", "status", job, "--service", train["Id"]).stdout

    # 3. Add an endpoint, Update Resource with the job's output1 URL.
    added = rjson("endpoint", "add", pred["Id"], "retrained", "--description", "retrained",
                  "--max-concurrent-calls", 5)
    assert added["MaxConcurrentCalls"] == 5 and added["Name"] == "retrained"
    p = relearn("endpoint", "add", pred["Id"], "retrained", ok=False)
    assert p.returncode == 1 and "already" in p.stderr
    rows.check(s, added, original, "new endpoint before Update Resource")
    patched = rjson("endpoint", "update-resource", pred["Id"], "retrained", "--location", url)
    assert patched["Version"] == added["Version"] + 1
    rows.check(s, added, retrained, "added endpoint after Update Resource")
    rows.check(s, default, original, "default endpoint after Update Resource")
    # The default endpoint cannot be patched; the CLI says what relearnd said.
    p = relearn("endpoint", "update-resource", pred["Id"], "default", "--location",
                "results/model.ilearner", ok=False)
    assert p.returncode == 2 and "DefaultEndpointNotUpdatable" in p.stderr
    rows.check(s, default, original, "default endpoint after a refused PATCH")
    listed = relearn("endpoint", "list", pred["Id"]).stdout
    assert "default" in listed and "retrained" in listed

    # 4. New-style on the default endpoint: export, edit the uri, import.
    relearn("service", "export", pred["Id"], "--out", tmp_path / "def.json")
    definition = json.loads((tmp_path / "def.json").read_text())
    assert json.loads(relearn("service", "export", pred["Id"]).stdout) == definition
    trained = [a for a in definition["properties"]["assets"].values() if a["type"] == "Resource"]
    assert len(trained) == 1 and trained[0]["name"] == RESOURCE
    first_uri = trained[0]["locationInfo"]["uri"]
    trained[0]["locationInfo"]["uri"] = url  # the signed URL works as a uri too
    (tmp_path / "def.json").write_text(json.dumps(definition, indent=2))
    out = relearn("service", "import", pred["Id"], tmp_path / "def.json").stdout
    assert "updated service" in out
    rows.check(s, default, retrained, "default endpoint after service import")
    # `service update` is the same call: put the first model back with it...
    trained[0]["locationInfo"]["uri"] = first_uri
    (tmp_path / "back.json").write_text(json.dumps(definition))
    relearn("service", "update", pred["Id"], tmp_path / "back.json")
    rows.check(s, default, original, "default endpoint after service update")
    # ...and the retrained one again, as Studio's steps end.
    relearn("service", "update", pred["Id"], tmp_path / "def.json")
    rows.check(s, default, retrained, "default endpoint after the second service update")

    # 5. Roll the added endpoint back.
    back = rjson("endpoint", "rollback", pred["Id"], "retrained")
    assert back["Version"] == patched["Version"] + 1
    rows.check(s, added, original, "added endpoint after rollback")
    rows.check(s, default, retrained, "default endpoint after the added one's rollback")
    p = relearn("endpoint", "rollback", pred["Id"], "retrained", "--to", 99, ok=False)
    assert p.returncode == 4 and "HistoryEntryNotFound" in p.stderr

    # 6. The history, as JSON and as text.
    h = rjson("endpoint", "history", pred["Id"], "retrained")
    assert [x["Action"] for x in h] == ["publish", "update-resource", "rollback"]
    assert h[1]["JobId"] == job
    check_history_evaluation(h[1], ev)
    text = relearn("endpoint", "history", pred["Id"], "retrained").stdout
    assert job in text and "update-resource" in text and "rollback" in text
    assert h[1]["Model"]["Sha256"] in text
    hd = rjson("endpoint", "history", pred["Id"], "default")
    assert [x["Action"] for x in hd] == ["publish"] + ["definition-update"] * 3
    assert [x["JobId"] for x in hd] == [None, job, None, job]

    # 7. The default endpoint rolls back too, and its definition follows.
    relearn("endpoint", "rollback", pred["Id"], "default")
    rows.check(s, default, original, "default endpoint after its rollback")
    now = json.loads(relearn("service", "export", pred["Id"]).stdout)
    assert [a for a in now["properties"]["assets"].values()
            if a["type"] == "Resource"][0]["locationInfo"]["uri"] == first_uri
    assert rjson("endpoint", "history", pred["Id"], "default")[-1]["Action"] == "rollback"

    # 8. Remove the added endpoint; the default serves on.
    p = relearn("endpoint", "rm", pred["Id"], "default", ok=False)
    assert p.returncode == 1 and "DefaultEndpointInUse" in p.stderr
    relearn("endpoint", "rm", pred["Id"], "retrained")
    p = relearn("endpoint", "show", pred["Id"], "retrained", ok=False)
    assert p.returncode == 4
    rows.check(s, default, original, "default endpoint at the end")
