"""Hostile input against a real relearnd: a catalogue of malformed and
malicious requests (broken JSON, deep nesting, huge numbers, NaN, wrong types
and column counts, 10 MB values, long and many headers, invalid UTF-8, bodies
over the limit, path traversal in every name, header injection, SQL
metacharacters, unknown methods and routes, wrong content types, garbage
query parameters), each answered with the right 4xx in Studio's JSON shape
(libmicrohttpd's own 4xx for what never reaches relearnd: request lines and
headers over the limit, a broken Content-Length). After every request the
daemon still answers /health and scores a row; nothing outside its data
directory is touched (a canary directory beside it stays as it was, and a
secret there is never served); no answer is a 500 and the database passes
SQLite's integrity check at the end. Slow clients are cut by
--request-timeout and a slowloris does not starve other clients.
"""
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from conftest import Cli, Daemon
from daemon_helpers import bearer, csv_text_rows, publish, session, upload
from hostile_net import check_studio_error, log_lines, send

MAX_BODY = 12 << 20
MAX_ROWS = 1000
MAX_COLS = 100
CANARY_TEXT = "CANARY-7f3a9c: never served, never written over"
# Stored and answered verbatim where names are free text.
SQL_NAME = "census' OR '1'='1\"; DROP TABLE services; -- %_ \\ 雪"
SQL_DESC = "'; DELETE FROM endpoints WHERE ''=''; -- \"x\" %s %n 50%_off; /* */"
SQL_BLOB = "data/it's; -- 50%_off \"q\" [1].csv"


