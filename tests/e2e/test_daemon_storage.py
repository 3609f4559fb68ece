"""Black-box tests of relearnd's blob store (/storage, docs/api.md "Blob
store"): put, get, delete and list with the workspace token, a 20 MB upload
with curl, signed URLs and every way of tampering with them, path traversal
in all its spellings (nothing may appear outside the data directory), and
models in use that cannot be deleted."""
import hashlib
import json
import os
import subprocess
import secrets
import time
from pathlib import Path

import pytest
import requests

from conftest import Cli, Daemon
from daemon_helpers import (assert_error, bearer, classic_body, csv_text_rows, curl_upload,
                            publish, raw_request, session, upload)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("storage")
    d = Daemon(root / "data")
    d.start()
    try:
        yield {"d": d, "s": session(), "root": root}
        assert "sig=" not in d.log()
    finally:
        assert d.stop() == 0


def blob_url(env, name):
    return f"{env['d'].url}/storage/{name}"


def tok(env):
    return bearer(env["d"].token)


def sign(env, path, perms="r", seconds=3600):
    r = env["s"].post(f"{env['d'].url}/storage/sign",
                      json={"Path": path, "Permissions": perms, "ExpirySeconds": seconds},
                      headers=tok(env))
    assert r.status_code == 200, r.text
    t = r.json()["SasBlobToken"]
    assert t.startswith("?") and "sig=" in t and f"sp={perms}" in t
    return t


def test_put_get_delete_list(env):
    s, d = env["s"], env["d"]
    r = s.put(blob_url(env, "crud/a/one.txt"), data=b"first", headers=tok(env))
    assert r.status_code == 201, r.text
    assert r.json() == {"Name": "crud/a/one.txt", "Size": 5,
                        "Sha256": hashlib.sha256(b"first").hexdigest()}
    r = s.get(blob_url(env, "crud/a/one.txt"), headers=tok(env))
    assert r.status_code == 200 and r.content == b"first"
    assert r.headers["ETag"] == f'"{hashlib.sha256(b"first").hexdigest()}"'
    # Overwrite, empty blobs, names that need percent-encoding.
    assert s.put(blob_url(env, "crud/a/one.txt"), data=b"second!", headers=tok(env)).status_code \
        == 201
    assert s.get(blob_url(env, "crud/a/one.txt"), headers=tok(env)).content == b"second!"
    assert s.put(blob_url(env, "crud/empty"), data=b"", headers=tok(env)).status_code == 201
    assert s.get(blob_url(env, "crud/empty"), headers=tok(env)).content == b""
    r = s.put(blob_url(env, "crud/with%20space%3F.txt"), data=b"sp", headers=tok(env))
    assert r.status_code == 201 and r.json()["Name"] == "crud/with space?.txt"
    assert s.get(blob_url(env, "crud/with%20space%3F.txt"), headers=tok(env)).content == b"sp"
    assert s.put(blob_url(env, "crud/b/two.txt"), data=b"2", headers=tok(env)).status_code == 201
    # List, with and without a prefix.
    r = s.get(blob_url(env, "crud"), headers=tok(env))
    assert r.status_code == 200
    items = {x["Name"]: x for x in r.json()}
    assert set(items) == {"a/one.txt", "empty", "with space?.txt", "b/two.txt"}
    assert items["a/one.txt"]["Size"] == 7 and items["a/one.txt"]["LastModified"].endswith("Z")
    r = s.get(blob_url(env, "crud") + "?prefix=a/", headers=tok(env))
    assert [x["Name"] for x in r.json()] == ["a/one.txt"]
    assert s.get(blob_url(env, "nothing-here"), headers=tok(env)).json() == []
    # Delete.
    assert s.delete(blob_url(env, "crud/a/one.txt"), headers=tok(env)).status_code == 204
    assert_error(s.get(blob_url(env, "crud/a/one.txt"), headers=tok(env)), 404)
    assert_error(s.delete(blob_url(env, "crud/a/one.txt"), headers=tok(env)), 404)
    assert "a/one.txt" not in {x["Name"] for x in
                               s.get(blob_url(env, "crud"), headers=tok(env)).json()}
    # Credentials.
    assert_error(s.get(blob_url(env, "crud/b/two.txt")), 401)
    assert_error(s.get(blob_url(env, "crud/b/two.txt"), headers=bearer("wrong")), 401)
    assert_error(s.put(blob_url(env, "crud/b/three.txt"), data=b"x"), 401)
    assert_error(s.delete(blob_url(env, "crud/b/two.txt")), 401)
    assert_error(s.get(blob_url(env, "crud")), 401)
    assert s.get(blob_url(env, "crud/b/two.txt"), headers=tok(env)).content == b"2"
    # A container is listed, not written.
    assert_error(s.put(blob_url(env, "crud"), data=b"x", headers=tok(env)), 405)
    assert_error(s.get(blob_url(env, "BAD"), headers=tok(env)), 400)


