"""Isolation and secrets against a real relearnd.

Every route of docs/api.md's route index (read from the document, so that a
route added there is tried here too) refuses every credential but its own:
none, unknown, a revoked (regenerated) key, a Basic header, another
endpoint's, service's or workspace's key or token, a signed blob token in the
query string; with the status of the contract (401 for no or an unknown
credential, 403 for a credential of something else), in Studio's JSON shape,
and without doing anything. The right credential, as a control, gets past
authorization. Blob routes: a workspace token sees only its workspace's
blobs; signed tokens open one blob for the permissions they name, and not
once expired or altered. Keys, tokens and signatures never appear in the log,
in an error answer or in an exported definition; the log has paths without
query strings; the admin token, secret and database files are 0600. With
--tls-cert and --tls-key relearnd serves HTTPS only.
"""
import json
import re
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
import requests

from conftest import ROOT, Cli, Daemon, binary
from daemon_helpers import bearer, csv_text_rows, publish, session, upload
from hostile_net import check_studio_error, log_lines, send

DOC = ROOT / "docs" / "api.md"
ONLY_DEFAULT = "data/only-default.txt"
ONLY_DEFAULT_TEXT = b"default's own blob"


def doc_routes():
    """(method, path) of every row of docs/api.md's route index."""
    text = DOC.read_text()
    section = text.split("## Route index", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (GET|PUT|POST|PATCH|DELETE) \| `([^`]+)` \|", section, re.M)
    assert len(rows) >= 25, rows
    return rows


class World:
    """Two workspaces, three predictive services, an added endpoint, jobs,
    and every credential they hand out."""

    def __init__(self, d, root):
        self.d, self.root = d, root
        self.s = session()
        self.secrets = set()
        self.errors = []  # every error answer seen, to search for secrets

    def keep(self, *values):
        for v in values:
            if v:
                self.secrets.add(v)

    def keep_endpoint(self, ep):
        self.keep(ep["PrimaryKey"], ep["SecondaryKey"])
        for res in ep.get("Resources", []):
            self.keep_token(res["Location"]["SasBlobToken"])

    def keep_token(self, token):
        if token:
            self.keep(token, dict(parse_qsl(token.lstrip("?")))["sig"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("isolation")
    Cli(root)("generate", "census", "--rows", 800, "--seed", 9, "--out", root / "census.csv")
    d = Daemon(root / "data", ["--threads", "2"])
    d.start()
    w = World(d, root)
    try:
        s, t0 = w.s, d.token
        w.t0 = t0
        upload(s, d, root / "census.csv", "data/census.csv")
        r = s.put(f"{d.url}/storage/{ONLY_DEFAULT}", data=ONLY_DEFAULT_TEXT, headers=bearer(t0))
        assert r.status_code == 201, r.text
        # What the control of PUT /storage rewrites with the same bytes.
        r = s.put(f"{d.url}/storage/data/control.txt", data=b"ok", headers=bearer(t0))
        assert r.status_code == 201, r.text
        few = {"Parameters": {"number-of-trees-constructed": 5}}
        a = publish(s, d, "alpha", "data/census.csv", **few)
        b = publish(s, d, "beta", "data/census.csv", **few)
        r = s.put(f"{d.url}/workspaces/other", headers=bearer(t0))
        assert r.status_code == 201, r.text
        w.t1 = r.json()["AuthorizationToken"]
        upload(s, d, root / "census.csv", "data/census.csv", token=w.t1)
        c = publish(s, d, "gamma", "data/census.csv", token=w.t1, ws="other", **few)
        w.pA, w.tA = a["PredictiveService"], a["TrainingService"]
        w.pB, w.pC, w.tC = b["PredictiveService"], c["PredictiveService"], c["TrainingService"]
        for pub in (a, b, c):
            for sv in pub.values():
                if isinstance(sv, dict) and "PrimaryKey" in sv:
                    w.keep_endpoint(sv)
        w.keep(t0, w.t1)
        # Added endpoints named "extra" on alpha and gamma.
        for ws, tok, p in (("default", t0, w.pA), ("other", w.t1, w.pC)):
            r = s.put(f"{d.url}/workspaces/{ws}/webservices/{p['Id']}/endpoints/extra", json={},
                      headers=bearer(tok))
            assert r.status_code == 201, r.text
            w.keep_endpoint(r.json())
            if ws == "default":
                w.eA2 = r.json()
            else:
                w.eC2 = r.json()
        # A revoked key: alpha's secondary, regenerated.
        w.revoked = w.pA["SecondaryKey"]
        r = s.post(f"{d.url}/workspaces/default/webservices/{w.pA['Id']}/endpoints/default/"
                   "regeneratekeys", json={"KeyName": "secondary"}, headers=bearer(t0))
        assert r.status_code == 200, r.text
        w.keep_endpoint(r.json())
        w.pA_secondary = r.json()["SecondaryKey"]
        assert w.pA_secondary != w.revoked
        # One job (not started) per endpoint that job routes aim at.
        w.jobs = {}
        for name, p, tok in (("A", w.pA, None), ("B", w.pB, None), ("C", w.pC, None)):
            r = s.post(f"{p['ApiLocation']}/jobs?api-version=2.0",
                       json={"Inputs": {"input1": {"RelativeLocation": "data/census.csv"}}},
                       headers=bearer(p["PrimaryKey"]))
            assert r.status_code == 200, r.text
            w.jobs[name] = r.json()
        # Signed tokens of default's blobs.
        w.sas = {}
        for perms in ("r", "w", "d", "rw"):
            w.sas[perms] = sign(w, "data/iso.txt", perms)
        w.sas["r-only-default"] = sign(w, ONLY_DEFAULT, "r")
        cols, rows = csv_text_rows(root / "census.csv", limit=2)
        w.row = {"Inputs": {"input1": {"ColumnNames": cols, "Values": rows}},
                 "GlobalParameters": {}}
        yield w
    finally:
        rc = d.stop()
    assert rc == 0


def sign(w, path, perms, seconds=3600, token=None):
    r = w.s.post(f"{w.d.url}/storage/sign", json={"Path": path, "Permissions": perms,
                                                  "ExpirySeconds": seconds},
                 headers=bearer(token or w.t0))
    assert r.status_code == 200, r.text
    tok = r.json()["SasBlobToken"]
    w.keep_token(tok)
    return tok


# ---- the routes of the index, aimed at real things ----

class Target:
    """The things of one workspace that routes are aimed at."""

    def __init__(self, w, ws):
        self.ws = ws
        if ws == "default":
            self.token, self.p, self.ep, self.job = w.t0, w.pA, w.eA2, w.jobs["A"]
        else:
            self.token, self.p, self.ep, self.job = w.t1, w.pC, w.eC2, w.jobs["C"]
        self.svc = f"/workspaces/{ws}/webservices/{self.p['Id']}"
        self.api = urlparse(self.p["ApiLocation"]).path
        self.key = self.p["PrimaryKey"]
        res = self.p["Resources"][0]
        self.resource = {"Name": res["Name"], "Location": {
            "RelativeLocation": res["Location"]["RelativeLocation"]}}


def plan(w, t):
    """For each route of the index: (kind of credential, path, body that
    would succeed, control). The control is (path, body, status) sent with
    the right credential: it shows the credential gets past authorization
    without changing anything that matters."""
    e = f"{t.svc}/endpoints/extra"
    job = {"Inputs": {"input1": {"RelativeLocation": "data/census.csv"}}}
    v = "?api-version=2.0"
    defn = w.s.get(f"{w.d.url}{t.svc}/definition", headers=bearer(t.token)).json()
    return {
        ("PUT", "/workspaces/{ws}"): ("admin", "/workspaces/made-by-intruder", None,
                                      ("/workspaces/Bad_Name", None, 400)),
        ("GET", "/workspaces/{ws}"): ("ws", f"/workspaces/{t.ws}", None, None),
        ("GET", "/workspaces/{ws}/webservices"): ("ws", f"/workspaces/{t.ws}/webservices", None,
                                                  None),
        ("POST", "/workspaces/{ws}/webservices"): (
            "ws", f"/workspaces/{t.ws}/webservices",
            {"Name": "intruder", "TrainingData": "data/census.csv", "Label": "income"},
            (f"/workspaces/{t.ws}/webservices", {"Name": ""}, 400)),
        ("GET", "{svc}"): ("ws", t.svc, None, None),
        ("GET", "{svc}/endpoints"): ("ws", f"{t.svc}/endpoints", None, None),
        ("GET", "{svc}/endpoints/{name}"): ("ws", e, None, None),
        ("PUT", "{svc}/endpoints/{name}"): ("ws", e, {"Description": "intruder"},
                                            (e, {"MaxConcurrentCalls": 0}, 400)),
        ("PATCH", "{svc}/endpoints/{name}"): ("ws", e, {"Resources": [t.resource]},
                                              (e, {"Resources": "x"}, 400)),
        ("DELETE", "{svc}/endpoints/{name}"): ("ws", e, None,
                                               (f"{t.svc}/endpoints/nope", None, 404)),
        ("POST", "{svc}/endpoints/{name}/regeneratekeys"): (
            "ws", f"{e}/regeneratekeys", {"KeyName": "primary"},
            (f"{e}/regeneratekeys", {"KeyName": "x"}, 400)),
        ("POST", "{svc}/endpoints/{name}/refresh"): (
            "ws", f"{e}/refresh", {"OverwriteResources": True},
            (f"{e}/refresh", {"OverwriteResources": "x"}, 400)),
        ("POST", "{svc}/endpoints/{name}/rollback"): ("ws", f"{e}/rollback", {},
                                                      (f"{e}/rollback", {"Seq": "x"}, 400)),
        ("GET", "{svc}/endpoints/{name}/history"): ("ws", f"{e}/history", None, None),
        ("GET", "{svc}/definition"): ("ws", f"{t.svc}/definition", None, None),
        ("PUT", "{svc}/definition"): ("ws", f"{t.svc}/definition",
                                      dict(defn, properties=dict(defn["properties"],
                                                                 title="intruder")),
                                      (f"{t.svc}/definition", {"properties": "x"}, 400)),
        ("POST", "{api}/execute"): ("key", f"{t.api}/execute{v}", w.row, None),
        ("GET", "{api}/help"): ("key", f"{t.api}/help", None, None),
        ("GET", "{api}/swagger.json"): ("key", f"{t.api}/swagger.json", None, None),
        ("POST", "{api}/jobs"): ("key", f"{t.api}/jobs{v}", job,
                                 (f"{t.api}/jobs{v}", {"Inputs": []}, 400)),
        ("GET", "{api}/jobs"): ("key", f"{t.api}/jobs{v}", None, None),
        ("GET", "{api}/jobs/{job}"): ("key", f"{t.api}/jobs/{t.job}{v}", None, None),
        ("DELETE", "{api}/jobs/{job}"): ("key", f"{t.api}/jobs/{t.job}{v}", None,
                                         (f"{t.api}/jobs/nope{v}", None, 404)),
        ("POST", "{api}/jobs/{job}/start"): ("key", f"{t.api}/jobs/{t.job}/start{v}", None,
                                             (f"{t.api}/jobs/nope/start{v}", None, 404)),
        ("PUT", "/storage/{container}/{path}"): ("blob", "/storage/data/iso.txt", b"intruder",
                                                 ("/storage/data/control.txt", b"ok", 201)),
        ("GET", "/storage/{container}/{path}"): ("blob", f"/storage/{ONLY_DEFAULT}", None,
                                                 None),
        ("DELETE", "/storage/{container}/{path}"): ("blob", f"/storage/{ONLY_DEFAULT}", None,
                                                    ("/storage/data/nope.txt", None, 404)),
        ("GET", "/storage/{container}"): ("blob", "/storage/data", None, None),
        ("POST", "/storage/sign"): ("blob", "/storage/sign", {"Path": ONLY_DEFAULT,
                                                              "Permissions": "rwd"}, None),
    }


def call(w, method, path, cred=None, body=None, query=None):
    """One request with a credential: None, ("bearer", x), ("api-key", x),
    ("basic", x) or ("sas", token) (the token appended to the query)."""
    headers = []
    if cred and cred[0] == "bearer":
        headers.append(("Authorization", "Bearer " + cred[1]))
    elif cred and cred[0] == "api-key":
        headers.append(("api-key", cred[1]))
    elif cred and cred[0] == "basic":
        headers.append(("Authorization", "Basic " + cred[1]))
    elif cred and cred[0] == "sas":
        path += ("&" if "?" in path else "?") + cred[1].lstrip("?")
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers.append(("Content-Type", "application/json"))
    a = send(w.d.port, method, path, headers, body)
    assert a.status < 500, (method, path, a)
    if a.status >= 400:
        w.errors.append(a.body)
    return a


def wrong_credentials(w, t, kind):
    """(name, credential, status) refused on a route of this kind aimed at
    target t."""
    unknown = [("none", None, 401), ("unknown-token", ("bearer", "rlw_" + "x" * 40), 401),
               ("unknown-key", ("bearer", "A" * 43), 401),
               ("revoked-key", ("bearer", w.revoked), 401),
               ("revoked-key-api-key", ("api-key", w.revoked), 401),
               ("basic", ("basic", "YWRtaW46YWRtaW4="), 401),
               ("empty-bearer", ("bearer", ""), 401)]
    sas = [(f"signed-{p}", ("sas", w.sas[p]), 401) for p in ("r", "w", "d", "rw")]
    other_ws = w.t1 if t.ws == "default" else w.t0
    others = {  # credentials of something else
        "other-workspace-token": ("bearer", other_ws),
        "alpha-key": ("bearer", w.pA["PrimaryKey"]),
        "alpha-secondary": ("api-key", w.pA_secondary),
        "alpha-extra-key": ("bearer", w.eA2["PrimaryKey"]),
        "alpha-training-key": ("bearer", w.tA["PrimaryKey"]),
        "beta-key": ("api-key", w.pB["PrimaryKey"]),
        "gamma-key": ("bearer", w.pC["SecondaryKey"]),
        "gamma-extra-key": ("bearer", w.eC2["PrimaryKey"]),
        "own-workspace-token": ("bearer", t.token),
    }
    out = list(unknown)
    if kind in ("ws", "admin", "key"):
        out += sas
    for name, cred in others.items():
        right = (kind == "ws" and cred[1] == t.token) or \
                (kind == "admin" and cred[1] == w.t0) or \
                (kind == "key" and cred[1] in (t.p["PrimaryKey"], t.p["SecondaryKey"],
                                               w.pA_secondary if t.p is w.pA else None)) or \
                (kind == "blob" and cred[1] in (w.t0, w.t1))  # namespaces: tested apart
        if not right:
            out.append((name, cred, 403))
    return out


def state(w):
    """What a refused call must not change: services, endpoints (keys,
    settings, models), jobs, workspaces and default's blobs."""
    s, d = w.s, w.d
    out = {}
    for ws, tok in (("default", w.t0), ("other", w.t1)):
        svcs = s.get(f"{d.url}/workspaces/{ws}/webservices", headers=bearer(tok)).json()
        out[ws] = sorted((x["Id"], x["Name"], x["Description"]) for x in svcs)
        for x in svcs:
            eps = s.get(f"{d.url}/workspaces/{ws}/webservices/{x['Id']}/endpoints",
                        headers=bearer(tok)).json()
            out[x["Id"]] = sorted(
                (e["Name"], e["Description"], e["PrimaryKey"], e["SecondaryKey"], e["Version"],
                 e["MaxConcurrentCalls"], json.dumps([r["Location"]["RelativeLocation"]
                                                      for r in e["Resources"]]))
                for e in eps)
        out["blobs-" + ws] = sorted((b["Name"], b["Sha256"]) for b in
                                    s.get(f"{d.url}/storage/data", headers=bearer(tok)).json())
    for name, p in (("A", w.pA), ("B", w.pB), ("C", w.pC)):
        st = s.get(f"{p['ApiLocation']}/jobs/{w.jobs[name]}?api-version=2.0",
                   headers=bearer(p["PrimaryKey"])).json()
        out["job-" + name] = st["StatusCode"]
    out["intruder-ws"] = s.get(f"{d.url}/workspaces/made-by-intruder",
                               headers=bearer(w.t0)).status_code
    return out


def test_route_index_is_covered(world):
    """The test's table and the document's index name the same routes."""
    w = world
    documented = set(doc_routes())
    assert ("GET", "/health") in documented
    planned = set(plan(w, Target(w, "default")))
    assert documented - {("GET", "/health")} == planned


def test_health_is_the_only_open_route(world):
    a = call(world, "GET", "/health")
    assert a.status == 200 and a.json() == {"status": "ok"}


@pytest.mark.parametrize("ws", ["default", "other"])
def test_every_route_refuses_other_credentials(world, ws):
    w = world
    t = Target(w, ws)
    before = state(w)
    tried = 0
    for (method, route), (kind, path, body, control) in plan(w, t).items():
        if kind in ("admin", "blob") and ws != "default":
            continue  # not per workspace: tried once
        for name, cred, status in wrong_credentials(w, t, kind):
            a = call(w, method, path, cred, body)
            assert a.status == status, (method, route, name, a)
            check_studio_error(a, status)
            tried += 1
        # The right credential gets past authorization (the control changes
        # nothing that matters, or nothing at all).
        right = ("bearer", {"admin": w.t0, "ws": t.token, "key": t.key, "blob": w.t0}[kind])
        cpath, cbody, cstatus = control or (path, body, None)
        a = call(w, method, cpath, right, cbody)
        if cstatus is None:
            assert 200 <= a.status < 300, (method, route, a)
        else:
            assert a.status == cstatus, (method, route, a)
    assert tried > 300
    assert state(w) == before


def test_jobs_belong_to_their_endpoint(world):
    """Another endpoint's job is answered like an unknown one, with any key."""
    w = world
    a_api = urlparse(w.pA["ApiLocation"]).path
    for job in (w.jobs["B"], w.jobs["C"]):
        for method, sub in (("GET", ""), ("DELETE", ""), ("POST", "/start")):
            a = call(w, method, f"{a_api}/jobs/{job}{sub}?api-version=2.0",
                     ("bearer", w.pA["PrimaryKey"]))
            check_studio_error(a, 404, "JobNotFound")
    listed = call(w, "GET", f"{a_api}/jobs?api-version=2.0", ("bearer", w.pA["PrimaryKey"]))
    assert [j["Id"] for j in listed.json()] == [w.jobs["A"]]


def test_workspace_tokens_see_only_their_blobs(world):
    w = world
    assert call(w, "GET", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t0)).body == \
        ONLY_DEFAULT_TEXT
    # other's token names other's blob of the same name: there is none.
    check_studio_error(call(w, "GET", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t1)), 404)
    check_studio_error(call(w, "DELETE", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t1)), 404)
    listed = call(w, "GET", "/storage/data", ("bearer", w.t1)).json()
    assert "only-default.txt" not in [b["Name"] for b in listed]
    # A write lands in other's workspace, not over default's blob.
    assert call(w, "PUT", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t1), b"other's").status == 201
    assert call(w, "GET", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t0)).body == \
        ONLY_DEFAULT_TEXT
    assert call(w, "GET", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t1)).body == b"other's"
    assert call(w, "DELETE", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t1)).status == 204
    # A token other signs opens other's blob, not default's.
    tok = sign(w, ONLY_DEFAULT, "r", token=w.t1)
    check_studio_error(call(w, "GET", f"/storage/{ONLY_DEFAULT}", ("sas", tok)), 404)
    assert call(w, "GET", f"/storage/{ONLY_DEFAULT}", ("bearer", w.t0)).body == \
        ONLY_DEFAULT_TEXT


def tamper(token, **changes):
    q = dict(parse_qsl(token.lstrip("?")))
    q.update(changes)
    return "?" + urlencode({k: v for k, v in q.items() if v is not None})


def test_signed_tokens(world):
    """A signed token opens its blob for its permissions only, until it
    expires, and not once altered or moved to another blob."""
    w = world
    blob = "/storage/data/iso.txt"
    sas = w.sas
    assert call(w, "PUT", blob, ("sas", sas["w"]), b"via w").status == 201
    assert call(w, "GET", blob, ("sas", sas["r"])).body == b"via w"
    assert call(w, "GET", blob, ("sas", sas["rw"])).body == b"via w"
    assert call(w, "PUT", blob, ("sas", sas["rw"]), b"via rw").status == 201
    for method, perms in (("PUT", "r"), ("DELETE", "r"), ("GET", "w"), ("DELETE", "w"),
                          ("GET", "d"), ("PUT", "d"), ("DELETE", "rw")):
        a = call(w, method, blob, ("sas", sas[perms]), b"no" if method == "PUT" else None)
        check_studio_error(a, 403, "SasPermissionDenied")
    assert call(w, "GET", blob, ("bearer", w.t0)).body == b"via rw"
    sig = dict(parse_qsl(sas["r"].lstrip("?")))["sig"]
    flipped = ("B" if sig[0] != "B" else "C") + sig[1:]
    for name, tok in [("sig", tamper(sas["r"], sig=flipped)),
                      ("perms", tamper(sas["r"], sp="rwd")),
                      ("expiry", tamper(sas["r"], se="9999999999")),
                      ("workspace", tamper(sas["r"], ws="other")),
                      ("no-sig", tamper(sas["r"], sig=None)),
                      ("version", tamper(sas["r"], sv="2")),
                      ("other-blob", sas["r-only-default"])]:
        a = call(w, "GET", blob, ("sas", tok))
        check_studio_error(a, 401)
        assert a.body != b"via rw", name
    # Tampered for PUT and DELETE too.
    check_studio_error(call(w, "PUT", blob, ("sas", tamper(sas["w"], sp="rwd")), b"x"), 401)
    check_studio_error(call(w, "DELETE", blob, ("sas", tamper(sas["d"], sp="rd"))), 401)
    # Expired.
    short = sign(w, "data/iso.txt", "rwd", seconds=1)
    time.sleep(2.1)
    for method in ("GET", "PUT", "DELETE"):
        a = call(w, method, blob, ("sas", short), b"late" if method == "PUT" else None)
        check_studio_error(a, 401)
        assert "expired" in a.json()["error"]["details"][0]["message"]
    # A valid token does not open other routes (only its blob).
    check_studio_error(call(w, "GET", "/storage/data", ("sas", sas["r"])), 401)
    check_studio_error(call(w, "POST", "/storage/sign", ("sas", sas["rw"]),
                            {"Path": "data/iso.txt"}), 401)
    assert call(w, "DELETE", blob, ("sas", sas["d"])).status == 204
    check_studio_error(call(w, "GET", blob, ("bearer", w.t0)), 404)


def test_revoked_key_is_refused_everywhere_its_successor_works(world):
    w = world
    api = urlparse(w.pA["ApiLocation"]).path
    for cred in (("bearer", w.revoked), ("api-key", w.revoked)):
        a = call(w, "POST", f"{api}/execute?api-version=2.0", cred, w.row)
        check_studio_error(a, 401, "InvalidCredential")
    a = call(w, "POST", f"{api}/execute?api-version=2.0", ("api-key", w.pA_secondary), w.row)
    assert a.status == 200, a


def test_definitions_carry_no_secrets(world):
    w = world
    for ws, tok, p in (("default", w.t0, w.pA), ("default", w.t0, w.pB), ("other", w.t1, w.pC)):
        a = call(w, "GET", f"/workspaces/{ws}/webservices/{p['Id']}/definition", ("bearer", tok))
        assert a.status == 200, a
        text = a.body.decode()
        for secret in w.secrets:
            assert secret not in text
        assert "sig=" not in text


def test_zz_secrets_never_leak(world):
    """Runs after the others: nothing issued during the module (keys, tokens,
    signed tokens, signatures) is in the log or in any error answer, and the
    log has paths only."""
    w = world
    assert len(w.secrets) > 20
    log = w.d.log()
    errors = b"\n".join(w.errors).decode("utf-8", "replace")
    assert len(w.errors) > 300
    for secret in w.secrets:
        assert secret not in log
        assert secret not in errors
    assert "sig=" not in log and "sig=" not in errors
    lines = log_lines(w.d)
    assert lines
    for line in lines:
        assert "?" not in line["path"], line
    # The signed reads above were logged by their path alone.
    assert any(x["path"] == "/storage/data/iso.txt" and x["status"] == 200 for x in lines)


def test_private_files(world):
    data = world.d.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("admin-token", "secret", "meta.db", "meta.db-wal", "meta.db-shm"):
        p = data / name
        if name.startswith("meta.db-") and not p.exists():
            continue
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, (name, oct(p.stat().st_mode))


def test_meta_db_made_private_on_open(tmp_path):
    """A database left readable by others (an older relearnd, a copy) is
    made 0600 when relearnd opens it."""
    d = Daemon(tmp_path / "data")
    d.start()
    d.stop()
    (tmp_path / "data" / "meta.db").chmod(0o644)
    d.start()
    try:
        assert stat.S_IMODE((tmp_path / "data" / "meta.db").stat().st_mode) == 0o600
    finally:
        assert d.stop() == 0


# ---- HTTPS ----

@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(crt)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return crt, key


def test_tls(daemon_factory, cert, tmp_path):
    crt, key = cert
    d = daemon_factory("--tls-cert", crt, "--tls-key", key)
    base = f"https://127.0.0.1:{d.port}"
    s = requests.Session()
    s.trust_env = False  # else REQUESTS_CA_BUNDLE would override verify
    s.verify = str(crt)
    assert s.get(f"{base}/health").json() == {"status": "ok"}
    Cli(tmp_path)("generate", "census", "--rows", 400, "--seed", 3, "--out",
                  tmp_path / "c.csv")
    with open(tmp_path / "c.csv", "rb") as f:
        r = s.put(f"{base}/storage/data/c.csv", data=f, headers=bearer(d.token))
    assert r.status_code == 201, r.text
    r = s.post(f"{base}/workspaces/default/webservices", headers=bearer(d.token), json={
        "Name": "tls", "TrainingData": "data/c.csv", "Label": "income",
        "Learner": "two-class-boosted-decision-tree",
        "Parameters": {"number-of-trees-constructed": 5}}, timeout=300)
    assert r.status_code == 201, r.text
    p = r.json()["PredictiveService"]
    assert p["ApiLocation"].startswith(base + "/") and p["HelpLocation"].startswith("https://")
    loc = p["Resources"][0]["Location"]
    assert loc["BaseLocation"] == base + "/storage/"
    cols, rows = csv_text_rows(tmp_path / "c.csv", limit=1)
    r = s.post(p["ApiLocation"] + "/execute?api-version=2.0", headers=bearer(p["PrimaryKey"]),
               json={"Inputs": {"input1": {"ColumnNames": cols, "Values": rows}},
                     "GlobalParameters": {}})
    assert r.status_code == 200, r.text
    assert "Scored Labels" in r.json()["Results"]["output1"]["value"]["ColumnNames"]
    # The model's signed URL works over HTTPS with no other credential.
    r = s.get(loc["BaseLocation"] + loc["RelativeLocation"] + loc["SasBlobToken"])
    assert r.status_code == 200 and len(r.content) > 100
    # Without the certificate the client refuses the server, and plain HTTP
    # gets no answer on that port.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{base}/health", timeout=10, verify=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{d.port}/health", timeout=10)
    assert s.get(f"{base}/health").status_code == 200


@pytest.mark.parametrize("args, message", [
    (["--tls-cert", "{crt}"], "both --tls-cert and --tls-key"),
    (["--tls-key", "{key}"], "both --tls-cert and --tls-key"),
    (["--tls-cert", "{crt}", "--tls-key", "{missing}"], "--tls-key"),
    (["--tls-cert", "{junk}", "--tls-key", "{key}"], "not PEM"),
    (["--tls-cert", "{key}", "--tls-key", "{crt}"], "--tls-cert and --tls-key not match"),
], ids=["cert-only", "key-only", "key-missing", "cert-junk", "swapped"])
def test_tls_misconfigured(cert, tmp_path, args, message):
    crt, key = cert
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    subs = {"{crt}": str(crt), "{key}": str(key), "{missing}": str(tmp_path / "none.pem"),
            "{junk}": str(junk)}
    args = [subs.get(a, a) for a in args]
    p = subprocess.run([binary("relearnd"), "--data-dir", str(tmp_path / "data"), "--listen",
                        "127.0.0.1:0", *args], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert message in p.stderr, p.stderr
    assert "listening" not in p.stderr