def snapshot(root, skip):
    """Every path under root but those in skip: (relative path, size, mtime)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in skip]
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            if p in skip:
                continue
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    Cli(root)("generate", "census", "--rows", 1500, "--seed", 5, "--out", root / "census.csv")
    outside = root / "outside"  # beside the data directory: traversals aim here
    outside.mkdir()
    (outside / "secret.txt").write_text(CANARY_TEXT)
    d = Daemon(root / "data", [str(a) for a in ["--max-body", MAX_BODY, "--max-rows", MAX_ROWS,
                                                "--max-columns", MAX_COLS, "--threads", 2]])
    d.start()
    skip = {root / "data", d.log_path}
    before = snapshot(root, skip)
    try:
        s = session()
        upload(s, d, root / "census.csv", "data/census.csv")
        pub = publish(s, d, SQL_NAME, "data/census.csv", Description=SQL_DESC,
                      Parameters={"number-of-trees-constructed": 5})
        p = pub["PredictiveService"]
        svc = f"/workspaces/default/webservices/{p['Id']}"
        r = s.put(f"{d.url}{svc}/endpoints/extra", json={"Description": SQL_DESC},
                  headers=bearer(d.token))
        assert r.status_code == 201, r.text
        cols, rows = csv_text_rows(root / "census.csv", limit=3)
        e = {"d": d, "s": s, "root": root, "outside": outside, "pub": pub, "p": p,
             "api": urlparse(p["ApiLocation"]).path, "svc": svc, "key": p["PrimaryKey"],
             "cols": cols, "rows": rows, "before": before, "skip": skip}
        yield e
    finally:
        rc = d.stop()
    assert rc == 0
    # The database is whole after everything it was sent.
    p = subprocess.run(["sqlite3", str(root / "data" / "meta.db"), "PRAGMA integrity_check"],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "ok", p.stdout + p.stderr
    # relearnd never answered 500, whatever it was sent.
    assert not [x for x in log_lines(d) if x.get("status", 0) >= 500]


def alive(env):
    """/health answers and a real row is scored."""
    d = env["d"]
    a = send(d.port, "GET", "/health")
    assert a.status == 200 and a.json() == {"status": "ok"}, a
    body = json.dumps({"Inputs": {"input1": {"ColumnNames": env["cols"],
                                             "Values": [env["rows"][0]]}},
                       "GlobalParameters": {}}).encode()
    a = send(d.port, "POST", env["api"] + "/execute?api-version=2.0",
             {"Authorization": "Bearer " + env["key"], "Content-Type": "application/json"},
             body)
    assert a.status == 200, a
    value = a.json()["Results"]["output1"]["value"]
    assert "Scored Labels" in value["ColumnNames"] and len(value["Values"]) == 1, a


# ---- the catalogue ----

class Case:
    """One hostile request. path: a template ({api} the predictive service's
    ApiLocation path, {svc} its management path, {ep} its added endpoint,
    {abs} the canary directory's absolute path without its leading '/').
    auth: "auto" (the endpoint key under /workspaces/*/services, else the
    admin token), None, or a header dict. body: bytes, str, a JSON-able
    object, or a function of env giving one of those. mhd: answered by
    libmicrohttpd itself (no Studio shape)."""

    def __init__(self, name, method, path, status, body=None, code=None, auth="auto",
                 headers=None, mhd=False, chunked=False, ctype="application/json",
                 content_length=True):
        self.name, self.method, self.path, self.status = name, method, path, status
        self.body, self.code, self.auth, self.headers = body, code, auth, headers or {}
        self.mhd, self.chunked, self.ctype = mhd, chunked, ctype
        self.content_length = content_length


def rrs(env, values=None, cols=None, **top):
    """An execute body from the good row, with changes."""
    body = {"Inputs": {"input1": {"ColumnNames": cols if cols is not None else env["cols"],
                                  "Values": values if values is not None
                                  else [env["rows"][0]]}},
            "GlobalParameters": {}}
    body.update(top)
    return body


def row_with(env, col, value):
    row = list(env["rows"][0])
    row[env["cols"].index(col)] = value
    return [row]


def good_text(env):
    return json.dumps(rrs(env))


def numeric_literal(lit):
    """A good execute body with the first age replaced by a raw JSON literal."""
    return lambda env: good_text(env).replace(f'"{env["rows"][0][0]}"', lit, 1)


def deep(n, open_="[", close="]"):
    return (open_ * n + close * n).encode()


def swagger_rows(env, n=1):
    return {"Inputs": {"input1": [dict(zip(env["cols"], env["rows"][0])) for _ in range(n)]},
            "GlobalParameters": {}}


TEN_MB = 10 * 1000 * 1000
EXE = "{api}/execute?api-version=2.0"
PUB = "/workspaces/default/webservices"
SIGN = "/storage/sign"


def publish_body(**kw):
    body = {"Name": "x", "TrainingData": {"RelativeLocation": "data/census.csv"},
            "Label": "income", "Learner": "two-class-boosted-decision-tree"}
    body.update(kw)
    return body


def job_body(inp="data/census.csv", **kw):
    body = {"Inputs": {"input1": {"RelativeLocation": inp}}, "GlobalParameters": {}}
    body.update(kw)
    return body


def location(rel, **kw):
    loc = {"RelativeLocation": rel}
    loc.update(kw)
    return lambda env: {"Resources": [{"Name": env["p"]["Resources"][0]["Name"],
                                       "Location": loc}]}


CASES = [
    # -- broken JSON --
    Case("json-truncated", "POST", EXE, 400, b'{"Inputs": {"input1": {"ColumnNames": ["age"',
         "InvalidJson"),
    Case("json-trailing-garbage", "POST", EXE, 400, lambda e: good_text(e) + " xyz",
         "InvalidJson"),
    Case("json-two-objects", "POST", EXE, 400, lambda e: good_text(e) * 2, "InvalidJson"),
    Case("json-single-quotes", "POST", EXE, 400, b"{'Inputs': {}}", "InvalidJson"),
    Case("json-unquoted-keys", "POST", EXE, 400, b"{Inputs: {}}", "InvalidJson"),
    Case("json-trailing-comma", "POST", EXE, 400,
         lambda e: good_text(e)[:-1] + ',}', "InvalidJson"),
    Case("json-comment", "POST", EXE, 400, lambda e: good_text(e)[:-1] + "/* c */}",
         "InvalidJson"),
    Case("json-null", "POST", EXE, 400, b"null", "InvalidJson"),
    Case("json-array", "POST", EXE, 400, b"[]", "InvalidJson"),
    Case("json-string", "POST", EXE, 400, b'"Inputs"', "InvalidJson"),
    Case("json-number", "POST", EXE, 400, b"42", "InvalidJson"),
    Case("json-empty-body", "POST", EXE, 400, b"", "MissingBody"),
    Case("json-no-body", "POST", EXE, 400, None, "MissingBody"),
    Case("json-whitespace", "POST", EXE, 400, b" \r\n\t ", "InvalidJson"),
    Case("json-bom", "POST", EXE, 400, lambda e: b"\xef\xbb\xbf" + good_text(e).encode(),
         "InvalidJson"),
    Case("json-nul-byte", "POST", EXE, 400, b'{"Inputs":\x00{}}', "InvalidJson"),
    Case("json-escaped-nul", "POST", PUB, 400, b'{"Name": "a\\u0000b"}', "InvalidJson"),
    Case("deep-arrays-100k", "POST", EXE, 400, b"[" * 100000, "InvalidJson"),
    Case("deep-arrays-balanced", "POST", EXE, 400, deep(100000), "InvalidJson"),
    Case("deep-objects-100k", "POST", EXE, 400, b'{"a":' * 100000, "InvalidJson"),
    Case("deep-in-a-cell", "POST", EXE, 400,
         lambda e: good_text(e).replace(f'"{e["rows"][0][0]}"', "[" * 5000 + "]" * 5000, 1),
         "InvalidJson"),
    Case("deep-publish", "POST", PUB, 400, lambda e: json.dumps(publish_body())[:-1] +
         ', "Experiment": ' + "[" * 100000 + "}", "InvalidJson"),
    Case("num-1e400", "POST", EXE, 400, numeric_literal("1e400"), "InvalidJson"),
    Case("num-minus-1e400", "POST", EXE, 400, numeric_literal("-1e400"), "InvalidJson"),
    Case("num-huge-integer", "POST", EXE, 400,
         numeric_literal("123456789012345678901234567890"), "InvalidJson"),
    Case("num-NaN", "POST", EXE, 400, numeric_literal("NaN"), "InvalidJson"),
    Case("num-Infinity", "POST", EXE, 400, numeric_literal("Infinity"), "InvalidJson"),
    Case("num-minus-Infinity", "POST", EXE, 400, numeric_literal("-Infinity"), "InvalidJson"),
    Case("num-leading-zeros", "POST", EXE, 400, numeric_literal("0039"), "InvalidJson"),
    Case("num-hex", "POST", EXE, 400, numeric_literal("0x27"), "InvalidJson"),
    Case("dup-keys-top", "POST", EXE, 400,
         lambda e: good_text(e)[:-1] + ', "Inputs": {}}', "InvalidJson"),
    Case("dup-keys-inner", "POST", EXE, 400,
         b'{"Inputs": {"input1": {"ColumnNames": [], "ColumnNames": [], "Values": []}}}',
         "InvalidJson"),
    Case("dup-keys-publish", "POST", PUB, 400, b'{"Name": "a", "Name": "b"}', "InvalidJson"),
    Case("utf8-invalid-byte", "POST", EXE, 400,
         b'{"Inputs": {"input1": {"ColumnNames": ["\xff"], "Values": []}}}', "InvalidJson"),
    Case("utf8-overlong", "POST", EXE, 400,
         b'{"Inputs": {"input1": {"ColumnNames": ["\xc0\xaf"], "Values": []}}}', "InvalidJson"),
    Case("utf8-truncated", "POST", PUB, 400, b'{"Name": "\xe2\x82"}', "InvalidJson"),
    Case("utf8-lone-surrogate", "POST", PUB, 400, b'{"Name": "\\ud800"}', "InvalidJson"),
    Case("json-bad-escape", "POST", PUB, 400, b'{"Name": "\\x41"}', "InvalidJson"),
    Case("json-raw-newline", "POST", PUB, 400, b'{"Name": "a\nb"}', "InvalidJson"),
    # -- wrong types and shapes (RRS) --
    Case("inputs-missing", "POST", EXE, 400, {"GlobalParameters": {}}, "MissingInputs"),
    Case("inputs-array", "POST", EXE, 400, {"Inputs": []}, "MissingInputs"),
    Case("inputs-string", "POST", EXE, 400, {"Inputs": "input1"}, "MissingInputs"),
    Case("input1-string", "POST", EXE, 400, {"Inputs": {"input1": "x"}}),
    Case("input1-number", "POST", EXE, 400, {"Inputs": {"input1": 1}}),
    Case("input1-null", "POST", EXE, 400, {"Inputs": {"input1": None}}),
    Case("columnnames-string", "POST", EXE, 400,
         {"Inputs": {"input1": {"ColumnNames": "age", "Values": [["1"]]}}}),
    Case("values-object", "POST", EXE, 400,
         {"Inputs": {"input1": {"ColumnNames": ["age"], "Values": {"a": 1}}}}),
    Case("columnnames-numbers", "POST", EXE, 400, lambda e: rrs(e, cols=list(range(14)))),
    Case("columnnames-null", "POST", EXE, 400,
         lambda e: rrs(e, cols=[None] + e["cols"][1:])),
    Case("columnnames-empty", "POST", EXE, 400, lambda e: rrs(e, cols=[""] + e["cols"][1:])),
    Case("row-not-array", "POST", EXE, 400, lambda e: rrs(e, values=["x"])),
    Case("row-short", "POST", EXE, 400, lambda e: rrs(e, values=[e["rows"][0][:-1]])),
    Case("row-long", "POST", EXE, 400, lambda e: rrs(e, values=[e["rows"][0] + ["x"]])),
    Case("rows-ragged", "POST", EXE, 400,
         lambda e: rrs(e, values=[e["rows"][0], e["rows"][1][:3]])),
    Case("cell-object", "POST", EXE, 400, lambda e: rrs(e, row_with(e, "age", {"a": 1}))),
    Case("cell-array", "POST", EXE, 400, lambda e: rrs(e, row_with(e, "age", [1, 2]))),
    Case("cell-text-in-numeric", "POST", EXE, 400, lambda e: rrs(e, row_with(e, "age", "abc"))),
    Case("cell-bool-in-numeric", "POST", EXE, 400, lambda e: rrs(e, row_with(e, "age", True))),
    Case("cell-object-in-text", "POST", EXE, 400,
         lambda e: rrs(e, row_with(e, "workclass", {"a": 1}))),
    Case("cell-10MB-in-numeric", "POST", EXE, 400,
         lambda e: rrs(e, row_with(e, "age", "x" * TEN_MB))),
    Case("column-twice", "POST", EXE, 400,
         lambda e: rrs(e, cols=e["cols"] + ["age"], values=[e["rows"][0] + ["1"]])),
    Case("column-missing", "POST", EXE, 400,
         lambda e: rrs(e, cols=e["cols"][1:], values=[e["rows"][0][1:]])),
    Case("columns-over-limit", "POST", EXE, 413,
         lambda e: rrs(e, cols=[f"c{i}" for i in range(MAX_COLS + 1)], values=[]),
         "LimitExceeded"),
    Case("rows-over-limit", "POST", EXE, 413,
         lambda e: rrs(e, values=[e["rows"][0]] * (MAX_ROWS + 1)), "LimitExceeded"),
    Case("swagger-row-not-object", "POST", EXE + "&format=swagger", 400,
         {"Inputs": {"input1": [[1, 2]]}}),
    Case("swagger-bad-cell", "POST", EXE + "&format=swagger", 400,
         lambda e: {"Inputs": {"input1": [dict(zip(e["cols"], row_with(e, "age", {})[0]))]}}),
    Case("swagger-columns-over-limit", "POST", EXE + "&format=swagger", 413,
         lambda e: {"Inputs": {"input1": [{f"c{i}": 1 for i in range(MAX_COLS + 1)}]}},
         "LimitExceeded"),
    Case("swagger-rows-over-limit", "POST", EXE + "&format=swagger", 413,
         lambda e: swagger_rows(e, MAX_ROWS + 1), "LimitExceeded"),
    Case("unknown-input", "POST", EXE, 400,
         lambda e: {"Inputs": dict(rrs(e)["Inputs"], input2={"ColumnNames": [], "Values": []})},
         "UnknownInput"),
    Case("globalparams-string", "POST", EXE, 400, lambda e: rrs(e, GlobalParameters="x"),
         "InvalidGlobalParameters"),
    Case("globalparams-unknown", "POST", EXE, 400,
         lambda e: rrs(e, GlobalParameters={"x'; --": 1}), "InvalidGlobalParameters"),
    # -- query parameters --
    Case("api-version-garbage", "POST", "{api}/execute?api-version=garbage", 400,
         lambda e: rrs(e), "UnsupportedApiVersion"),
    Case("api-version-empty", "POST", "{api}/execute?api-version=", 400, lambda e: rrs(e),
         "UnsupportedApiVersion"),
    Case("api-version-bad-utf8", "POST", "{api}/execute?api-version=%ff%fe", 400,
         lambda e: rrs(e), "UnsupportedApiVersion"),
    Case("api-version-jobs", "GET", "{api}/jobs?api-version=1.0", 400, None,
         "UnsupportedApiVersion"),
    Case("api-version-help", "GET", "{api}/help?api-version=%00", 400, None,
         "UnsupportedApiVersion"),
    Case("details-garbage", "POST", EXE + "&details=garbage", 400, lambda e: rrs(e),
         "BadDetails"),
    Case("details-nul", "POST", EXE + "&details=true%00", 400, lambda e: rrs(e), "BadDetails"),
    Case("format-garbage", "POST", EXE + "&format=garbage", 400, lambda e: rrs(e), "BadFormat"),
    Case("format-bad-utf8", "POST", EXE + "&format=%c0%af", 400, lambda e: rrs(e),
         "BadFormat"),
    # -- content types --
    Case("ctype-text-plain", "POST", EXE, 415, lambda e: rrs(e), "UnsupportedContentType",
         ctype="text/plain"),
    Case("ctype-form", "POST", PUB, 415, publish_body(), "UnsupportedContentType",
         ctype="application/x-www-form-urlencoded"),
    Case("ctype-multipart", "PUT", "{svc}/endpoints/extra", 415, {"Description": "x"},
         "UnsupportedContentType", ctype="multipart/form-data; boundary=x"),
    Case("ctype-xml", "POST", SIGN, 415, {"Path": "data/census.csv"}, "UnsupportedContentType",
         ctype="application/xml"),
    Case("ctype-bad-bytes", "POST", "{api}/jobs?api-version=2.0", 415, job_body(),
         "UnsupportedContentType", ctype="\xff\xfe/json-ish"),
    # -- methods and routes --
    Case("method-post-health", "POST", "/health", 405, b"{}", "MethodNotAllowed"),
    Case("method-delete-health", "DELETE", "/health", 405, None, "MethodNotAllowed"),
    Case("method-trace", "TRACE", "/health", 405, None, "MethodNotAllowed"),
    Case("method-unknown", "BREW", "/health", 405, None, "MethodNotAllowed"),
    Case("method-options-workspace", "OPTIONS", "/workspaces/default", 405),
    Case("method-patch-blob", "PATCH", "/storage/data/census.csv", 405, b"x"),
    Case("method-post-service", "POST", "{svc}", 405, {}),
    Case("method-delete-definition", "DELETE", "{svc}/definition", 405),
    Case("method-get-execute", "GET", EXE, 405),
    Case("method-put-help", "PUT", "{api}/help", 405, {}),
    Case("method-delete-jobs", "DELETE", "{api}/jobs?api-version=2.0", 405),
    Case("method-get-regeneratekeys", "GET", "{svc}/endpoints/extra/regeneratekeys", 404),
    Case("route-root", "GET", "/", 404, None, "RouteNotFound"),
    Case("route-unknown", "GET", "/nope", 404, None, "RouteNotFound"),
    Case("route-workspaces", "GET", "/workspaces", 404, None, "RouteNotFound"),
    Case("route-ws-unknown", "GET", "/workspaces/default/nope", 404, None, "RouteNotFound"),
    Case("route-api-unknown", "GET", "{api}/nope", 404, None, "RouteNotFound"),
    Case("route-svc-unknown", "GET", "{svc}/nope", 404, None, "RouteNotFound"),
    Case("route-too-deep", "GET", "/a" * 40, 404, None, "RouteNotFound"),
    Case("route-service-unknown", "POST", "/workspaces/default/services/nope/execute", 404,
         {}, "ServiceNotFound"),
    Case("route-bad-utf8", "GET", "/%ff%fe", 404, None, "RouteNotFound"),
    Case("route-bad-utf8-raw", "GET", b"/\xff\xfe/x", 404, None, "RouteNotFound"),
    Case("route-service-bad-utf8", "POST", "/workspaces/default/services/%c3%28/execute", 404,
         {}, "ServiceNotFound"),
    # -- path traversal: blobs --
    Case("blob-get-dotdot", "GET", "/storage/data/../../outside/secret.txt", 400),
    Case("blob-get-dotdot-encoded", "GET", "/storage/data/%2e%2e/%2e%2e/outside/secret.txt",
         400),
    Case("blob-get-slash-encoded", "GET",
         "/storage/data/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt", 400),
    Case("blob-get-container-dotdot", "GET", "/storage/../outside/secret.txt", 400),
    Case("blob-get-absolute", "GET", "/storage/data//{abs}/secret.txt", 400),
    Case("blob-get-backslash", "GET", "/storage/data/..%5c..%5coutside%5csecret.txt", 400),
    Case("blob-put-dotdot", "PUT", "/storage/data/../../outside/pwned", 400, b"x"),
    Case("blob-put-dotdot-encoded", "PUT", "/storage/data/%2e%2e/%2e%2e/%2e%2e/outside/pwned",
         400, b"x"),
    Case("blob-put-dotdot-deep", "PUT", "/storage/data/a/b/c" + "/.." * 12 + "/outside/pwned",
         400, b"x"),
    Case("blob-put-absolute", "PUT", "/storage/data//{abs}/pwned", 400, b"x"),
    Case("blob-put-encoded-absolute", "PUT", "/storage/data/%2f{abs}/pwned", 400, b"x"),
    Case("blob-put-backslash", "PUT", "/storage/data/..\\..\\outside\\pwned", 400, b"x"),
    Case("blob-put-nul", "PUT", "/storage/data/pwned%00.csv", 400, b"x"),
    Case("blob-put-nul-dotdot", "PUT", "/storage/data/..%00/pwned", 400, b"x"),
    Case("blob-put-double-encoded", "PUT", "/storage/data/%252e%252e/pwned", 400, b"x"),
    Case("blob-put-crlf", "PUT", "/storage/data/a%0d%0aSet-Cookie:%20injected=1", 400, b"x"),
    Case("blob-put-bad-utf8", "PUT", "/storage/data/%ff.csv", 400, b"x"),
    Case("blob-put-container-upper", "PUT", "/storage/DATA/x.csv", 400, b"x"),
    Case("blob-put-container-short", "PUT", "/storage/ab/x.csv", 400, b"x"),
    Case("blob-put-trailing-slash", "PUT", "/storage/data/x/", 400, b"x"),
    Case("blob-delete-dotdot", "DELETE", "/storage/data/%2e%2e/outside/secret.txt", 400),
    Case("blob-list-dotdot", "GET", "/storage/..", 400),
    Case("blob-list-prefix-nul", "GET", "/storage/data?prefix=%00", 400),
    Case("blob-list-prefix-bad-utf8", "GET", "/storage/data?prefix=%ff", 400),
    Case("sign-dotdot", "POST", SIGN, 400, {"Path": "data/../../outside/pwned"}),
    Case("sign-absolute", "POST", SIGN, 400, lambda e: {"Path": str(e["outside"] / "pwned")}),
    Case("sign-backslash", "POST", SIGN, 400, {"Path": "data\\..\\pwned"}),
    Case("sign-encoded", "POST", SIGN, 400, {"Path": "data/%2e%2e/pwned"}),
    Case("sign-path-number", "POST", SIGN, 400, {"Path": 5}),
    Case("sign-perms-bad", "POST", SIGN, 400, {"Path": "data/x.csv", "Permissions": "rwx"}),
    Case("sign-perms-number", "POST", SIGN, 400, {"Path": "data/x.csv", "Permissions": 7}),
    Case("sign-expiry-string", "POST", SIGN, 400,
         {"Path": "data/x.csv", "ExpirySeconds": "3600"}),
    Case("sign-expiry-zero", "POST", SIGN, 400, {"Path": "data/x.csv", "ExpirySeconds": 0}),
    Case("sign-expiry-negative", "POST", SIGN, 400, {"Path": "data/x.csv", "ExpirySeconds": -5}),
    Case("sign-expiry-huge", "POST", SIGN, 400,
         {"Path": "data/x.csv", "ExpirySeconds": 2 ** 62}),
    Case("sign-expiry-1e400", "POST", SIGN, 400,
         b'{"Path": "data/x.csv", "ExpirySeconds": 1e400}', "InvalidJson"),
    Case("sas-garbage-sig", "GET", "/storage/data/census.csv?ws=default&sv=1&sp=r&se=9999999999"
         "&sig=zzzz", 401, auth=None),
    Case("sas-garbage-expiry", "GET", "/storage/data/census.csv?ws=default&sv=1&sp=r&se=abc"
         "&sig=AAAA", 401, auth=None),
    Case("sas-ws-dotdot", "GET", "/storage/data/census.csv?ws=..&sv=1&sp=r&se=9999999999"
         "&sig=AAAA", 401, auth=None),
    Case("sas-version", "GET", "/storage/data/census.csv?ws=default&sv=2&sp=r&se=9999999999"
         "&sig=AAAA", 401, auth=None),
    Case("sas-twice", "GET", "/storage/data/census.csv?ws=default&sv=1&sv=1&sp=r&se=1&sig=A",
         401, auth=None),
    # -- path traversal and metacharacters: other names --
    Case("publish-data-dotdot", "POST", PUB, 400,
         publish_body(TrainingData={"RelativeLocation": "data/../../outside/secret.txt"}),
         "InvalidBlobPath"),
    Case("publish-data-container-dotdot", "POST", PUB, 400,
         publish_body(TrainingData={"RelativeLocation": "../outside/secret.txt"}),
         "InvalidBlobPath"),
    Case("publish-data-absolute", "POST", PUB, 400,
         lambda e: publish_body(TrainingData={"RelativeLocation": str(e["outside"] /
                                                                    "secret.txt")}),
         "InvalidBlobPath"),
    Case("publish-data-encoded", "POST", PUB, 400,
         publish_body(TrainingData={"RelativeLocation": "data/%2e%2e/secret.txt"}),
         "InvalidBlobPath"),
    Case("publish-data-backslash", "POST", PUB, 400,
         publish_body(TrainingData="data\\..\\..\\outside\\secret.txt"), "InvalidBlobPath"),
    Case("publish-data-missing", "POST", PUB, 404, publish_body(TrainingData="data/none.csv")),
    Case("publish-data-number", "POST", PUB, 400, publish_body(TrainingData=5),
         "MissingTrainingData"),
    Case("publish-name-number", "POST", PUB, 400, publish_body(Name=5), "BadName"),
    Case("publish-name-empty", "POST", PUB, 400, publish_body(Name=""), "BadName"),
    Case("publish-name-long", "POST", PUB, 400, publish_body(Name="n" * 201), "BadName"),
    Case("publish-name-10MB", "POST", PUB, 400, lambda e: publish_body(Name="n" * TEN_MB),
         "BadName"),
    Case("publish-description-number", "POST", PUB, 400, publish_body(Description=[1]),
         "BadDescription"),
    Case("publish-learner-unknown", "POST", PUB, 400, publish_body(Learner="'; DROP --"),
         "UnknownLearner"),
    Case("publish-learner-number", "POST", PUB, 400, publish_body(Learner=7),
         "UnknownLearner"),
    Case("publish-label-number", "POST", PUB, 400, publish_body(Label=1), "MissingLabel"),
    Case("publish-params-array", "POST", PUB, 400, publish_body(Parameters=[1]),
         "BadParameters"),
    Case("publish-param-type", "POST", PUB, 400,
         publish_body(Parameters={"number-of-trees-constructed": "many"})),
    Case("publish-param-huge", "POST", PUB, 400,
         publish_body(Parameters={"number-of-trees-constructed": 1e308})),
    Case("publish-param-unknown", "POST", PUB, 400, publish_body(Parameters={"x'--": 1})),
    Case("publish-experiment-string", "POST", PUB, 400, publish_body(Experiment="x")),
    Case("publish-experiment-deep", "POST", PUB, 400,
         lambda e: json.dumps(publish_body())[:-1] + ', "Experiment": {"nodes": ' +
         "[" * 1000 + "]" * 1000 + "}}"),
    Case("endpoint-name-upper", "PUT", "{svc}/endpoints/Extra2", 400, {}, "BadEndpointName"),
    Case("endpoint-name-quote", "PUT", "{svc}/endpoints/a%27b", 400, {}, "BadEndpointName"),
    Case("endpoint-name-sql", "PUT", "{svc}/endpoints/a%3B--%20DROP", 400, {},
         "BadEndpointName"),
    Case("endpoint-name-dotdot", "PUT", "{svc}/endpoints/%2e%2e", 400, {}, "BadEndpointName"),
    Case("endpoint-name-nul", "PUT", "{svc}/endpoints/a%00b", 400, {}, "BadEndpointName"),
    Case("endpoint-name-bad-utf8", "PUT", "{svc}/endpoints/%ff", 400, {}, "BadEndpointName"),
    Case("endpoint-name-long", "PUT", "{svc}/endpoints/" + "a" * 25, 400, {},
         "BadEndpointName"),
    Case("endpoint-name-hyphen", "PUT", "{svc}/endpoints/-a", 400, {}, "BadEndpointName"),
    Case("endpoint-mcc-string", "PUT", "{svc}/endpoints/extra", 400,
         {"MaxConcurrentCalls": "20"}, "BadMaxConcurrentCalls"),
    Case("endpoint-mcc-zero", "PUT", "{svc}/endpoints/extra", 400, {"MaxConcurrentCalls": 0},
         "BadMaxConcurrentCalls"),
    Case("endpoint-mcc-negative", "PUT", "{svc}/endpoints/extra", 400,
         {"MaxConcurrentCalls": -1}, "BadMaxConcurrentCalls"),
    Case("endpoint-mcc-int64", "PUT", "{svc}/endpoints/extra", 400,
         {"MaxConcurrentCalls": 9223372036854775807}, "BadMaxConcurrentCalls"),
    Case("endpoint-mcc-float", "PUT", "{svc}/endpoints/extra", 400,
         {"MaxConcurrentCalls": 2.5}, "BadMaxConcurrentCalls"),
    Case("endpoint-mcc-huge", "PUT", "{svc}/endpoints/extra", 400,
         b'{"MaxConcurrentCalls": 123456789012345678901234567890}', "InvalidJson"),
    Case("endpoint-throttle", "PUT", "{svc}/endpoints/extra", 400, {"ThrottleLevel": 5},
         "BadThrottleLevel"),
    Case("endpoint-trace", "PUT", "{svc}/endpoints/extra", 400,
         {"DiagnosticsTraceLevel": "Verbose"}, "BadDiagnosticsTraceLevel"),
    Case("endpoint-unknown-prop", "PUT", "{svc}/endpoints/extra", 400, {"PrimaryKey": "mine"},
         "UnknownProperty"),
    Case("endpoint-description-type", "PUT", "{svc}/endpoints/extra", 400,
         {"Description": {"a": 1}}, "BadDescription"),
    Case("endpoint-description-10MB", "PUT", "{svc}/endpoints/extra", 400,
         lambda e: {"Description": "d" * TEN_MB}, "BadDescription"),
    Case("patch-default", "PATCH", "{svc}/endpoints/default", 400, {"Resources": []},
         "DefaultEndpointNotUpdatable"),
    Case("patch-resources-string", "PATCH", "{ep}", 400, {"Resources": "x"}, "BadResources"),
    Case("patch-resource-name", "PATCH", "{ep}", 400,
         {"Resources": [{"Name": "x'--", "Location": {}}]}, "UnknownResource"),
    Case("patch-location-dotdot", "PATCH", "{ep}", 400,
         location("data/../../outside/secret.txt"), "InvalidBlobPath"),
    Case("patch-location-absolute", "PATCH", "{ep}", 400,
         lambda e: location(str(e["outside"] / "secret.txt"))(e), "InvalidBlobPath"),
    Case("patch-location-elsewhere", "PATCH", "{ep}", 400,
         location("data/m.ilearner", BaseLocation="http://evil.example/storage/"),
         "UnreachableLocation"),
    Case("patch-location-token", "PATCH", "{ep}", 400,
         location("data/census.csv", SasBlobToken="?sv=1&sp=r&se=1&sig=x"),
         "InvalidLocationToken"),
    Case("patch-location-missing", "PATCH", "{ep}", 400, location("data/none.ilearner"),
         "BlobNotFound"),
    Case("patch-location-not-a-model", "PATCH", "{ep}", 400, location("data/census.csv"),
         "InvalidModelFile"),
    Case("rollback-seq-string", "POST", "{ep}/rollback", 400, {"Seq": "1"}, "BadSeq"),
    Case("rollback-seq-unknown", "POST", "{ep}/rollback", 404, {"Seq": 99999},
         "HistoryEntryNotFound"),
    Case("refresh-overwrite-string", "POST", "{ep}/refresh", 400,
         {"OverwriteResources": "yes"}, "BadOverwriteResources"),
    Case("keys-name-unknown", "POST", "{ep}/regeneratekeys", 400, {"KeyName": "tertiary"},
         "BadKeyName"),
    Case("keys-name-number", "POST", "{ep}/regeneratekeys", 400, {"KeyName": 1}, "BadKeyName"),
    Case("keys-name-null", "POST", "{ep}/regeneratekeys", 400, {"KeyName": None},
         "BadKeyName"),
    Case("definition-props-string", "PUT", "{svc}/definition", 400, {"properties": "x"},
         "BadDefinition"),
    Case("definition-title-long", "PUT", "{svc}/definition", 400,
         {"properties": {"title": "t" * 201}}, "InvalidDefinition"),
    Case("definition-keys", "PUT", "{svc}/definition", 400,
         {"properties": {"title": "t", "keys": {"primary": "mine"}}}, "InvalidDefinition"),
    Case("definition-package-garbage", "PUT", "{svc}/definition", 400,
         {"properties": {"title": "t", "package": {"nodes": {"n": {"assetId": "nope"}},
                                                   "edges": "x"}}}, "InvalidDefinition"),
    Case("workspace-name-upper", "PUT", "/workspaces/Bad_Name", 400, None, "BadWorkspaceName"),
    Case("workspace-name-quote", "PUT", "/workspaces/a%27%20OR%20%271%27=%271", 400, None,
         "BadWorkspaceName"),
    Case("workspace-name-sql", "PUT", "/workspaces/x%3Bdrop%20table%20workspaces--", 400,
         None, "BadWorkspaceName"),
    Case("workspace-name-dotdot", "PUT", "/workspaces/%2e%2e", 400, None, "BadWorkspaceName"),
    Case("workspace-name-nul", "PUT", "/workspaces/a%00b", 400, None, "BadWorkspaceName"),
    Case("workspace-name-bad-utf8", "PUT", "/workspaces/%ff%fe", 400, None, "BadWorkspaceName"),
    Case("workspace-name-long", "PUT", "/workspaces/" + "w" * 65, 400, None,
         "BadWorkspaceName"),
    Case("workspace-get-bad-utf8", "GET", "/workspaces/%ff%fe/webservices", 404, None,
         "WorkspaceNotFound"),
    Case("workspace-get-sql", "GET", "/workspaces/x%27%20OR%20%271%27=%271/webservices", 404,
         None, "WorkspaceNotFound"),
    Case("service-get-sql", "GET", "/workspaces/default/webservices/x%27%20OR%201=1--", 404,
         None, "ServiceNotFound"),
    Case("job-input-dotdot", "POST", "{api}/jobs?api-version=2.0", 400,
         job_body("data/../../outside/secret.txt"), "InvalidBlobPath"),
    Case("job-input-absolute", "POST", "{api}/jobs?api-version=2.0", 400,
         lambda e: job_body("/" + str(e["outside"] / "secret.txt")), "InvalidBlobPath"),
    Case("job-input-encoded", "POST", "{api}/jobs?api-version=2.0", 400,
         job_body("data/%2e%2e/x.csv"), "InvalidBlobPath"),
    Case("job-input-missing", "POST", "{api}/jobs?api-version=2.0", 400,
         job_body("data/none.csv"), "BlobNotFound"),
    Case("job-inputs-array", "POST", "{api}/jobs?api-version=2.0", 400, {"Inputs": []},
         "InvalidInputs"),
    Case("job-connection-elsewhere", "POST", "{api}/jobs?api-version=2.0", 400,
         {"Inputs": {"input1": {"ConnectionString": "DefaultEndpointsProtocol=https;"
                                "AccountName=evil;AccountKey=x", "RelativeLocation":
                                "data/census.csv"}}}, "InvalidBlobConnectionString"),
    Case("job-base-elsewhere", "POST", "{api}/jobs?api-version=2.0", 400,
         {"Inputs": {"input1": {"BaseLocation": "http://evil.example/storage/",
                                "RelativeLocation": "data/census.csv"}}},
         "InvalidBlobLocation"),
    Case("job-output-dotdot", "POST", "{api}/jobs?api-version=2.0", 400,
         job_body(Outputs={"output1": {"RelativeLocation": "results/../../outside/pwned.csv"}}),
         "InvalidBlobPath"),
    Case("job-output-extension", "POST", "{api}/jobs?api-version=2.0", 400,
         job_body(Outputs={"output1": {"RelativeLocation": "results/x.exe"}}),
         "InvalidOutputExtension"),
    Case("job-globalparams", "POST", "{api}/jobs?api-version=2.0", 400,
         job_body(GlobalParameters="x"), "InvalidGlobalParameters"),
    Case("job-id-sql", "GET", "{api}/jobs/x%27%20OR%20%271%27=%271?api-version=2.0", 404,
         None, "JobNotFound"),
    Case("job-id-dotdot", "GET", "{api}/jobs/%2e%2e?api-version=2.0", 404, None,
         "JobNotFound"),
    Case("job-id-bad-utf8", "DELETE", "{api}/jobs/%ff?api-version=2.0", 404, None,
         "JobNotFound"),
    Case("job-id-long", "POST", "{api}/jobs/" + "j" * 5000 + "/start?api-version=2.0", 404,
         None, "JobNotFound"),
    # -- limits enforced by relearnd --
    Case("body-over-limit-declared", "POST", EXE, 413, b"", "BodyTooLarge",
         headers={"Content-Length": str(MAX_BODY + 1)}, content_length=False),
    Case("body-over-limit-chunked", "POST", EXE, 413,
         lambda e: b'{"Inputs": "' + b"x" * (MAX_BODY + 10) + b'"}', "BodyTooLarge",
         chunked=True),
    Case("body-over-limit-publish", "POST", PUB, 413,
         lambda e: b'{"Name": "' + b"x" * (MAX_BODY + 10) + b'"}', "BodyTooLarge"),
    # -- what libmicrohttpd refuses before relearnd sees it --
    Case("header-line-70KB", "GET", "/health", 431, None, auth=None,
         headers={"X-Long": "a" * 70000}, mhd=True),
    Case("header-key-1MB", "POST", EXE, 431, b"{}", auth={"Authorization": "Bearer " +
                                                          "k" * 1000000}, mhd=True),
    Case("headers-10000", "GET", "/health", 431, None, auth=None,
         headers=[(f"X-H{i}", "v") for i in range(10000)], mhd=True),
    Case("url-70KB", "GET", "/storage/data/" + "a" * 70000, 414, None, mhd=True),
    Case("content-length-garbage", "POST", EXE, 400, None, mhd=True,
         headers={"Content-Length": "abc"}),
    Case("content-length-negative", "POST", EXE, 400, None, mhd=True,
         headers={"Content-Length": "-1"}),
]


