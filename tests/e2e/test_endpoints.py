"""Black-box tests of added endpoints, Update Resource (PATCH), history,
rollback, refresh, new-style definitions and throttling (docs/api.md,
"Endpoints, Update Resource, definitions, history").

The rule under test everywhere: a refused change leaves the old model
serving. Every refusal scores the same fixed rows before and after and
compares the answers cell by cell, and checks that the endpoint's Version,
model location and history did not move."""
import copy
import csv
import hashlib
import json
import random
import socket
import threading
import time

import pytest
import requests

from conftest import Cli, Daemon
from daemon_helpers import (answer_table, assert_error, bearer, classic_body, csv_text_rows,
                            download_model, read_csv, score_locally, session, upload)

RESOURCE = "census [trained model]"
NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}


# ---- the shared service ----

def wait_job(s, service, job, timeout=600):
    url = f"{service['ApiLocation']}/jobs/{job}?api-version=2.0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = s.get(url, headers=bearer(service["PrimaryKey"])).json()
        if st["StatusCode"] in ("Finished", "Failed", "Cancelled"):
            return st
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not finish in {timeout} s")


def fetch(loc):
    r = requests.get(loc["BaseLocation"] + loc["RelativeLocation"] + loc["SasBlobToken"],
                     timeout=120)
    assert r.status_code == 200, r.text[:500]
    return r.content


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One relearnd for the module: census-like data, a published service (20
    trees), and one retraining job through the training service's batch API
    whose outputs (results/retrained.ilearner, results/retrained-eval.csv)
    are the 'good' new model of the tests."""
    root = tmp_path_factory.mktemp("endpoints")
    c = Cli(root)
    c("generate", "census", "--rows", 3000, "--seed", 11, "--out", root / "census.csv")
    c("generate", "census", "--rows", 3000, "--seed", 9, "--shift", 1, "--out", root / "new.csv")
    d = Daemon(root / "data")
    d.start()
    try:
        s = session()
        upload(s, d, root / "census.csv", "data/census.csv")
        upload(s, d, root / "new.csv", "data/new.csv")
        r = s.post(f"{d.url}/workspaces/default/webservices",
                   json={"Name": "census", "TrainingData": {"RelativeLocation": "data/census.csv"},
                         "Label": "income", "Learner": "two-class-boosted-decision-tree",
                         "Parameters": {"number-of-trees-constructed": 20}},
                   headers=bearer(d.token), timeout=600)
        assert r.status_code == 201, r.text
        pub = r.json()
        train = pub["TrainingService"]
        job_body = {"Inputs": {"input1": {"RelativeLocation": "data/new.csv"}},
                    "Outputs": {"output1": {"RelativeLocation": "results/retrained.ilearner"},
                                "output2": {"RelativeLocation": "results/retrained-eval.csv"}},
                    "GlobalParameters": {}}
        r = s.post(f"{train['ApiLocation']}/jobs?api-version=2.0", json=job_body,
                   headers=bearer(train["PrimaryKey"]))
        assert r.status_code == 200, r.text
        job = r.json()
        r = s.post(f"{train['ApiLocation']}/jobs/{job}/start?api-version=2.0",
                   headers=bearer(train["PrimaryKey"]))
        assert r.status_code == 204, r.text
        st = wait_job(s, train, job)
        assert st["StatusCode"] == "Finished", st
        e = {"d": d, "s": s, "root": root, "pub": pub, "job": job, "status": st,
             "original": download_model(pub["PredictiveService"]),
             "retrained": fetch(st["Results"]["output1"])}
        with open(root / "eval.csv", "wb") as f:
            f.write(fetch(st["Results"]["output2"]))
        e["evaluation"] = list(csv.DictReader(open(root / "eval.csv", newline="")))[0]
        assert e["original"] != e["retrained"]
        yield e
    finally:
        assert d.stop() == 0


def pred(env):
    return env["pub"]["PredictiveService"]


def tok(env):
    return bearer(env["d"].token)


def ep_url(env, name, service=None):
    sid = (service or pred(env))["Id"]
    return f"{env['d'].url}/workspaces/default/webservices/{sid}/endpoints/{name}"


def get_ep(env, name):
    r = env["s"].get(ep_url(env, name), headers=tok(env))
    assert r.status_code == 200, r.text
    return r.json()


def stable(ep):
    """An endpoint object without what every read mints anew (the model's
    signed read token), for comparing reads made at different times."""
    ep = copy.deepcopy(ep)
    for res in ep["Resources"]:
        assert res["Location"]["SasBlobToken"].startswith("?")
        res["Location"]["SasBlobToken"] = None
    return ep


def history(env, name):
    r = env["s"].get(ep_url(env, name) + "/history", headers=tok(env))
    assert r.status_code == 200, r.text
    return r.json()


def add_endpoint(env, name, **settings):
    r = env["s"].put(ep_url(env, name), json=settings, headers=tok(env))
    assert r.status_code == 201, r.text
    return r.json()


def fixed_rows(env, n=20):
    return csv_text_rows(env["root"] / "census.csv", limit=n)


def score(env, ep, n=20):
    cols, rows = fixed_rows(env, n)
    r = env["s"].post(ep["ApiLocation"] + "/execute?api-version=2.0",
                      json=classic_body(cols, rows), headers=bearer(ep["PrimaryKey"]),
                      timeout=120)
    assert r.status_code == 200, r.text[:1000]
    return answer_table(r.json())


def local(env, model, n=20, name="local"):
    """What `relearn score` writes for the fixed rows with model (bytes)."""
    cols, rows = fixed_rows(env, n)
    return score_locally(model, cols, rows, env["root"], name)


def sign(env, path, perms="r", seconds=3600, token=None):
    r = env["s"].post(f"{env['d'].url}/storage/sign",
                      json={"Path": path, "Permissions": perms, "ExpirySeconds": seconds},
                      headers=bearer(token or env["d"].token))
    assert r.status_code == 200, r.text
    return r.json()["SasBlobToken"]


def location(env, path, token=True):
    loc = {"BaseLocation": f"{env['d'].url}/storage/", "RelativeLocation": path}
    if token:
        loc["SasBlobToken"] = sign(env, path)
    return loc


def pinned(model):
    """Where relearnd keeps its own copy of a model an endpoint is bound to:
    models/SERVICE/SHA256.ilearner, so that the client may rewrite or delete
    the file it pointed at (a retraining job's fixed output path)."""
    return hashlib.sha256(model).hexdigest() + ".ilearner"


def bound_to(ep):
    res = ep["Resources"]
    assert len(res) == 1 and res[0]["Name"] == RESOURCE and res[0]["Kind"] == "TrainedModel"
    return res[0]["Location"]["RelativeLocation"]


def patch_body(loc, name=RESOURCE):
    return {"Resources": [{"Name": name, "Location": loc}]}


def put_blob(env, path, data):
    r = env["s"].put(f"{env['d'].url}/storage/{path}", data=data, headers=tok(env))
    assert r.status_code == 201, r.text
    return r.json()


def state(env, name):
    """What must not move when a change is refused: the answers, the binding,
    the version and the history of the endpoint (and of the default)."""
    ep = get_ep(env, name)
    dflt = get_ep(env, "default")
    return {"answer": score(env, ep), "default answer": score(env, dflt),
            "version": ep["Version"],
            "model": [x["Location"]["RelativeLocation"] for x in ep["Resources"]],
            "default model": [x["Location"]["RelativeLocation"] for x in dflt["Resources"]],
            "history": history(env, name), "default history": history(env, "default")}


def train_local(env, csv_path, label, name):
    out = env["root"] / f"{name}.ilearner"
    Cli(env["root"])("train", csv_path, "--label", label, "--model-out", out,
                     "--param", "number-of-trees-constructed=5", "--quiet")
    return out.read_bytes()


def rewrite_csv(src, dst, fn):
    """Copies a CSV through fn(header, rows) -> (header, rows)."""
    header, rows = read_csv(src)
    header, rows = fn(header, rows)
    with open(dst, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


# ---- creating, reading, changing endpoints ----

def test_added_endpoint_has_its_own_url_keys_and_the_service_model(env):
    s, d = env["s"], env["d"]
    dflt = get_ep(env, "default")
    ep = add_endpoint(env, "second", Description="for the mobile app", ThrottleLevel="Low")
    assert ep["Name"] == "second" and ep["Description"] == "for the mobile app"
    assert ep["ThrottleLevel"] == "Low" and ep["MaxConcurrentCalls"] == 4
    assert ep["DiagnosticsTraceLevel"] == "None" and ep["Version"] == 1
    assert ep["WebServiceId"] == pred(env)["Id"] and ep["WorkspaceId"] == "default"
    assert ep["ApiLocation"].startswith(f"{d.url}/workspaces/default/services/")
    assert ep["ApiLocation"] != dflt["ApiLocation"]
    assert ep["HelpLocation"] == ep["ApiLocation"] + "/help"
    keys = {ep["PrimaryKey"], ep["SecondaryKey"], dflt["PrimaryKey"], dflt["SecondaryKey"]}
    assert len(keys) == 4
    # It starts with the service's current model.
    assert [x["Name"] for x in ep["Resources"]] == [RESOURCE]
    assert (ep["Resources"][0]["Location"]["RelativeLocation"] ==
            dflt["Resources"][0]["Location"]["RelativeLocation"])
    assert score(env, ep) == score(env, dflt) == local(env, env["original"])
    # Its keys open it and only it.
    cols, rows = fixed_rows(env, 2)
    body = classic_body(cols, rows)
    assert_error(s.post(ep["ApiLocation"] + "/execute?api-version=2.0", json=body,
                        headers=bearer(dflt["PrimaryKey"])), 403)
    assert_error(s.post(dflt["ApiLocation"] + "/execute?api-version=2.0", json=body,
                        headers=bearer(ep["SecondaryKey"])), 403)
    r = s.post(ep["ApiLocation"] + "/execute?api-version=2.0", json=body,
               headers=bearer(ep["SecondaryKey"]))
    assert r.status_code == 200
    assert s.get(ep["HelpLocation"], headers=bearer(ep["PrimaryKey"])).status_code == 200
    # Reads: one, and the list (default first).
    assert stable(get_ep(env, "second")) == stable(ep)
    listed = s.get(ep_url(env, "")[:-1], headers=tok(env)).json()
    names = [x["Name"] for x in listed]
    assert names[0] == "default" and "second" in names
    assert [stable(x) for x in listed if x["Name"] == "second"] == [stable(ep)]
    # The history of the new endpoint starts with its creation.
    h = history(env, "second")
    assert len(h) == 1 and h[0]["Seq"] == 1 and h[0]["Action"] == "publish"
    assert h[0]["Model"]["RelativeLocation"] == ep["Resources"][0]["Location"]["RelativeLocation"]
    assert h[0]["Model"]["Sha256"] == hashlib.sha256(env["original"]).hexdigest()
    assert h[0]["Credential"] == "workspace token" and h[0]["JobId"] is None
    # No credential, or an endpoint key, opens no management route.
    assert_error(s.get(ep_url(env, "second")), 401)
    assert_error(s.put(ep_url(env, "third"), json={}, headers=bearer(ep["PrimaryKey"])), 403)
    assert_error(s.get(ep_url(env, "third"), headers=tok(env)), 404, code="EndpointNotFound")


def test_put_on_an_existing_endpoint_changes_its_settings_only(env):
    """PUT is create-or-update: on an existing name it changes Description,
    ThrottleLevel, MaxConcurrentCalls, DiagnosticsTraceLevel and keeps the
    keys, the URL, the creation time and the model binding."""
    s = env["s"]
    ep = add_endpoint(env, "settings")
    # Bind it to the retrained model first: a settings change must keep it.
    r = s.patch(ep_url(env, "settings"), json=patch_body(location(env, "results/retrained.ilearner")),
                headers=tok(env))
    assert r.status_code == 200, r.text
    bound = r.json()
    r = s.put(ep_url(env, "settings"),
              json={"Description": "changed", "ThrottleLevel": "Low", "MaxConcurrentCalls": 7,
                    "DiagnosticsTraceLevel": "All"}, headers=tok(env))
    assert r.status_code == 200, r.text
    now = r.json()
    assert now["Description"] == "changed" and now["ThrottleLevel"] == "Low"
    assert now["MaxConcurrentCalls"] == 7 and now["DiagnosticsTraceLevel"] == "All"
    for k in ("PrimaryKey", "SecondaryKey", "ApiLocation", "CreationTime", "Version"):
        assert now[k] == bound[k], k
    assert bound_to(now) == bound_to(bound)
    assert bound_to(now) == f"models/{pred(env)['Id']}/{pinned(env['retrained'])}"
    assert stable(get_ep(env, "settings")) == stable(now)
    assert score(env, now) == local(env, env["retrained"])
    # An empty PUT changes nothing; a Description alone changes only it.
    r = s.put(ep_url(env, "settings"), json={}, headers=tok(env))
    assert r.status_code == 200 and stable(r.json()) == stable(now)
    r = s.put(ep_url(env, "settings"), json={"Description": "again"}, headers=tok(env))
    assert r.status_code == 200, r.text
    assert stable(r.json()) == stable(dict(now, Description="again"))
    # A bad setting on an existing endpoint changes nothing at all.
    before = stable(get_ep(env, "settings"))
    for body, code in [({"Description": "x", "MaxConcurrentCalls": 0}, "BadMaxConcurrentCalls"),
                       ({"Description": "y", "ThrottleLevel": "Medium"}, "BadThrottleLevel"),
                       ({"Description": 5}, "BadDescription"),
                       ({"Description": "z", "Color": "red"}, "UnknownProperty")]:
        assert_error(s.put(ep_url(env, "settings"), json=body, headers=tok(env)), 400, code=code)
        assert stable(get_ep(env, "settings")) == before
    # The default endpoint's settings change the same way.
    dflt = get_ep(env, "default")
    r = s.put(ep_url(env, "default"), json={"Description": "the default"}, headers=tok(env))
    assert r.status_code == 200, r.text
    assert stable(r.json()) == stable(dict(dflt, Description="the default"))


def test_endpoint_create_refusals(env):
    s, d = env["s"], env["d"]
    before = [stable(x) for x in s.get(ep_url(env, "")[:-1], headers=tok(env)).json()]
    for name in ["Upper", "-lead", "trail-", "a" * 25, "under_score", "dot.name", "sp%20ace"]:
        assert_error(s.put(ep_url(env, name), json={}, headers=tok(env)), 400,
                     code="BadEndpointName")
    for body, code in [({"MaxConcurrentCalls": 0}, "BadMaxConcurrentCalls"),
                       ({"MaxConcurrentCalls": 201}, "BadMaxConcurrentCalls"),
                       ({"MaxConcurrentCalls": "5"}, "BadMaxConcurrentCalls"),
                       ({"MaxConcurrentCalls": 2.5}, "BadMaxConcurrentCalls"),
                       ({"ThrottleLevel": "Medium"}, "BadThrottleLevel"),
                       ({"DiagnosticsTraceLevel": "Verbose"}, "BadDiagnosticsTraceLevel"),
                       ({"Description": "x" * 1025}, "BadDescription"),
                       ({"Name": "x"}, "UnknownProperty")]:
        assert_error(s.put(ep_url(env, "refused"), json=body, headers=tok(env)), 400, code=code)
    r = s.put(ep_url(env, "refused"), data="{not json", headers=tok(env))
    assert_error(r, 400)
    # Training services have no endpoints to add.
    assert_error(s.put(ep_url(env, "extra", env["pub"]["TrainingService"]), json={},
                       headers=tok(env)), 400, code="NotAPredictiveService")
    # Nothing was created by any of them.
    assert [stable(x) for x in s.get(ep_url(env, "")[:-1], headers=tok(env)).json()] == before
    assert_error(s.get(ep_url(env, "refused"), headers=tok(env)), 404)
    # The limits themselves are accepted: 24 characters, 1 and 200 calls.
    edge = "a-" * 11 + "b9"
    assert len(edge) == 24
    assert add_endpoint(env, edge, MaxConcurrentCalls=200)["MaxConcurrentCalls"] == 200
    assert add_endpoint(env, "one", MaxConcurrentCalls=1, ThrottleLevel="High")[
        "MaxConcurrentCalls"] == 1
    assert add_endpoint(env, "9lives")["ThrottleLevel"] == "High"
    assert get_ep(env, "9lives")["MaxConcurrentCalls"] == 20
    # A workspace that is not yours: 403 with another workspace's token.
    r = s.put(f"{d.url}/workspaces/elsewhere", headers=tok(env))
    assert r.status_code == 201, r.text
    other = r.json()["AuthorizationToken"]
    assert_error(s.put(ep_url(env, "theirs"), json={}, headers=bearer(other)), 403)


def test_delete(env):
    s = env["s"]
    ep = add_endpoint(env, "doomed")
    assert score(env, ep)
    assert_error(s.delete(ep_url(env, "default"), headers=tok(env)), 409,
                 code="DefaultEndpointInUse")
    assert score(env, get_ep(env, "default")) == local(env, env["original"])
    r = s.delete(ep_url(env, "doomed"), headers=tok(env))
    assert r.status_code == 204, r.text
    assert_error(s.get(ep_url(env, "doomed"), headers=tok(env)), 404, code="EndpointNotFound")
    assert_error(s.delete(ep_url(env, "doomed"), headers=tok(env)), 404)
    assert_error(s.get(ep_url(env, "doomed") + "/history", headers=tok(env)), 404)
    cols, rows = fixed_rows(env, 1)
    assert_error(s.post(ep["ApiLocation"] + "/execute?api-version=2.0",
                        json=classic_body(cols, rows), headers=bearer(ep["PrimaryKey"])), 404)
    # The name can be taken again: a new endpoint with new keys.
    again = add_endpoint(env, "doomed")
    assert again["PrimaryKey"] != ep["PrimaryKey"]
    assert_error(s.post(again["ApiLocation"] + "/execute?api-version=2.0",
                        json=classic_body(cols, rows), headers=bearer(ep["PrimaryKey"])), 401)
    assert score(env, again) == local(env, env["original"])


# ---- Update Resource ----

def test_update_resource_swaps_the_model_and_records_it(env):
    s = env["s"]
    ep = add_endpoint(env, "retrained")
    dflt_before = score(env, get_ep(env, "default"))
    assert score(env, ep) == local(env, env["original"])
    o1 = env["status"]["Results"]["output1"]
    loc = {k: o1[k] for k in ("BaseLocation", "RelativeLocation", "SasBlobToken")}
    # Requests keep flowing while the model changes: every answer is the old
    # model's or the new one's, and every request sent after the PATCH
    # answered is the new one's.
    old, new = local(env, env["original"], 3, "o3"), local(env, env["retrained"], 3, "n3")
    assert old != new
    cols, rows = fixed_rows(env, 3)
    seen, stop = [], threading.Event()

    def hammer():
        ss = requests.Session()
        while not stop.is_set():
            t0 = time.monotonic()
            r = ss.post(ep["ApiLocation"] + "/execute?api-version=2.0",
                        json=classic_body(cols, rows), headers=bearer(ep["PrimaryKey"]))
            seen.append((t0, r.status_code, answer_table(r.json()) if r.ok else r.text))
    t = threading.Thread(target=hammer)
    t.start()
    time.sleep(0.3)
    r = s.patch(ep_url(env, "retrained"), json=patch_body(loc), headers=tok(env))
    patched_at = time.monotonic()
    time.sleep(0.3)
    stop.set()
    t.join()
    assert r.status_code == 200, r.text
    now = r.json()
    assert now["Version"] == ep["Version"] + 1
    assert now["Resources"][0]["Name"] == RESOURCE
    assert bound_to(now) == f"models/{pred(env)['Id']}/{pinned(env['retrained'])}"
    for k in ("PrimaryKey", "SecondaryKey", "ApiLocation"):
        assert now[k] == ep[k]
    assert seen and all(code == 200 for _, code, _ in seen), seen[:3]
    assert all(a in (old, new) for _, _, a in seen)
    assert all(a == new for t0, _, a in seen if t0 > patched_at)
    assert any(a == new for _, _, a in seen)
    # It answers exactly as `relearn score` with the retrained model; the
    # default endpoint still answers with the original.
    assert score(env, get_ep(env, "retrained")) == local(env, env["retrained"])
    assert score(env, get_ep(env, "default")) == dflt_before == local(env, env["original"])
    # Its Resources location serves the new model's bytes.
    assert download_model(get_ep(env, "retrained")) == env["retrained"]
    # The history: when, who, which job, which file and checksum, and the
    # evaluation of the retraining.
    h = history(env, "retrained")
    assert [x["Seq"] for x in h] == [1, 2]
    assert [x["Action"] for x in h] == ["publish", "update-resource"]
    e = h[1]
    assert e["Credential"] == "workspace token"
    assert e["JobId"] == env["job"]
    assert e["Model"] == {"RelativeLocation": bound_to(now),
                          "Sha256": hashlib.sha256(env["retrained"]).hexdigest()}
    assert e["Time"].endswith("Z") and e["Time"] >= h[0]["Time"]
    assert e["Time"][:10] == time.strftime("%Y-%m-%d", time.gmtime())
    ev = env["evaluation"]
    assert e["Evaluation"]["AUC"] == float(ev["AUC"])
    assert e["Evaluation"]["Accuracy"] == float(ev["Accuracy"])
    assert e["Evaluation"]["Rows"] == int(ev["Rows"])
    # The default endpoint's history did not move.
    assert [x["Action"] for x in history(env, "default")][:1] == ["publish"]


def test_update_resource_refusals_keep_the_old_model(env):
    s, d, root = env["s"], env["d"], env["root"]
    add_endpoint(env, "guarded")
    url = ep_url(env, "guarded")
    before = state(env, "guarded")
    assert before["answer"] == local(env, env["original"])

    # Files to point at: a corrupt copy (one byte flipped), a file that is not
    # a model, and models the endpoint's input cannot feed.
    corrupt = bytearray(env["retrained"])
    corrupt[len(corrupt) // 2] ^= 0x40
    put_blob(env, "results/corrupt.ilearner", bytes(corrupt))
    put_blob(env, "results/notamodel.ilearner", (root / "census.csv").read_bytes()[:5000])
    put_blob(env, "results/empty.ilearner", b"")
    rng = random.Random(5)
    rewrite_csv(root / "census.csv", root / "extra.csv",
                lambda h, rows: (h[:-1] + ["zip"] + h[-1:],
                                 [r[:-1] + [str(rng.randint(10000, 99999))] + r[-1:]
                                  for r in rows]))
    put_blob(env, "results/extra-column.ilearner",
             train_local(env, root / "extra.csv", "income", "extra"))
    put_blob(env, "results/other-label.ilearner",
             train_local(env, root / "census.csv", "sex", "sexlabel"))
    rewrite_csv(root / "census.csv", root / "agetext.csv",
                lambda h, rows: (h, [["y" + r[0]] + r[1:] for r in rows]))
    put_blob(env, "results/age-text.ilearner",
             train_local(env, root / "agetext.csv", "income", "agetext"))
    # A token of another workspace.
    r = s.put(f"{d.url}/workspaces/other", headers=tok(env))
    assert r.status_code == 201, r.text
    other = r.json()["AuthorizationToken"]
    r = s.put(f"{d.url}/storage/results/theirs.ilearner", data=env["retrained"],
              headers=bearer(other))
    assert r.status_code == 201, r.text
    their_token = sign(env, "results/theirs.ilearner", token=other)
    expiring = sign(env, "results/retrained.ilearner", seconds=1)
    good = location(env, "results/retrained.ilearner")
    time.sleep(2.1)

    cases = [
        ("a wrong resource name", patch_body(good, "census [trained modle]"), 400,
         "UnknownResource"),
        ("no resource name", {"Resources": [{"Location": good}]}, 400, "UnknownResource"),
        ("another host", patch_body(dict(good, BaseLocation="http://otherhost.invalid/storage/")),
         400, "UnreachableLocation"),
        ("another store's path", patch_body(dict(good, BaseLocation=f"{d.url}/blobs/")), 400,
         "UnreachableLocation"),
        ("a missing blob", patch_body(location(env, "results/nothing-here.ilearner",
                                               token=False)), 400, "BlobNotFound"),
        ("an expired location", patch_body(dict(good, SasBlobToken=expiring)), 400,
         "ExpiredLocation"),
        ("a token for another blob", patch_body(dict(good, SasBlobToken=sign(
            env, "results/corrupt.ilearner"))), 400, "InvalidLocationToken"),
        ("a write-only token", patch_body(dict(good, SasBlobToken=sign(
            env, "results/retrained.ilearner", perms="w"))), 400, "InvalidLocationToken"),
        ("a tampered token", patch_body(dict(good, SasBlobToken=good["SasBlobToken"][:-2] + "xx")),
         400, "InvalidLocationToken"),
        ("another workspace's token", patch_body(dict(good, RelativeLocation="results/theirs.ilearner",
                                                      SasBlobToken=their_token)), 403,
         "CredentialOfAnotherResource"),
        ("a path outside the store", patch_body(location(env, "results/../x.ilearner",
                                                         token=False)), 400, None),
        ("a corrupt file", patch_body(location(env, "results/corrupt.ilearner")), 400,
         "InvalidModelFile"),
        ("a file that is not a model", patch_body(location(env, "results/notamodel.ilearner")),
         400, "InvalidModelFile"),
        ("an empty file", patch_body(location(env, "results/empty.ilearner")), 400,
         "InvalidModelFile"),
        ("a model needing a column the input lacks",
         patch_body(location(env, "results/extra-column.ilearner")), 400, "IncompatibleSchema"),
        ("a model of another label", patch_body(location(env, "results/other-label.ilearner")),
         400, "IncompatibleSchema"),
        ("a model typing a column otherwise", patch_body(location(env, "results/age-text.ilearner")),
         400, "IncompatibleSchema"),
        ("no Resources", {}, 400, "BadResources"),
        ("two Resources", {"Resources": [patch_body(good)["Resources"][0]] * 2}, 400,
         "BadResources"),
        ("Resources not a list", {"Resources": patch_body(good)["Resources"][0]}, 400,
         "BadResources"),
        ("no Location", {"Resources": [{"Name": RESOURCE}]}, 400, "MissingLocation"),
        ("no RelativeLocation", patch_body({"BaseLocation": good["BaseLocation"]}), 400,
         "MissingLocation"),
    ]
    for what, body, status, code in cases:
        r = s.patch(url, json=body, headers=tok(env))
        det = assert_error(r, status, code=code)
        assert "results/default/" not in det["message"], (what, det)  # internal names stay inside
        assert state(env, "guarded") == before, what
    # The messages say what is wrong.
    det = assert_error(s.patch(url, json=cases[0][1], headers=tok(env)), 400)
    assert RESOURCE in det["message"] and "census [trained modle]" in det["message"]
    det = assert_error(s.patch(url, json=patch_body(location(env, "results/extra-column.ilearner")),
                               headers=tok(env)), 400)
    assert "zip" in det["message"], det
    det = assert_error(s.patch(url, json=patch_body(location(env, "results/other-label.ilearner")),
                               headers=tok(env)), 400)
    assert "sex" in det["message"] and "income" in det["message"], det
    det = assert_error(s.patch(url, json=patch_body(location(env, "results/age-text.ilearner")),
                               headers=tok(env)), 400)
    assert "age" in det["message"], det
    det = assert_error(s.patch(url, json=patch_body(location(env, "results/nothing-here.ilearner",
                                                            token=False)), headers=tok(env)), 400)
    assert "results/nothing-here.ilearner" in det["message"], det
    # Not JSON at all.
    assert_error(s.patch(url, data="{", headers=tok(env)), 400, code="InvalidJson")
    assert state(env, "guarded") == before
    # PATCH of the default endpoint, and any PATCH on the training service.
    assert_error(s.patch(ep_url(env, "default"), json=patch_body(good), headers=tok(env)), 400,
                 code="DefaultEndpointNotUpdatable")
    assert_error(s.patch(ep_url(env, "default", env["pub"]["TrainingService"]),
                         json=patch_body(good), headers=tok(env)), 400,
                 code="NoUpdatableResources")
    assert_error(s.patch(ep_url(env, "default", env["pub"]["TrainingService"]),
                         json=patch_body(good, "census [Training] [trained model]"),
                         headers=tok(env)), 400, code="NoUpdatableResources")
    assert_error(s.patch(ep_url(env, "nosuch"), json=patch_body(good), headers=tok(env)), 404,
                 code="EndpointNotFound")
    assert state(env, "guarded") == before
    # After all that, a good location still works.
    r = s.patch(url, json=patch_body(location(env, "results/retrained.ilearner")),
                headers=tok(env))
    assert r.status_code == 200, r.text
    assert score(env, get_ep(env, "guarded")) == local(env, env["retrained"])


def test_a_model_from_relearn_train_is_accepted(env):
    """The schema check is not stricter than it must be: a model `relearn
    train` makes from data with the same columns is accepted and served as
    `relearn score` scores with it."""
    model = train_local(env, env["root"] / "new.csv", "income", "local-new")
    put_blob(env, "results/local-new.ilearner", model)
    add_endpoint(env, "local")
    r = env["s"].patch(ep_url(env, "local"),
                       json=patch_body(location(env, "results/local-new.ilearner", token=False)),
                       headers=tok(env))
    assert r.status_code == 200, r.text
    assert score(env, get_ep(env, "local"), 50) == local(env, model, 50)
    h = history(env, "local")
    assert h[-1]["JobId"] is None and h[-1]["Action"] == "update-resource"


def test_a_fixed_file_at_the_same_location_is_read_anew(env):
    """A refused file replaced at the same path (a training job run again
    with the same output) is read again, not remembered."""
    s = env["s"]
    rng = random.Random(6)
    root = env["root"]
    rewrite_csv(root / "census.csv", root / "extra2.csv",
                lambda h, rows: (h[:-1] + ["zip"] + h[-1:],
                                 [r[:-1] + [str(rng.randint(10000, 99999))] + r[-1:]
                                  for r in rows]))
    put_blob(env, "results/again.ilearner", train_local(env, root / "extra2.csv", "income", "x2"))
    add_endpoint(env, "again")
    assert_error(s.patch(ep_url(env, "again"), json=patch_body(location(env, "results/again.ilearner")),
                         headers=tok(env)), 400, code="IncompatibleSchema")
    put_blob(env, "results/again.ilearner", env["retrained"])
    r = s.patch(ep_url(env, "again"), json=patch_body(location(env, "results/again.ilearner")),
                headers=tok(env))
    assert r.status_code == 200, r.text
    assert score(env, get_ep(env, "again")) == local(env, env["retrained"])
    assert history(env, "again")[-1]["Model"]["Sha256"] == hashlib.sha256(
        env["retrained"]).hexdigest()


# ---- rollback and refresh ----

def test_rollback(env):
    s = env["s"]
    add_endpoint(env, "back")
    url = ep_url(env, "back")
    before = state(env, "back")
    assert_error(s.post(url + "/rollback", headers=tok(env)), 409, code="NothingToRollBack")
    assert_error(s.post(url + "/rollback", json={}, headers=tok(env)), 409,
                 code="NothingToRollBack")
    assert_error(s.post(url + "/rollback", json={"Seq": 99}, headers=tok(env)), 404,
                 code="HistoryEntryNotFound")
    assert_error(s.post(url + "/rollback", json={"Seq": "1"}, headers=tok(env)), 400,
                 code="BadSeq")
    assert_error(s.get(url + "/rollback", headers=tok(env)), 405)
    assert_error(s.post(ep_url(env, "nosuch") + "/rollback", headers=tok(env)), 404)
    assert_error(s.post(ep_url(env, "default") + "/rollback", headers=tok(env)), 409,
                 code="NothingToRollBack")
    assert state(env, "back") == before
    # Patch, then roll back to the original, then forward by Seq.
    r = s.patch(url, json=patch_body(location(env, "results/retrained.ilearner")),
                headers=tok(env))
    assert r.status_code == 200, r.text
    assert score(env, get_ep(env, "back")) == local(env, env["retrained"])
    r = s.post(url + "/rollback", headers=tok(env))
    assert r.status_code == 200, r.text
    assert r.json()["Version"] == 3
    assert score(env, get_ep(env, "back")) == local(env, env["original"])
    h = history(env, "back")
    assert [x["Action"] for x in h] == ["publish", "update-resource", "rollback"]
    assert h[2]["Model"] == h[0]["Model"]
    r = s.post(url + "/rollback", json={"Seq": 2}, headers=tok(env))
    assert r.status_code == 200, r.text
    assert score(env, get_ep(env, "back")) == local(env, env["retrained"])
    h = history(env, "back")
    assert [x["Action"] for x in h][-1] == "rollback"
    assert h[-1]["Model"] == h[1]["Model"]
    # The default endpoint never moved.
    assert score(env, get_ep(env, "default")) == local(env, env["original"])


def test_refresh(env):
    s = env["s"]
    add_endpoint(env, "fresh")
    url = ep_url(env, "fresh")
    r = s.patch(url, json=patch_body(location(env, "results/retrained.ilearner")),
                headers=tok(env))
    assert r.status_code == 200, r.text
    assert_error(s.post(url + "/refresh", json={"OverwriteResources": "yes"}, headers=tok(env)),
                 400, code="BadOverwriteResources")
    # Without OverwriteResources it keeps its model.
    for body in ({"OverwriteResources": False}, None):
        r = s.post(url + "/refresh", json=body, headers=tok(env))
        assert r.status_code == 200, r.text
        assert score(env, get_ep(env, "fresh")) == local(env, env["retrained"])
    assert len(history(env, "fresh")) == 2
    # With it, it takes the service's current model.
    r = s.post(url + "/refresh", json={"OverwriteResources": True}, headers=tok(env))
    assert r.status_code == 200, r.text
    assert score(env, get_ep(env, "fresh")) == local(env, env["original"])
    h = history(env, "fresh")
    assert h[-1]["Action"] == "refresh"
    assert h[-1]["Model"] == history(env, "default")[-1]["Model"]
    assert_error(s.get(url + "/refresh", headers=tok(env)), 405)


# ---- definitions ----

def test_definition_export_shape(env):
    r = env["s"].get(f"{env['d'].url}/workspaces/default/webservices/{pred(env)['Id']}/definition",
                     headers=tok(env))
    assert r.status_code == 200, r.text
    d = r.json()
    p = d["properties"]
    assert p["title"] == "census" and p["packageType"] == "Graph"
    assert p["realtimeConfiguration"]["maxConcurrentCalls"] >= 1
    assert p["diagnostics"]["level"] in ("None", "Error", "All")
    text = json.dumps(d)
    dflt = get_ep(env, "default")
    for secret in (dflt["PrimaryKey"], dflt["SecondaryKey"], env["d"].token):
        assert secret not in text
    assert "keys" not in p
    cols, _ = fixed_rows(env, 1)
    assert list(p["input"]["properties"]["input1"]["properties"]) == cols
    out = list(p["output"]["properties"]["output1"]["properties"])
    assert out == cols + ["Scored Labels", "Scored Probabilities"]
    assert len(p["exampleRequest"]["inputs"]["input1"][0]) == len(cols)
    res = [a for a in p["assets"].values() if a["type"] == "Resource"]
    assert len(res) == 1 and res[0]["name"] == RESOURCE
    uri = res[0]["locationInfo"]["uri"]
    assert uri == (f"{env['d'].url}/storage/" +
                   dflt["Resources"][0]["Location"]["RelativeLocation"])
    assert all(a["type"] in ("Module", "Resource") and a["locationInfo"]["uri"]
               for a in p["assets"].values())
    nodes, edges = p["package"]["nodes"], p["package"]["edges"]
    assert {"inputId": "input1"} in nodes.values() and {"outputId": "output1"} in nodes.values()
    for e in edges:
        assert e["sourceNodeId"] in nodes and e["targetNodeId"] in nodes
    # The training service has none.
    assert_error(env["s"].get(f"{env['d'].url}/workspaces/default/webservices/"
                              f"{env['pub']['TrainingService']['Id']}/definition",
                              headers=tok(env)), 400, code="NotAPredictiveService")


def test_invalid_definitions_are_refused_whole(env):
    s, d = env["s"], env["d"]
    url = f"{d.url}/workspaces/default/webservices/{pred(env)['Id']}/definition"
    before = s.get(url, headers=tok(env)).json()
    dflt = stable(get_ep(env, "default"))
    answer = score(env, dflt)
    hist = history(env, "default")

    def unchanged():
        assert s.get(url, headers=tok(env)).json() == before
        now = get_ep(env, "default")
        assert stable(now) == dflt
        assert score(env, now) == answer
        assert history(env, "default") == hist
        svc = s.get(f"{d.url}/workspaces/default/webservices/{pred(env)['Id']}",
                    headers=tok(env)).json()
        assert svc["Name"] == "census"

    # Several invalid fields at once (and a valid new model uri beside them):
    # one 400 that lists every problem, and nothing changes.
    bad = copy.deepcopy(before)
    p = bad["properties"]
    p["title"] = ""
    p["description"] = 42
    p["realtimeConfiguration"]["maxConcurrentCalls"] = 0
    p["diagnostics"]["level"] = "Verbose"
    p["packageType"] = "Bundle"
    p["keys"] = {"primary": "mine"}
    res = [k for k, a in p["assets"].items() if a["type"] == "Resource"][0]
    p["assets"][res]["locationInfo"]["uri"] = f"{d.url}/storage/results/retrained.ilearner"
    r = s.put(url, json=bad, headers=tok(env))
    det = assert_error(r, 400, code="InvalidDefinition")
    msg = det["message"]
    for needle in ["6 problems", "properties.title", "properties.description",
                   "maxConcurrentCalls", "properties.diagnostics.level",
                   "properties.packageType", "properties.keys"]:
        assert needle in msg, (needle, msg)
    unchanged()
    # A broken package is listed with the rest.
    bad2 = copy.deepcopy(before)
    mod = [k for k, a in bad2["properties"]["assets"].items() if a["type"] == "Module"][0]
    bad2["properties"]["assets"][mod]["type"] = "Script"
    bad2["properties"]["title"] = "x" * 201
    det = assert_error(s.put(url, json=bad2, headers=tok(env)), 400, code="InvalidDefinition")
    assert "properties.title" in det["message"] and "Script" in det["message"], det
    unchanged()
    bad3 = copy.deepcopy(before)
    bad3["properties"]["assets"][res]["name"] = "renamed [trained model]"
    det = assert_error(s.put(url, json=bad3, headers=tok(env)), 400, code="InvalidDefinition")
    assert RESOURCE in det["message"]
    unchanged()
    # Invalid asset uris: another host, a missing blob, not a model, an
    # incompatible model (left by the refusals test, or made here).
    for uri, code in [("https://example.com/models/m.ilearner", "UnreachableLocation"),
                      (f"{d.url}/storage/results/missing.ilearner", "BlobNotFound"),
                      ("not a uri at all", "UnreachableLocation")]:
        bad4 = copy.deepcopy(before)
        bad4["properties"]["assets"][res]["locationInfo"]["uri"] = uri
        assert_error(s.put(url, json=bad4, headers=tok(env)), 400, code=code)
        unchanged()
    put_blob(env, "results/def-notamodel.ilearner", b"age,income\n1,2\n")
    bad5 = copy.deepcopy(before)
    bad5["properties"]["assets"][res]["locationInfo"]["uri"] = \
        f"{d.url}/storage/results/def-notamodel.ilearner"
    assert_error(s.put(url, json=bad5, headers=tok(env)), 400, code="InvalidModelFile")
    unchanged()
    # Not a definition at all.
    assert_error(s.put(url, json={"title": "x"}, headers=tok(env)), 400, code="BadDefinition")
    assert_error(s.put(url, data="[1,", headers=tok(env)), 400)
    assert_error(s.delete(url, headers=tok(env)), 405)
    unchanged()
    # Putting back what GET gave changes nothing (no new history entry).
    r = s.put(url, json=before, headers=tok(env))
    assert r.status_code == 200, r.text
    assert r.json() == before
    unchanged()


# ---- blobs in use ----

def test_model_files_in_use_cannot_be_deleted(env):
    s, d = env["s"], env["d"]
    add_endpoint(env, "keeper")
    put_blob(env, "results/kept.ilearner", env["retrained"])
    r = s.patch(ep_url(env, "keeper"), json=patch_body(location(env, "results/kept.ilearner")),
                headers=tok(env))
    assert r.status_code == 200, r.text
    copy_path = bound_to(r.json())
    assert copy_path != "results/kept.ilearner"
    # The file the endpoint is bound to cannot go, with the token or a
    # signed delete token.
    assert_error(s.delete(f"{d.url}/storage/{copy_path}", headers=tok(env)), 409,
                 code="BlobInUse")
    dtok = sign(env, copy_path, perms="d")
    assert_error(s.delete(f"{d.url}/storage/{copy_path}{dtok}"), 409, code="BlobInUse")
    # The original model: bound to the default endpoint and in histories.
    orig = bound_to(get_ep(env, "default"))
    assert_error(s.delete(f"{d.url}/storage/{orig}", headers=tok(env)), 409, code="BlobInUse")
    # The file the client pointed at is its own: it may go, and the endpoint
    # keeps serving its copy.
    r = s.delete(f"{d.url}/storage/results/kept.ilearner", headers=tok(env))
    assert r.status_code == 204, r.text
    assert score(env, get_ep(env, "keeper")) == local(env, env["retrained"])
    # Only in a history entry after a rollback: still kept (a rollback needs it).
    r = s.post(ep_url(env, "keeper") + "/rollback", headers=tok(env))
    assert r.status_code == 200, r.text
    assert bound_to(r.json()) == orig
    assert_error(s.delete(f"{d.url}/storage/{copy_path}", headers=tok(env)), 409,
                 code="BlobInUse")
    r = s.get(f"{d.url}/storage/{copy_path}", headers=tok(env))
    assert r.status_code == 200 and r.content == env["retrained"]
    # So rolling forward to it works.
    r = s.post(ep_url(env, "keeper") + "/rollback", json={"Seq": 2}, headers=tok(env))
    assert r.status_code == 200, r.text
    assert score(env, get_ep(env, "keeper")) == local(env, env["retrained"])
    # A model file nothing refers to can go.
    put_blob(env, "results/loose.ilearner", env["retrained"])
    r = s.delete(f"{d.url}/storage/results/loose.ilearner", headers=tok(env))
    assert r.status_code == 204, r.text


# ---- throttling ----

def slow_call(port, path, key, body, seconds, ready, out, i):
    """One RRS call whose body trickles in over `seconds`; out[i] receives
    (status, headers, body, seconds from the end of sending to the answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode())
        ready.wait()
        n = 10
        step = (len(body) + n - 1) // n
        for k in range(n):
            sock.sendall(body[k * step:(k + 1) * step])
            time.sleep(seconds / n)
        sent = time.monotonic()
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        took = time.monotonic() - sent
    finally:
        sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in
               (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    out[i] = (status, headers, payload, took)


def test_throttle_two_concurrent_calls(env):
    """MaxConcurrentCalls 2 under 10 concurrent slow calls: two are served,
    the others get 503 RequestThrottled with Retry-After at once (no queue),
    and nothing else goes wrong."""
    d = env["d"]
    ep = add_endpoint(env, "narrow", MaxConcurrentCalls=2)
    path = ep["ApiLocation"][len(d.url):] + "/execute?api-version=2.0"
    cols, rows = fixed_rows(env, 5)
    body = json.dumps(classic_body(cols, rows)).encode()
    want = local(env, env["original"], 5, "thr")
    for attempt in range(2):
        out = [None] * 10
        ready = threading.Barrier(11)
        threads = [threading.Thread(target=slow_call,
                                    args=(d.port, path, ep["PrimaryKey"], body, 1.5, ready, out, i))
                   for i in range(10)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        ready.wait()
        for t in threads:
            t.join(60)
        total = time.monotonic() - t0
        assert all(o is not None for o in out), out
        codes = sorted(o[0] for o in out)
        assert codes == [200] * 2 + [503] * 8, codes
        for status, headers, payload, took in out:
            assert took < 10, took  # answered when the body is in, never queued
            if status == 503:
                err = json.loads(payload)["error"]
                assert err["code"] == "RequestThrottled"
                assert err["details"][0]["code"] == "RequestThrottled"
                assert int(headers["retry-after"]) >= 1
            else:
                assert answer_table(json.loads(payload)) == want
        assert total < 30, total
    # Once they are done, calls go through again; other endpoints were never
    # limited by this one.
    assert score(env, get_ep(env, "narrow"), 5) == want
    assert score(env, get_ep(env, "default"), 5) == want
    # Raising the limit through PUT takes effect at once.
    r = env["s"].put(ep_url(env, "narrow"), json={"MaxConcurrentCalls": 10}, headers=tok(env))
    assert r.status_code == 200, r.text
    out = [None] * 10
    ready = threading.Barrier(11)
    threads = [threading.Thread(target=slow_call,
                                args=(d.port, path, ep["PrimaryKey"], body, 1.0, ready, out, i))
               for i in range(10)]
    for t in threads:
        t.start()
    ready.wait()
    for t in threads:
        t.join(60)
    assert [o[0] for o in out] == [200] * 10
