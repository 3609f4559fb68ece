"""Black-box tests of relearnd's HTTP API (docs/api.md), except the blob store
(test_daemon_storage.py), batch jobs (test_walkthrough.py) and restarts
(test_daemon_restart.py): publishing, management reads, keys, workspaces,
request-response scoring checked cell by cell against `relearn score`, key
isolation between endpoints and workspaces, and every error of the contract's
table (400, 401, 403, 404, 405, 409, 413, 503; never 500)."""
import json
import threading

import pytest
import requests

from conftest import ROOT, Cli, Daemon
from daemon_helpers import (answer_table, assert_error, bearer, classic_body, csv_text_rows,
                            download_model, publish, raw_request, score_locally, session,
                            swagger_body, to_json_numbers, upload)

NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
ENDPOINT_FIELDS = {"Name", "Description", "CreationTime", "WorkspaceId", "WebServiceId",
                   "HelpLocation", "PrimaryKey", "SecondaryKey", "ApiLocation", "Resources",
                   "Version", "MaxConcurrentCalls", "DiagnosticsTraceLevel", "ThrottleLevel"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One relearnd for the module with census-like data uploaded and one
    service published (quick path). Tests that change shared state (keys,
    workspaces) publish or create their own."""
    root = tmp_path_factory.mktemp("api")
    c = Cli(root)
    c("generate", "census", "--rows", 3000, "--seed", 11, "--out", root / "census.csv")
    d = Daemon(root / "data")
    d.start()
    try:
        s = session()
        upload(s, d, root / "census.csv", "data/census.csv")
        pub = publish(s, d, "census", "data/census.csv")
        yield {"d": d, "s": s, "root": root, "pub": pub}
        # Keys, tokens and signatures never reach the log.
        log = d.log()
        for secret in [d.token, pub["PredictiveService"]["PrimaryKey"],
                       pub["PredictiveService"]["SecondaryKey"],
                       pub["TrainingService"]["PrimaryKey"]]:
            assert secret not in log
        assert "sig=" not in log
    finally:
        assert d.stop() == 0


def pred(env):
    return env["pub"]["PredictiveService"]


def key(env):
    return bearer(pred(env)["PrimaryKey"])


def execute(env, body, query="", headers=None, sv=None):
    sv = sv or pred(env)
    return env["s"].post(f"{sv['ApiLocation']}/execute?api-version=2.0{query}", json=body,
                         headers=headers if headers is not None else bearer(sv["PrimaryKey"]),
                         timeout=300)


def rows_of(env, n):
    return csv_text_rows(env["root"] / "census.csv", limit=n)


def check_against_score(env, tmp_path, columns, rows, answer, swagger=False, sv=None, name="rows"):
    """The RRS answer equals `relearn score` of the same rows with the
    endpoint's model (downloaded through its Resources location)."""
    ep = env["s"].get(endpoint_url(env, sv), headers=bearer(env["d"].token)).json()
    model = download_model(ep)
    want_header, want_rows = score_locally(model, columns, rows, tmp_path, name)
    got_header, got_rows = answer_table(answer, swagger=swagger)
    assert got_header == want_header
    assert len(got_rows) == len(want_rows) == len(rows)
    for i, (g, w) in enumerate(zip(got_rows, want_rows)):
        assert g == w, f"row {i + 1}: {g} != {w}"
    return got_header, got_rows


def endpoint_url(env, sv=None, ws="default"):
    sv = sv or pred(env)
    return f"{env['d'].url}/workspaces/{ws}/webservices/{sv['Id']}/endpoints/default"


# ---- health, publish, management reads ----

def test_health(env):
    r = requests.get(env["d"].url + "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_publish_answer(env):
    pub, d = env["pub"], env["d"]
    t, p = pub["TrainingService"], pub["PredictiveService"]
    assert t["Kind"] == "training" and p["Kind"] == "predictive"
    assert p["Name"] == "census" and t["Name"] == "census [Training]"
    assert t["Id"] != p["Id"]
    keys = [t["PrimaryKey"], t["SecondaryKey"], p["PrimaryKey"], p["SecondaryKey"]]
    assert len(set(keys)) == 4 and all(len(k) >= 32 for k in keys)
    for sv in (t, p):
        assert sv["ApiLocation"] == f"{d.url}/workspaces/default/services/{sv['Id']}"
    assert p["HelpLocation"] == p["ApiLocation"] + "/help"
    assert t["Resources"] == []
    res = p["Resources"]
    assert len(res) == 1 and res[0]["Kind"] == "TrainedModel"
    assert res[0]["Name"] == "census [trained model]"
    loc = res[0]["Location"]
    assert loc["BaseLocation"] == f"{d.url}/storage/"
    assert loc["RelativeLocation"].startswith("models/")
    assert "sig=" in loc["SasBlobToken"] and "sp=r" in loc["SasBlobToken"]
    ev = pub["Evaluation"]
    assert 0.75 < ev["AUC"] <= 1.0
    # The model behind the resource is a real .ilearner that relearn reads.
    model = download_model(p)
    (env["root"] / "m.ilearner").write_bytes(model)
    Cli(env["root"])("model", "show", env["root"] / "m.ilearner")


def test_publish_custom_experiment(env, tmp_path):
    s, d = env["s"], env["d"]
    exp = json.loads((ROOT / "examples" / "census-training.json").read_text())
    for node in exp["nodes"]:
        if node["id"] == "learner":
            node["params"]["number-of-trees-constructed"] = 20
    pub = publish(s, d, "census-exp", "data/census.csv", Experiment=exp)
    p = pub["PredictiveService"]
    assert p["Name"] == "census-exp"
    assert p["Resources"][0]["Name"] == "Census income [trained model]"
    assert 0.75 < pub["Evaluation"]["AUC"] <= 1.0
    got = s.get(f"{d.url}/workspaces/default/webservices/{pub['TrainingService']['Id']}",
                headers=bearer(d.token)).json()
    assert got["Experiment"] == exp
    assert got["Partner"] == p["Id"]
    # Its predictive service scores through the experiment's input1.
    cols, rows = rows_of(env, 5)
    r = execute(env, classic_body(cols, rows), sv=p)
    assert r.status_code == 200, r.text
    check_against_score(env, tmp_path, cols, rows, r.json(), sv=p)


def test_publish_errors(env):
    s, d = env["s"], env["d"]
    url = f"{d.url}/workspaces/default/webservices"
    h = bearer(d.token)
    base = {"Name": "bad", "TrainingData": {"RelativeLocation": "data/census.csv"},
            "Label": "income"}

    def post(body):
        return s.post(url, json=body, headers=h)
    assert_error(s.post(url, data=b"{not json", headers=h), 400, "not valid JSON")
    assert_error(s.post(url, data=b"[1, 2]", headers=h), 400, "JSON object")
    assert_error(s.post(url, headers=h), 400)
    assert_error(post({**base, "Name": ""}), 400, "Name")
    assert_error(post({k: v for k, v in base.items() if k != "Name"}), 400, "Name")
    assert_error(post({k: v for k, v in base.items() if k != "TrainingData"}), 400,
                 "TrainingData")
    assert_error(post({k: v for k, v in base.items() if k != "Label"}), 400, "Label")
    assert_error(post({**base, "Learner": "no-such-learner"}), 400, "no-such-learner")
    assert_error(post({**base, "Parameters": [1]}), 400, "Parameters")
    assert_error(post({**base, "Label": "no-such-column"}), 400, "no-such-column")
    assert_error(post({**base, "Parameters": {"number-of-trees-constructed": -3}}), 400,
                 "number-of-trees-constructed")
    assert_error(post({**base, "Parameters": {"no-such-parameter": 1}}), 400,
                 "no-such-parameter")
    assert_error(post({**base, "TrainingData": {"RelativeLocation": "data/../x.csv"}}), 400)
    assert_error(post({**base, "TrainingData": {"RelativeLocation": "data/missing.csv"}}), 404,
                 "missing.csv")
    exp = {"format": "relearn-experiment", "version": 1, "name": "no training",
           "nodes": [{"id": "in", "module": "Web Service Input", "params": {"name": "input1"}},
                     {"id": "out", "module": "Web Service Output",
                      "params": {"name": "output1"}}],
           "edges": [{"from": "in", "to": "out"}]}
    assert_error(post({**base, "Experiment": exp}), 400)
    assert_error(post({**base, "Experiment": {"nodes": 3}}), 400)
    # Nothing of the refused publishes was created.
    names = [x["Name"] for x in s.get(url, headers=h).json()]
    assert "bad" not in names


def test_management_reads(env):
    s, d, pub = env["s"], env["d"], env["pub"]
    h = bearer(d.token)
    base = f"{d.url}/workspaces/default"
    r = s.get(base, headers=h)
    assert r.status_code == 200 and r.json()["Id"] == "default"
    assert r.json()["CreationTime"].endswith("Z")
    lst = s.get(f"{base}/webservices", headers=h)
    assert lst.status_code == 200
    by_id = {x["Id"]: x for x in lst.json()}
    for sv, kind, name in [(pub["TrainingService"], "training", "census [Training]"),
                           (pub["PredictiveService"], "predictive", "census")]:
        item = by_id[sv["Id"]]
        assert set(item) >= {"Id", "Name", "Kind", "Description", "CreationTime"}
        assert item["Kind"] == kind and item["Name"] == name
        full = s.get(f"{base}/webservices/{sv['Id']}", headers=h).json()
        assert {k: full[k] for k in item} == item
        assert full["Experiment"]["nodes"]
        eps = s.get(f"{base}/webservices/{sv['Id']}/endpoints", headers=h)
        assert eps.status_code == 200 and len(eps.json()) == 1
        ep = s.get(f"{base}/webservices/{sv['Id']}/endpoints/default", headers=h).json()
        assert ep == eps.json()[0] or {k: v for k, v in ep.items() if k != "Resources"} == \
            {k: v for k, v in eps.json()[0].items() if k != "Resources"}
        assert set(ep) >= ENDPOINT_FIELDS, set(ENDPOINT_FIELDS) - set(ep)
        assert ep["Name"] == "default" and ep["Description"] == ""
        assert ep["CreationTime"].endswith("Z") and ep["CreationTime"][4] == "-"
        assert ep["WorkspaceId"] == "default" and ep["WebServiceId"] == sv["Id"]
        assert ep["ApiLocation"] == sv["ApiLocation"]
        assert ep["HelpLocation"] == sv["ApiLocation"] + "/help"
        assert ep["PrimaryKey"] == sv["PrimaryKey"] and ep["SecondaryKey"] == sv["SecondaryKey"]
        assert ep["Version"] == 1 and ep["MaxConcurrentCalls"] == 20
        assert ep["DiagnosticsTraceLevel"] == "None" and ep["ThrottleLevel"] == "High"
        if kind == "training":
            assert ep["Resources"] == []
        else:
            assert len(ep["Resources"]) == 1
            assert ep["Resources"][0]["Location"]["RelativeLocation"] == \
                sv["Resources"][0]["Location"]["RelativeLocation"]
            assert download_model(ep) == download_model(sv)
    pfull = s.get(f"{base}/webservices/{pub['PredictiveService']['Id']}", headers=h).json()
    assert pfull["Partner"] == pub["TrainingService"]["Id"]
    tfull = s.get(f"{base}/webservices/{pub['TrainingService']['Id']}", headers=h).json()
    assert tfull["Partner"] == pub["PredictiveService"]["Id"]
    # Unknown service and endpoint.
    assert_error(s.get(f"{base}/webservices/0123456789abcdef0123456789abcdef", headers=h), 404)
    assert_error(s.get(f"{base}/webservices/{pred(env)['Id']}/endpoints/nope", headers=h), 404,
                 "nope")


def test_help_and_swagger(env):
    s, p = env["s"], pred(env)
    for path in ["help", "swagger.json"]:
        r = s.get(f"{p['ApiLocation']}/{path}", headers=key(env))
        assert r.status_code == 200, r.text
    helpdoc = s.get(f"{p['ApiLocation']}/help", headers=key(env)).json()
    cols = {c["Name"] for c in helpdoc["Inputs"][0]["Columns"]}
    assert {"age", "workclass", "native-country"} <= cols and "income" not in cols
    assert helpdoc["ExampleRequest"]["Inputs"]["input1"]["ColumnNames"]
    sw = s.get(f"{p['ApiLocation']}/swagger.json", headers=key(env)).json()
    assert sw["swagger"] == "2.0"
    assert any(path.endswith("/execute") for path in sw["paths"])
    # The example request of the help page is a request the service answers.
    r = execute(env, helpdoc["ExampleRequest"])
    assert r.status_code == 200, r.text
    assert_error(s.post(f"{p['ApiLocation']}/help", headers=key(env)), 405)


# ---- keys and workspaces ----

def test_regenerate_keys(env):
    s, d = env["s"], env["d"]
    p = publish(s, d, "keys", "data/census.csv")["PredictiveService"]
    url = f"{d.url}/workspaces/default/webservices/{p['Id']}/endpoints/default/regeneratekeys"
    cols, rows = rows_of(env, 1)
    body = classic_body(cols, rows)

    def ok(k):
        return s.post(p["ApiLocation"] + "/execute?api-version=2.0", json=body,
                      headers=bearer(k)).status_code == 200
    old_p, old_s = p["PrimaryKey"], p["SecondaryKey"]
    assert ok(old_p) and ok(old_s)
    r = s.post(url, json={"KeyName": "primary"}, headers=bearer(d.token))
    assert r.status_code == 200, r.text
    ep = r.json()
    new_p = ep["PrimaryKey"]
    assert new_p != old_p and ep["SecondaryKey"] == old_s
    assert_error(s.post(p["ApiLocation"] + "/execute?api-version=2.0", json=body,
                        headers=bearer(old_p)), 401)
    assert ok(new_p) and ok(old_s)
    r = s.post(url, json={"KeyName": "secondary"}, headers=bearer(d.token))
    assert r.status_code == 200
    new_s = r.json()["SecondaryKey"]
    assert new_s not in (old_s, new_p) and r.json()["PrimaryKey"] == new_p
    assert not ok(old_s) and ok(new_s) and ok(new_p)
    # The management read shows the new keys; other services keep theirs.
    got = s.get(url.rsplit("/", 1)[0], headers=bearer(d.token)).json()
    assert (got["PrimaryKey"], got["SecondaryKey"]) == (new_p, new_s)
    assert execute(env, body).status_code == 200
    assert_error(s.post(url, json={"KeyName": "tertiary"}, headers=bearer(d.token)), 400,
                 "KeyName")
    assert_error(s.post(url, data=b"{", headers=bearer(d.token)), 400)
    assert_error(s.post(url, json={"KeyName": "primary"}, headers=bearer(new_p)), 403)
    assert_error(s.post(url, json={"KeyName": "primary"}), 401)
    assert_error(s.get(url, headers=bearer(d.token)), 404)  # regeneratekeys takes POST
    assert ok(new_p)


def test_workspaces(env):
    s, d = env["s"], env["d"]
    r = s.put(f"{d.url}/workspaces/team-a", headers=bearer(d.token))
    assert r.status_code == 201, r.text
    tok = r.json()["AuthorizationToken"]
    assert r.json()["Id"] == "team-a" and tok and tok != d.token
    assert_error(s.put(f"{d.url}/workspaces/team-a", headers=bearer(d.token)), 409)
    # Only the admin token creates workspaces.
    assert_error(s.put(f"{d.url}/workspaces/team-b", headers=bearer(tok)), 403)
    assert_error(s.put(f"{d.url}/workspaces/team-b", headers=bearer(pred(env)["PrimaryKey"])),
                 403)
    assert_error(s.put(f"{d.url}/workspaces/team-b"), 401)
    assert_error(s.put(f"{d.url}/workspaces/team-b", headers=bearer("garbage-token-123")), 401)
    assert_error(s.put(f"{d.url}/workspaces/Bad_Name", headers=bearer(d.token)), 400)
    r = s.get(f"{d.url}/workspaces/team-a", headers=bearer(tok))
    assert r.status_code == 200 and r.json()["Id"] == "team-a" and "AuthorizationToken" not in r.json()
    assert s.get(f"{d.url}/workspaces/team-a/webservices", headers=bearer(tok)).json() == []
    assert_error(s.get(f"{d.url}/workspaces/team-a", headers=bearer("garbage")), 401)
    assert_error(s.get(f"{d.url}/workspaces/team-a"), 401)
    assert_error(s.get(f"{d.url}/workspaces/team-b", headers=bearer(d.token)), 404)
    assert_error(s.delete(f"{d.url}/workspaces/team-a", headers=bearer(d.token)), 405)


# ---- request-response ----

def test_rrs_classic_one_row_details(env, tmp_path):
    cols, rows = rows_of(env, 1)
    r = execute(env, classic_body(cols, rows), "&details=true")
    assert r.status_code == 200, r.text
    value = r.json()["Results"]["output1"]["value"]
    types = dict(zip(value["ColumnNames"], value["ColumnTypes"]))
    assert len(value["ColumnTypes"]) == len(value["ColumnNames"])
    for c in NUMERIC:
        assert types[c] == "Numeric", types
    assert types["workclass"] == "String" and types["Scored Labels"] == "String"
    assert types["Scored Probabilities"] == "Numeric"
    header, got = check_against_score(env, tmp_path, cols, rows, r.json())
    assert header[-2:] == ["Scored Labels", "Scored Probabilities"]
    assert got[0][-2] in ("<=50K", ">50K")
    # Without details, no ColumnTypes.
    r = execute(env, classic_body(cols, rows))
    assert "ColumnTypes" not in r.json()["Results"]["output1"]["value"]
    # api-key works as well as Authorization: Bearer.
    r2 = execute(env, classic_body(cols, rows), headers={"api-key": pred(env)["PrimaryKey"]})
    assert r2.status_code == 200 and r2.json() == r.json()


def test_rrs_classic_100_rows_strings(env, tmp_path):
    cols, rows = rows_of(env, 100)
    assert any("" in row for row in rows)  # the data has missing values
    r = execute(env, classic_body(cols, rows))
    assert r.status_code == 200, r.text
    check_against_score(env, tmp_path, cols, rows, r.json())


def test_rrs_swagger_one_and_100_rows(env, tmp_path):
    for n in (1, 100):
        cols, rows = rows_of(env, n)
        r = execute(env, swagger_body(cols, rows), "&format=swagger")
        assert r.status_code == 200, r.text
        check_against_score(env, tmp_path, cols, rows, r.json(), swagger=True, name=f"sw{n}")
        # The same rows in the classic format give the same cells.
        rc = execute(env, classic_body(cols, rows))
        assert answer_table(rc.json()) == answer_table(r.json(), swagger=True)


def test_rrs_json_numbers(env, tmp_path):
    cols, rows = rows_of(env, 100)
    nums = to_json_numbers(cols, rows, NUMERIC)
    assert isinstance(nums[0][cols.index("age")], int)
    nums[0][cols.index("age")] = float(nums[0][cols.index("age")]) + 0.5
    nums[1][cols.index("hours-per-week")] = 1e3
    for fmt, body in [("", classic_body(cols, nums)),
                      ("&format=swagger", swagger_body(cols, nums))]:
        r = execute(env, body, fmt)
        assert r.status_code == 200, r.text
        check_against_score(env, tmp_path, cols, nums, r.json(), swagger=bool(fmt),
                            name="nums" + fmt[-7:])
    # Numbers as text and as JSON numbers score alike.
    a = execute(env, classic_body(cols, rows)).json()
    b = execute(env, classic_body(cols, to_json_numbers(cols, rows, NUMERIC))).json()
    assert answer_table(a) == answer_table(b)


def test_rrs_missing_unseen_extra(env, tmp_path):
    cols, rows = rows_of(env, 6)
    rows = [list(r) for r in rows]
    ci = {c: i for i, c in enumerate(cols)}
    rows[0][ci["age"]] = None            # null in a numeric column
    rows[0][ci["workclass"]] = None      # null in a string column
    rows[1][ci["hours-per-week"]] = ""   # "" in a numeric column
    rows[1][ci["occupation"]] = ""       # "" in a string column
    rows[2][ci["native-country"]] = "Atlantis"     # an unseen category
    rows[3][ci["education"]] = "Hogwarts"
    rows[4] = [None] * len(cols)         # every value missing
    rows[5][ci["native-country"]] = 'Côte d\'Ivoire ☃, "quoted"\nand a new line'
    rows[3][ci["relationship"]] = 7      # a JSON number in a string column
    ext_cols = cols + ["note"]
    ext_rows = [r + [f"extra {i}"] for i, r in enumerate(rows)]
    for fmt, body in [("", classic_body(ext_cols, ext_rows)),
                      ("&format=swagger", swagger_body(ext_cols, ext_rows))]:
        r = execute(env, body, fmt)
        assert r.status_code == 200, r.text
        header, got = check_against_score(env, tmp_path, ext_cols, ext_rows, r.json(),
                                          swagger=bool(fmt), name="odd" + fmt[-7:])
        assert "note" in header and got[5][header.index("note")] == "extra 5"
        assert got[0][header.index("age")] == "" and got[2][header.index("native-country")] == \
            "Atlantis"
        for g in got:
            assert g[header.index("Scored Labels")] in ("<=50K", ">50K")
            assert 0 <= float(g[header.index("Scored Probabilities")]) <= 1


def test_rrs_bad_requests(env):
    cols, rows = rows_of(env, 3)
    # A missing column: 400 naming it.
    i = cols.index("education")
    c2 = cols[:i] + cols[i + 1:]
    r2 = [row[:i] + row[i + 1:] for row in rows]
    assert_error(execute(env, classic_body(c2, r2)), 400, "'education'")
    assert_error(execute(env, swagger_body(c2, r2), "&format=swagger"), 400, "'education'")
    # A row of the wrong length: 400 naming the row.
    bad = [rows[0], rows[1][:-1], rows[2]]
    assert_error(execute(env, classic_body(cols, bad)), 400, "row 2")
    bad = [rows[0], rows[1], rows[2] + ["x"]]
    assert_error(execute(env, classic_body(cols, bad)), 400, "row 3")
    # Text in a numeric column: 400 naming the column and row.
    bad = [list(r) for r in rows]
    bad[1][cols.index("age")] = "forty"
    d = assert_error(execute(env, classic_body(cols, bad)), 400, "'age'")
    assert "row 2" in d["message"]
    # Malformed bodies and inputs.
    url = pred(env)["ApiLocation"] + "/execute?api-version=2.0"
    s = env["s"]
    assert_error(s.post(url, data=b"{\"Inputs\": ", headers=key(env)), 400, "not valid JSON")
    assert_error(s.post(url, data=b"\"text\"", headers=key(env)), 400)
    assert_error(s.post(url, headers=key(env)), 400)
    for bad in [b'{"Inputs": {"input1": {"ColumnNames": ["age"], "Values": [[1e400]]}}}',
                b'[' * 5000 + b']' * 5000, b'{"Inputs": {"input1": [{"age": NaN}]}}',
                b'{"Inputs": {"input1": [{"a\\u0000b": 1}]}}', b'\xff\xfe{}',
                b'{"Inputs": {}, "Inputs": {}}']:
        assert_error(s.post(url, data=bad, headers=key(env)), 400)
    assert_error(execute(env, {"GlobalParameters": {}}), 400, "Inputs")
    assert_error(execute(env, {"Inputs": {}}), 400, "input1")
    assert_error(execute(env, {"Inputs": {"input1": 5}}), 400, "input1")
    assert_error(execute(env, {"Inputs": {"input1": {"ColumnNames": cols}}}), 400, "Values")
    assert_error(execute(env, {"Inputs": {"input1": {"ColumnNames": cols, "Values": [5]}}}), 400,
                 "row 1")
    assert_error(execute(env, {"Inputs": {"input1": [5]}}), 400, "row 1")
    body = classic_body(cols, rows)
    body["Inputs"]["input2"] = body["Inputs"]["input1"]
    assert_error(execute(env, body), 400, "input2")
    assert_error(execute(env, classic_body(cols + [cols[0]], [r + [r[0]] for r in rows])), 400,
                 "twice")
    assert_error(execute(env, classic_body(cols[:-1] + [""], rows)), 400)
    assert_error(execute(env, classic_body(cols[:-1] + [3], rows)), 400)
    # A training service does not answer request-response calls.
    t = env["pub"]["TrainingService"]
    assert_error(execute(env, body, sv=t), 400)
    # execute takes POST.
    assert_error(s.get(url, headers=key(env)), 405)
    assert_error(s.put(url, json=body, headers=key(env)), 405)
    # Zero rows: an empty answer, not an error.
    r = execute(env, classic_body(cols, []))
    assert r.status_code == 200, r.text
    assert answer_table(r.json())[1] == []


# ---- errors of the contract's table ----

def test_unauthorized_and_forbidden(env):
    s, d, p = env["s"], env["d"], pred(env)
    t = env["pub"]["TrainingService"]
    cols, rows = rows_of(env, 1)
    body = classic_body(cols, rows)
    assert_error(execute(env, body, headers={}), 401)
    assert_error(execute(env, body, headers=bearer("not-a-key")), 401)
    assert_error(execute(env, body, headers={"Authorization": "Basic abc"}), 401)
    assert_error(execute(env, body, headers=bearer(d.token)), 403)      # the workspace token
    assert_error(execute(env, body, headers=bearer(t["PrimaryKey"])), 403)  # another's key
    h = f"{d.url}/workspaces/default/webservices"
    assert_error(s.get(h), 401)
    assert_error(s.get(h, headers=bearer("nope")), 401)
    assert_error(s.get(h, headers=bearer(p["PrimaryKey"])), 403)
    assert_error(s.get(f"{d.url}/storage/data/census.csv", headers=bearer(p["PrimaryKey"])), 403)
    assert_error(s.get(f"{d.url}/storage/data/census.csv"), 401)
    r = s.get(f"{d.url}/workspaces/default/webservices", headers=bearer(d.token))
    assert r.status_code == 200


def test_not_found(env):
    s, d, p = env["s"], env["d"], pred(env)
    h = bearer(d.token)
    assert_error(s.get(f"{d.url}/nope", headers=h), 404)
    assert_error(s.get(f"{d.url}/", headers=h), 404)
    assert_error(s.get(f"{d.url}/workspaces/default/nope", headers=h), 404)
    assert_error(s.get(f"{d.url}/workspaces/nope/webservices", headers=h), 404)
    assert_error(s.get(f"{d.url}/workspaces/default/webservices/{p['Id']}/nope", headers=h), 404)
    assert_error(s.get(f"{d.url}/workspaces/default/webservices/{p['Id']}/endpoints/default/x",
                       headers=h), 404)
    assert_error(s.post(f"{d.url}/workspaces/default/services/{'0' * 32}/execute",
                        json={}, headers=key(env)), 404)
    # A service of workspace default is not found under another workspace's path.
    assert_error(s.post(f"{d.url}/workspaces/other/services/{p['Id']}/execute", json={},
                        headers=key(env)), 404)
    assert_error(s.get(f"{p['ApiLocation']}/nope", headers=key(env)), 404)
    assert_error(s.get(f"{d.url}/storage/data/no-such-blob.csv", headers=h), 404)
    assert_error(s.delete(f"{d.url}/storage/data/no-such-blob.csv", headers=h), 404)
    status, _, data = raw_request(d.port, "GET", "/" + "/".join(["x"] * 40), bearer(d.token))
    assert status == 404, data


def test_method_not_allowed(env):
    s, d, p = env["s"], env["d"], pred(env)
    h = bearer(d.token)
    base = f"{d.url}/workspaces/default/webservices"
    assert_error(s.delete(base, headers=h), 405)
    assert_error(s.put(base, json={}, headers=h), 405)
    assert_error(s.post(f"{base}/{p['Id']}", json={}, headers=h), 405)
    assert_error(s.delete(f"{base}/{p['Id']}/endpoints", headers=h), 405)
    assert_error(s.patch(f"{d.url}/workspaces/default", headers=h), 405)
    assert_error(s.get(f"{p['ApiLocation']}/execute", headers=key(env)), 405)
    assert_error(s.delete(f"{d.url}/storage/data", headers=h), 405)
    assert_error(s.post(f"{d.url}/storage/data/census.csv", data=b"x", headers=h), 405)


def test_limits_413(daemon_factory, tmp_path, census):
    d = daemon_factory("--max-body", 4096, "--max-rows", 10, "--max-upload", 600000)
    s = session()
    assert (census / "census.csv").stat().st_size < 600000
    upload(s, d, census / "census.csv", "data/c.csv")
    p = publish(s, d, "small", "data/c.csv")["PredictiveService"]
    url = p["ApiLocation"] + "/execute?api-version=2.0"
    k = bearer(p["PrimaryKey"])
    cols, rows = csv_text_rows(census / "census.csv", limit=11)
    # At most --max-rows rows.
    assert s.post(url, json=classic_body(cols, rows[:10]), headers=k).status_code == 200
    assert_error(s.post(url, json=classic_body(cols[:3], [r[:3] for r in rows]), headers=k),
                 413, "11 rows")
    assert_error(s.post(url + "&format=swagger", json=swagger_body(cols[:3], [r[:3] for r in rows]),
                        headers=k), 413, "11 rows")
    # A body over --max-body, with Content-Length and chunked.
    big = json.dumps({"Inputs": {"input1": {"ColumnNames": ["a"], "Values": [["x" * 5000]]}}})
    assert_error(s.post(url, data=big.encode(), headers=k), 413)

    def chunks():
        for i in range(0, len(big), 1000):
            yield big[i:i + 1000].encode()
    assert_error(s.post(url, data=chunks(), headers=k), 413)
    # Management bodies too.
    assert_error(s.post(f"{d.url}/workspaces/default/webservices", data=big.encode(),
                        headers=bearer(d.token)), 413)
    # Uploads over --max-upload, declared or streamed; nothing is stored.
    blob = f"{d.url}/storage/data/big.bin"
    assert_error(s.put(blob, data=b"0" * 600001, headers=bearer(d.token)), 413)
    assert_error(s.put(blob, data=(b"0" * 1000 for _ in range(601)), headers=bearer(d.token)), 413)
    assert_error(s.get(blob, headers=bearer(d.token)), 404)
    # The daemon is still well after refusing them.
    assert s.post(url, json=classic_body(cols, rows[:2]), headers=k).status_code == 200


def test_throttle_503(daemon_factory, census):
    # 25 calls at once, each scoring 5,000 rows, against MaxConcurrentCalls 20.
    d = daemon_factory("--quiet")
    s = session()
    upload(s, d, census / "census.csv", "data/c.csv")
    p = publish(s, d, "busy", "data/c.csv")["PredictiveService"]
    url = p["ApiLocation"] + "/execute?api-version=2.0"
    cols, rows = csv_text_rows(census / "census.csv")
    payload = json.dumps(classic_body(cols, rows)).encode()
    headers = dict(bearer(p["PrimaryKey"]), **{"Content-Type": "application/json"})
    seen = {}
    for attempt in range(4):
        results = []
        barrier = threading.Barrier(25)
        lock = threading.Lock()

        def call():
            ss = session()
            barrier.wait()
            r = ss.post(url, data=payload, headers=headers, timeout=600)
            with lock:
                results.append(r)
        threads = [threading.Thread(target=call) for _ in range(25)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 25
        for r in results:
            assert r.status_code in (200, 503), (r.status_code, r.text[:500])
            if r.status_code == 503:
                assert_error(r, 503, code="RequestThrottled")
                assert int(r.headers["Retry-After"]) >= 1
            else:
                assert len(r.json()["Results"]["output1"]["value"]["Values"]) == len(rows)
            seen[r.status_code] = seen.get(r.status_code, 0) + 1
        if seen.get(503):
            break
    assert seen.get(503), f"no call was throttled: {seen}"
    assert seen.get(200), seen
    # Once the burst is over, calls go through again.
    r = s.post(url, data=json.dumps(classic_body(cols, rows[:5])).encode(), headers=headers)
    assert r.status_code == 200


# ---- key isolation ----

def test_key_isolation(env):
    s, d = env["s"], env["d"]
    p1 = pred(env)
    p2 = publish(s, d, "second", "data/census.csv")["PredictiveService"]
    r = s.put(f"{d.url}/workspaces/iso", headers=bearer(d.token))
    assert r.status_code == 201, r.text
    tok2 = r.json()["AuthorizationToken"]
    upload(s, d, env["root"] / "census.csv", "data/census.csv", token=tok2)
    pub3 = publish(s, d, "third", "data/census.csv", token=tok2, ws="iso")
    p3 = pub3["PredictiveService"]
    assert p3["ApiLocation"].startswith(f"{d.url}/workspaces/iso/services/")
    cols, rows = rows_of(env, 2)
    body = classic_body(cols, rows)
    eps = [p1, p2, p3]
    for a in eps:
        for which in ("PrimaryKey", "SecondaryKey"):
            for b in eps:
                r = s.post(b["ApiLocation"] + "/execute?api-version=2.0", json=body,
                           headers=bearer(a[which]))
                if a is b:
                    assert r.status_code == 200, r.text
                else:
                    assert_error(r, 403)
            # An endpoint key opens neither management routes nor the blob store.
            for ws in ("default", "iso"):
                assert_error(s.get(f"{d.url}/workspaces/{ws}/webservices",
                                   headers=bearer(a[which])), 403)
                assert_error(s.get(f"{d.url}/workspaces/{ws}", headers=bearer(a[which])), 403)
            assert_error(s.get(f"{d.url}/storage/data/census.csv", headers=bearer(a[which])), 403)
            assert_error(s.put(f"{d.url}/storage/data/x.csv", data=b"a",
                               headers=bearer(a[which])), 403)
            assert_error(s.get(f"{d.url}/storage/data", headers=bearer(a[which])), 403)
            assert_error(s.post(f"{d.url}/storage/sign", json={"Path": "data/census.csv"},
                                headers=bearer(a[which])), 403)
    # The training service's keys open only the training service.
    t3 = pub3["TrainingService"]
    assert_error(s.post(p3["ApiLocation"] + "/execute?api-version=2.0", json=body,
                        headers=bearer(t3["PrimaryKey"])), 403)
    # A workspace token opens only its own workspace.
    for tok, own, other in [(d.token, "default", "iso"), (tok2, "iso", "default")]:
        assert s.get(f"{d.url}/workspaces/{own}/webservices", headers=bearer(tok)).status_code \
            == 200
        assert_error(s.get(f"{d.url}/workspaces/{other}/webservices", headers=bearer(tok)), 403)
        assert_error(s.get(f"{d.url}/workspaces/{other}", headers=bearer(tok)), 403)
        assert_error(s.post(f"{d.url}/workspaces/{other}/webservices",
                            json={"Name": "x", "TrainingData": "data/census.csv",
                                  "Label": "income"}, headers=bearer(tok)), 403)
    # Through its own workspace's path, another workspace's service is not found.
    assert_error(s.get(f"{d.url}/workspaces/iso/webservices/{p1['Id']}", headers=bearer(tok2)),
                 404)
    assert_error(s.get(f"{d.url}/workspaces/default/webservices/{p1['Id']}",
                       headers=bearer(tok2)), 403)
    # The service of workspace default is not in workspace iso, even to its token holder.
    assert_error(s.get(f"{d.url}/workspaces/default/webservices/{p3['Id']}",
                       headers=bearer(d.token)), 404)
    regen = f"{d.url}/workspaces/default/webservices/{p1['Id']}/endpoints/default/regeneratekeys"
    assert_error(s.post(regen, json={"KeyName": "primary"}, headers=bearer(tok2)), 403)
    # Blobs: each workspace sees its own namespace only.
    assert s.put(f"{d.url}/storage/data/only-default.txt", data=b"default's",
                 headers=bearer(d.token)).status_code == 201
    assert s.put(f"{d.url}/storage/data/shared-name.txt", data=b"default's",
                 headers=bearer(d.token)).status_code == 201
    assert s.put(f"{d.url}/storage/data/shared-name.txt", data=b"iso's",
                 headers=bearer(tok2)).status_code == 201
    assert_error(s.get(f"{d.url}/storage/data/only-default.txt", headers=bearer(tok2)), 404)
    assert_error(s.delete(f"{d.url}/storage/data/only-default.txt", headers=bearer(tok2)), 404)
    assert s.get(f"{d.url}/storage/data/shared-name.txt", headers=bearer(tok2)).content == b"iso's"
    assert s.get(f"{d.url}/storage/data/shared-name.txt",
                 headers=bearer(d.token)).content == b"default's"
    names2 = {b["Name"] for b in s.get(f"{d.url}/storage/data", headers=bearer(tok2)).json()}
    assert "only-default.txt" not in names2 and "shared-name.txt" in names2
    # iso's model is not readable through default's token, and default's model
    # blob cannot be deleted through iso's token.
    loc3 = p3["Resources"][0]["Location"]["RelativeLocation"]
    assert_error(s.get(f"{d.url}/storage/{loc3}", headers=bearer(d.token)), 404)
    loc1 = p1["Resources"][0]["Location"]["RelativeLocation"]
    assert_error(s.delete(f"{d.url}/storage/{loc1}", headers=bearer(tok2)), 404)
    # A signed URL of one workspace's blob does not open the other's blob.
    sig = s.post(f"{d.url}/storage/sign", json={"Path": "data/shared-name.txt"},
                 headers=bearer(tok2)).json()["SasBlobToken"]
    assert requests.get(f"{d.url}/storage/data/shared-name.txt{sig}").content == b"iso's"
    forged = sig.replace("ws=iso", "ws=default")
    assert_error(requests.get(f"{d.url}/storage/data/shared-name.txt{forged}"), 401)
    # Garbage is 401 everywhere.
    for url in [f"{d.url}/workspaces/iso/webservices", f"{d.url}/storage/data/shared-name.txt",
                p3["ApiLocation"] + "/execute?api-version=2.0"]:
        assert_error(s.post(url, json=body, headers=bearer("garbage"))
                     if url.endswith("2.0") else s.get(url, headers=bearer("garbage")), 401)
    # Every endpoint still answers with its own key.
    for e in eps:
        r = s.post(e["ApiLocation"] + "/execute?api-version=2.0", json=body,
                   headers=bearer(e["PrimaryKey"]))
        assert r.status_code == 200