def materialize(env, case):
    """(method, path, headers, body) of a case for this env."""
    ep = f"{env['svc']}/endpoints/extra"
    path = case.path
    if isinstance(path, str):
        path = (path.replace("{api}", env["api"]).replace("{svc}", env["svc"])
                .replace("{ep}", ep).replace("{abs}", str(env["outside"]).lstrip("/")))
    headers = []
    target = path if isinstance(path, str) else path.decode("latin-1")
    if case.auth == "auto":
        if "/services/" in target:
            headers.append(("Authorization", "Bearer " + env["key"]))
        elif target.startswith(("/workspaces", "/storage")):
            headers.append(("Authorization", "Bearer " + env["d"].token))
    elif isinstance(case.auth, dict):
        headers += list(case.auth.items())
    body = case.body(env) if callable(case.body) else case.body
    if isinstance(body, (dict, list)) or (body is not None and not isinstance(body,
                                                                              (bytes, str))):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    if body is not None and case.ctype:
        headers.append(("Content-Type", case.ctype))
    extra = case.headers.items() if isinstance(case.headers, dict) else case.headers
    headers += list(extra)
    return case.method, path, headers, body


def test_catalogue_is_large_and_distinct():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 100, len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request(env, case):
    method, path, headers, body = materialize(env, case)
    t0 = time.monotonic()
    a = send(env["d"].port, method, path, headers, body, chunked=case.chunked,
             content_length=case.content_length, timeout=60)
    assert time.monotonic() - t0 < 30, "answered, but slowly"
    assert a.status == case.status, a
    if case.mhd:
        assert 400 <= a.status < 500
    else:
        check_studio_error(a, case.status, case.code)
    # Nothing the client sent comes back as a header; nothing outside is served.
    for k, v in a.headers:
        assert "injected" not in (k + v).lower() and k.lower() != "set-cookie", a
    assert CANARY_TEXT.encode() not in a.body
    alive(env)