def test_20mb_upload_with_curl(env, tmp_path):
    s = env["s"]
    big = tmp_path / "big.bin"
    data = os.urandom(20 * 1024 * 1024)
    big.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    status, body = curl_upload(blob_url(env, "big/file.bin"), big, tok(env))
    assert status == 201, body
    assert json.loads(body) == {"Name": "big/file.bin", "Size": len(data), "Sha256": want}
    h = hashlib.sha256()
    with s.get(blob_url(env, "big/file.bin"), headers=tok(env), stream=True) as r:
        assert r.status_code == 200
        assert int(r.headers["Content-Length"]) == len(data)
        for chunk in r.iter_content(1 << 20):
            h.update(chunk)
    assert h.hexdigest() == want
    # The same through a signed URL and curl.
    out = tmp_path / "back.bin"
    url = blob_url(env, "big/file.bin") + sign(env, "big/file.bin")
    p = subprocess.run(["curl", "-sS", "-f", "-o", str(out), url], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == want
    assert s.delete(blob_url(env, "big/file.bin"), headers=tok(env)).status_code == 204


def test_signed_urls(env, tmp_path):
    s = env["s"]
    assert s.put(blob_url(env, "sas/doc.txt"), data=b"signed", headers=tok(env)).status_code == 201
    assert s.put(blob_url(env, "sas/other.txt"), data=b"other", headers=tok(env)).status_code == 201
    url = blob_url(env, "sas/doc.txt")
    r_tok = sign(env, "sas/doc.txt", "r")
    # Read with the signed URL alone.
    r = requests.get(url + r_tok)
    assert r.status_code == 200 and r.content == b"signed"
    assert "Authorization" not in r.request.headers
    # A read token neither writes nor deletes.
    assert_error(requests.put(url + r_tok, data=b"evil"), 403)
    assert_error(requests.delete(url + r_tok), 403)
    assert s.get(url, headers=tok(env)).content == b"signed"
    # It opens that blob only.
    assert_error(requests.get(blob_url(env, "sas/other.txt") + r_tok), 401)
    assert_error(requests.get(blob_url(env, "sas/doc.txt.bak") + r_tok), 401)

    fields = dict(kv.split("=", 1) for kv in r_tok[1:].split("&"))

    def with_fields(**change):
        f = dict(fields, **change)
        return "?" + "&".join(f"{k}={v}" for k, v in f.items())
    sig = fields["sig"]
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for bad in [with_fields(sig=flipped), with_fields(sig=sig[:-1]), with_fields(sig=""),
                with_fields(se=str(int(fields["se"]) + 3600)),
                with_fields(se=str(int(fields["se"]) - 1)),
                with_fields(sp="rwd"), with_fields(sp="w"), with_fields(sv="2"),
                with_fields(ws="other-ws"), with_fields(ws="")]:
        assert_error(requests.get(url + bad), 401)
        assert_error(requests.put(url + bad, data=b"evil"), 401)
        assert_error(requests.delete(url + bad), 401)
    no_ws = "?" + "&".join(f"{k}={v}" for k, v in fields.items() if k != "ws")
    assert_error(requests.get(url + no_ws), 401)
    no_sig = "?" + "&".join(f"{k}={v}" for k, v in fields.items() if k != "sig")
    assert_error(requests.get(url + no_sig), 401)
    assert s.get(url, headers=tok(env)).content == b"signed"
    # Write and delete tokens.
    w_tok = sign(env, "sas/new.txt", "w")
    r = requests.put(blob_url(env, "sas/new.txt") + w_tok, data=b"via sas")
    assert r.status_code == 201, r.text
    assert_error(requests.get(blob_url(env, "sas/new.txt") + w_tok), 403)
    status, body = curl_upload(blob_url(env, "sas/new.txt") + w_tok, _write(tmp_path, b"curl"), {})
    assert status == 201, body
    assert s.get(blob_url(env, "sas/new.txt"), headers=tok(env)).content == b"curl"
    d_tok = sign(env, "sas/new.txt", "d")
    assert_error(requests.get(blob_url(env, "sas/new.txt") + d_tok), 403)
    assert requests.delete(blob_url(env, "sas/new.txt") + d_tok).status_code == 204
    rwd = sign(env, "sas/all.txt", "rwd")
    assert requests.put(blob_url(env, "sas/all.txt") + rwd, data=b"x").status_code == 201
    assert requests.get(blob_url(env, "sas/all.txt") + rwd).content == b"x"
    assert requests.delete(blob_url(env, "sas/all.txt") + rwd).status_code == 204
    # Expired.
    short = sign(env, "sas/doc.txt", "r", seconds=1)
    time.sleep(2.1)
    d = assert_error(requests.get(url + short), 401)
    assert "expired" in d["message"]
    # Bad sign requests.
    sign_url = f"{env['d'].url}/storage/sign"
    for body in [{}, {"Path": "sas/doc.txt", "Permissions": "x"},
                 {"Path": "sas/doc.txt", "ExpirySeconds": 0},
                 {"Path": "sas/doc.txt", "ExpirySeconds": "60"},
                 {"Path": "sas/doc.txt", "ExpirySeconds": 10 ** 9},
                 {"Path": "sas/../etc/passwd"}, {"Path": "AB/x"}, {"Path": 5}]:
        assert_error(s.post(sign_url, json=body, headers=tok(env)), 400)
    assert_error(s.post(sign_url, data=b"{", headers=tok(env)), 400)
    assert_error(s.post(sign_url, json={"Path": "sas/doc.txt"}), 401)
    assert_error(s.post(sign_url, json={"Path": "sas/doc.txt"}, headers=bearer("nope")), 401)
    assert_error(s.put(sign_url, data=b"x", headers=tok(env)), 405)


def _write(tmp_path, data):
    p = tmp_path / secrets.token_hex(4)
    p.write_bytes(data)
    return p


def _tree(path):
    return sorted(str(p) for p in Path(path).rglob("*"))


def test_path_traversal(env, tmp_path):
    d = env["d"]
    s = env["s"]
    assert s.put(blob_url(env, "safe/inside.txt"), data=b"in", headers=tok(env)).status_code == 201
    canary_name = "relearn-canary-" + secrets.token_hex(6)
    canary = Path("/tmp") / canary_name
    outside = d.data_dir.parent
    before = set(_tree(outside)) - set(_tree(d.data_dir))
    up = "..%2F" * 24
    paths = [
        "/storage/data/../x.txt", "/storage/data/./x.txt", "/storage/../data/x.txt",
        "/storage/data/%2e%2e/x.txt", "/storage/data/%2E%2E/%2E%2E/x.txt",
        "/storage/data%2F..%2Fx.txt", "/storage/data/a%2F..%2F..%2Fx.txt",
        f"/storage/data/{up}tmp%2F{canary_name}", f"/storage/data/{'../' * 24}tmp/{canary_name}",
        f"/storage/{up}tmp/{canary_name}", f"/storage/..%2F..%2F..%2Ftmp%2F{canary_name}/x",
        f"/storage/data/%2Ftmp%2F{canary_name}", f"/storage//tmp/{canary_name}",
        "/storage/data//etc/passwd", "/storage/%2Fetc/passwd",
        "/storage/data/a/", "/storage/data/a//b",
        "/storage/data/..\\..\\x.txt", "/storage/data/%5C..%5Cx.txt", "/storage/data/a\\b",
        f"/storage/data/{canary_name}%00", "/storage/data/a%00b", "/storage/data/a%00/../../x",
        "/storage/data/%00", "/storage/data/x%0a.txt", "/storage/data/x%0d%0aSet-Cookie:a",
        "/storage/data/x%7f", "/storage/data/x%1b", "/storage/data/%252e%252e/x.txt",
        "/storage/data/%c0%ae%c0%ae/x.txt", "/storage/data/%ff.txt",
        "/storage/data/" + "a" * 1100, "/storage/data/" + "b" * 10000,
        "/storage/data/" + "s/" * 300 + "x",
        "/storage/AB/x.txt", "/storage/ab/x.txt", "/storage/a_b/x.txt", "/storage/-ab/x.txt",
        "/storage/ab-/x.txt", "/storage/a--b/x.txt", "/storage/" + "c" * 64 + "/x.txt",
        "/storage/../x.txt", "/storage/%2e%2e/x.txt", "/storage/da%00ta/x.txt",
    ]
    for path in paths:
        for method, body in [("PUT", b"evil"), ("GET", None), ("DELETE", None)]:
            status, _, data = raw_request(d.port, method, path, tok(env), body)
            # Refused as a bad name (400), or as a route (404: deeper than any
            # route); never looked up as a blob.
            if status == 404:
                assert b"RouteNotFound" in data, (method, path[:120], data[:300])
            else:
                assert status == 400, (method, path[:120], status, data[:300])
            assert not canary.exists(), path
    # A container name that is really a traversal, for listing.
    for path in ["/storage/..", "/storage/%2e%2e", "/storage/AB", "/storage/a%00b"]:
        status, _, data = raw_request(d.port, "GET", path, tok(env))
        assert status in (400, 404), (path, status, data[:300])
    # With signed tokens too (the signature does not make a bad path good).
    r_tok = sign(env, "safe/inside.txt", "rwd")
    for path in ["/storage/safe/../safe/inside.txt", "/storage/safe/%2e%2e/safe/inside.txt",
                 "/storage/safe/inside.txt%00"]:
        status, _, _ = raw_request(d.port, "GET", path + r_tok, None)
        assert status in (400, 401), path
        status, _, _ = raw_request(d.port, "PUT", path + r_tok, None, b"evil")
        assert status in (400, 401), path
    assert not canary.exists()
    after = set(_tree(outside)) - set(_tree(d.data_dir))
    assert after - before <= {str(d.log_path)}, after - before
    # Nothing was written under a truncated or normalised name either.
    for name in ["data/a", "data/x.txt", "data/b", canary_name]:
        assert_error(s.get(blob_url(env, name if "/" in name else "data/" + name),
                           headers=tok(env)), 404)
    assert s.get(blob_url(env, "safe/inside.txt"), headers=tok(env)).content == b"in"
    names = [x["Name"] for x in s.get(blob_url(env, "data"), headers=tok(env)).json()]
    assert names == [], names


def test_model_in_use_cannot_be_deleted(env, tmp_path):
    s, d = env["s"], env["d"]
    Cli(tmp_path)("generate", "census", "--rows", 1500, "--seed", 3, "--out",
                  tmp_path / "c.csv")
    upload(s, d, tmp_path / "c.csv", "data/c.csv")
    pub = publish(s, d, "inuse", "data/c.csv")
    p = pub["PredictiveService"]
    rel = p["Resources"][0]["Location"]["RelativeLocation"]
    assert_error(s.delete(blob_url(env, rel), headers=tok(env)), 409, code="BlobInUse")
    d_tok = sign(env, rel, "rd")
    assert_error(requests.delete(blob_url(env, rel) + d_tok), 409)
    # Overwriting it is refused too: the endpoint loads it again after a restart.
    before = requests.get(blob_url(env, rel) + d_tok).content
    assert_error(s.put(blob_url(env, rel), data=b"not a model", headers=tok(env)), 409,
                 code="BlobInUse")
    w_tok = sign(env, rel, "w")
    assert_error(requests.put(blob_url(env, rel) + w_tok, data=b"not a model"), 409)
    assert requests.get(blob_url(env, rel) + d_tok).content == before
    cols, rows = csv_text_rows(tmp_path / "c.csv", limit=3)
    r = s.post(p["ApiLocation"] + "/execute?api-version=2.0", json=classic_body(cols, rows),
               headers=bearer(p["PrimaryKey"]))
    assert r.status_code == 200, r.text
    # The training data is not in use by an endpoint: it can go.
    assert s.delete(blob_url(env, "data/c.csv"), headers=tok(env)).status_code == 204