# ---- what is accepted, verbatim ----

def test_sql_metacharacters_verbatim(env):
    """Free-text names with quotes, semicolons, comment markers and percent
    signs are stored and answered as given; the database is intact."""
    s, d, p = env["s"], env["d"], env["p"]
    h = bearer(d.token)
    svc = s.get(f"{d.url}{env['svc']}", headers=h).json()
    assert svc["Name"] == SQL_NAME and svc["Description"] == SQL_DESC
    listed = s.get(f"{d.url}/workspaces/default/webservices", headers=h).json()
    assert {x["Name"] for x in listed} == {SQL_NAME, SQL_NAME + " [Training]"}
    ep = s.get(f"{d.url}{env['svc']}/endpoints/extra", headers=h).json()
    assert ep["Description"] == SQL_DESC
    r = s.put(f"{d.url}{env['svc']}/endpoints/extra", json={"Description": SQL_NAME},
              headers=h)
    assert r.status_code == 200 and r.json()["Description"] == SQL_NAME, r.text
    defn = s.get(f"{d.url}{env['svc']}/definition", headers=h).json()
    assert defn["name"] == SQL_NAME and defn["properties"]["description"] == SQL_DESC
    # A blob named with metacharacters: written, read, listed and used as verbatim.
    data = (env["root"] / "census.csv").read_bytes()
    url = f"{d.url}/storage/" + quote(SQL_BLOB, safe="/")
    r = s.put(url, data=data, headers=h)
    assert r.status_code == 201 and r.json()["Name"] == SQL_BLOB, r.text
    assert s.get(url, headers=h).content == data
    names = [x["Name"] for x in s.get(f"{d.url}/storage/data", headers=h).json()]
    assert SQL_BLOB.split("/", 1)[1] in names
    api = p["ApiLocation"]
    r = s.post(f"{api}/jobs?api-version=2.0", json=job_body(SQL_BLOB),
               headers=bearer(env["key"]))
    assert r.status_code == 200, r.text
    job = r.json()
    r = s.delete(f"{api}/jobs/{job}?api-version=2.0", headers=bearer(env["key"]))
    assert r.status_code == 204, r.text
    # Endpoint and workspace names are refused (the catalogue), not mangled:
    # the service still has exactly its two endpoints.
    eps = s.get(f"{d.url}{env['svc']}/endpoints", headers=h).json()
    assert sorted(e["Name"] for e in eps) == ["default", "extra"]
    alive(env)


def test_traversal_names_stay_inside(env):
    """Names that look like paths elsewhere are names inside the store: an
    absolute path after the container, a prefix with dot segments."""
    s, d = env["s"], env["d"]
    h = bearer(d.token)
    inside = "data" + str(env["outside"] / "pwned")  # data/tmp/.../outside/pwned
    r = s.put(f"{d.url}/storage/{inside}", data=b"inside", headers=h)
    assert r.status_code == 201, r.text
    assert not (env["outside"] / "pwned").exists()
    assert s.get(f"{d.url}/storage/{inside}", headers=h).content == b"inside"
    assert s.delete(f"{d.url}/storage/{inside}", headers=h).status_code == 204
    for prefix in ["../", "../../outside", "..%2F..%2F", "/etc"]:
        r = s.get(f"{d.url}/storage/data?prefix={prefix}", headers=h)
        assert r.status_code == 200 and r.json() == [], (prefix, r.text)


def test_header_injection_not_echoed(env):
    """CR/LF in a path, a query, and header values: the answer carries none
    of it as a header."""
    d = env["d"]
    tok = ("Authorization", "Bearer " + d.token)
    attempts = [
        ("GET", "/nope%0d%0aSet-Cookie:%20injected=1", [tok]),
        ("GET", "/storage/data?prefix=a%0d%0aX-Injected:%201", [tok]),
        ("GET", "/workspaces/a%0aX-Injected:%201/webservices", [tok]),
        ("GET", "/health", [("X-Forwarded-Host", "x\rX-Injected: 1")]),
        ("GET", "/workspaces/default", [("Authorization", "Bearer x\rX-Injected: 1")]),
        ("GET", "/health", [("X-A", "a"), ("", "X-Injected: 1")]),
    ]
    for method, path, headers in attempts:
        try:
            a = send(d.port, method, path, headers)
        except (ConnectionError, OSError):
            continue  # refused outright is fine
        assert a.status < 500, a
        for k, v in a.headers:
            assert "injected" not in (k + v).lower() and k.lower() != "set-cookie", a
    alive(env)


def test_zz_nothing_outside_touched(env):
    """Runs last: the canary directory and everything beside the data
    directory are as they were, and the secret was never answered."""
    assert (env["outside"] / "secret.txt").read_text() == CANARY_TEXT
    assert sorted(p.name for p in env["outside"].iterdir()) == ["secret.txt"]
    assert snapshot(env["root"], env["skip"]) == env["before"]
    # The log is well formed whatever the paths were (no raw control bytes).
    log = env["d"].log()
    assert "\r" not in log and CANARY_TEXT not in log
    for line in log_lines(env["d"]):
        assert line["status"] < 500, line


# ---- slow clients ----

@pytest.fixture(scope="module")
def slow_daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("slow") / "data",
               ["--request-timeout", "2", "--threads", "2", "--quiet"])
    d.start()
    yield d
    assert d.stop() == 0


def closed_within(sock, seconds):
    """Seconds until the peer closed sock (None if it had not by then)."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < seconds:
        try:
            data = sock.recv(4096)
            if not data:
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ConnectionResetError, OSError):
            return time.monotonic() - t0
    return None


@pytest.mark.parametrize("partial", [
    b"GET /health HTTP/1.1\r\nHost: x\r\n",  # headers never end
    b"POST /workspaces/default/webservices HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
    b"Authorization: Bearer {tok}\r\n\r\n{\"Name\": ",  # body never ends
    b"PUT /storage/data/slow.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc",  # chunk never ends
], ids=["headers", "body", "chunked-upload"])
def test_stalled_client_is_cut(slow_daemon, partial):
    d = slow_daemon
    s = socket.create_connection(("127.0.0.1", d.port))
    try:
        s.sendall(partial.replace(b"{tok}", d.token.encode()))
        took = closed_within(s, 10)
        assert took is not None, "a stalled client was never cut"
        assert 1.0 <= took <= 6.0, took
    finally:
        s.close()
    assert send(d.port, "GET", "/health").status == 200
    # Nothing of the cut upload was stored.
    a = send(d.port, "GET", "/storage/data/slow.csv", {"Authorization": "Bearer " + d.token})
    assert a.status == 404, a


def test_slowloris_does_not_starve_others(slow_daemon):
    """200 connections that send half a request and stall: others are served
    at once meanwhile, and the stalled ones are cut by the timeout."""
    d = slow_daemon
    socks = []
    try:
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", d.port))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: %d\r\n" % i)
            socks.append(s)
        t0 = time.monotonic()
        for _ in range(20):
            t = time.monotonic()
            a = send(d.port, "GET", "/health", timeout=5)
            assert a.status == 200 and time.monotonic() - t < 1.0
        a = send(d.port, "GET", "/workspaces/default/webservices",
                 {"Authorization": "Bearer " + d.token}, timeout=5)
        assert a.status == 200, a
        assert time.monotonic() - t0 < 5
        # Every stalled connection is cut within a few timeouts.
        deadline = time.monotonic() + 10
        for s in socks:
            assert closed_within(s, max(0.1, deadline - time.monotonic())) is not None
    finally:
        for s in socks:
            s.close()
    assert send(d.port, "GET", "/health").status == 200


# ---- the limits are options ----

def test_limits_documented_in_help_and_docs():
    """Every limit option of docs/api.md's Limits table is in relearnd --help."""
    import re
    from conftest import ROOT, binary
    doc = (ROOT / "docs" / "api.md").read_text().split("## Limits", 1)[1].split("\n## ", 1)[0]
    options = set(re.findall(r"`(--[a-z-]+)`", doc))
    assert {"--max-body", "--max-upload", "--max-rows", "--max-columns", "--max-header-bytes",
            "--max-connections", "--request-timeout"} <= options
    helptext = subprocess.run([binary("relearnd"), "--help"], capture_output=True, text=True,
                              timeout=30).stdout
    for opt in options:
        assert opt in helptext, opt


@pytest.mark.parametrize("args", [["--max-columns", "0"], ["--max-columns", "x"],
                                  ["--max-header-bytes", "100"],
                                  ["--max-header-bytes", "99999999999"],
                                  ["--max-rows", "-1"], ["--request-timeout", "0"]])
def test_limit_options_checked(tmp_path, args):
    from conftest import binary
    p = subprocess.run([binary("relearnd"), "--data-dir", str(tmp_path / "d"), *args],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and args[0] in p.stderr, p.stderr


def test_max_header_bytes_option(daemon_factory):
    small = daemon_factory("--max-header-bytes", 16384)
    default = daemon_factory()
    for d, limit in ((small, 16384), (default, 65536)):
        assert send(d.port, "GET", "/health", {"X-Pad": "p" * (limit // 4)}).status == 200
        a = send(d.port, "GET", "/health", {"X-Pad": "p" * (limit + 100)})
        assert a.status == 431, a
        a = send(d.port, "GET", "/health?" + "q" * (limit + 100))
        assert a.status in (414, 431), a
        assert send(d.port, "GET", "/health").status == 200
    # What the small daemon refuses the default one takes.
    assert send(default.port, "GET", "/health", {"X-Pad": "p" * 20000}).status == 200
    assert send(small.port, "GET", "/health", {"X-Pad": "p" * 20000}).status == 431
