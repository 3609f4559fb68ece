"""Helpers shared by the relearnd tests (test_daemon_*.py, test_walkthrough.py):
an HTTP session that fails the test on any 5xx but 503, Studio error checks,
publishing, and scoring the same rows with `relearn score` to compare with
what the daemon answers."""
import csv
import http.client
import json
import subprocess
from pathlib import Path

import requests

from conftest import binary

STATUS_CLASS = {400: "BadArgument", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                405: "MethodNotAllowed", 409: "Conflict", 413: "RequestEntityTooLarge",
                503: "RequestThrottled"}


def _never_500(resp, *args, **kwargs):
    # A fault of relearnd itself is never an acceptable answer to anything the
    # tests send; 503 is the throttle's.
    if resp.status_code >= 500 and resp.status_code != 503:
        raise AssertionError(f"{resp.request.method} {resp.request.url} answered "
                             f"{resp.status_code}: {resp.text[:2000]}")


def session():
    s = requests.Session()
    s.hooks["response"].append(_never_500)
    return s


def bearer(credential):
    return {"Authorization": f"Bearer {credential}"}


def assert_error(resp, status, detail=None, code=None):
    """resp is a Studio-shaped error of this status; detail (a string) appears
    in its detail message, code (if given) is the detail code."""
    assert resp.status_code == status, (resp.status_code, resp.text[:2000])
    body = resp.json()
    err = body["error"]
    assert err["code"] == STATUS_CLASS[status], body
    assert isinstance(err["message"], str) and err["message"], body
    assert isinstance(err["details"], list) and err["details"], body
    d = err["details"][0]
    assert d["code"] and d["message"], body
    if detail is not None:
        assert detail in d["message"], body
    if code is not None:
        assert d["code"] == code, body
    if status == 503:
        assert resp.headers.get("Retry-After"), resp.headers
    return d


def raw_request(port, method, path, headers=None, body=None, timeout=60):
    """One request with the path sent byte for byte (requests/urllib3 would
    normalise dot segments and re-encode)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        assert r.status < 500 or r.status == 503, (method, path, r.status, data[:2000])
        return r.status, dict(r.getheaders()), data
    finally:
        c.close()


def upload(s, daemon, local, blob, token=None):
    with open(local, "rb") as f:
        r = s.put(f"{daemon.url}/storage/{blob}", data=f,
                  headers=bearer(token or daemon.token))
    assert r.status_code == 201, r.text
    return r.json()


def curl_upload(url, local, headers):
    """PUT a file with curl --data-binary @file; returns (status, body)."""
    args = ["curl", "-sS", "-X", "PUT", "--data-binary", f"@{local}", "-o", "-",
            "-w", "\n%{http_code}"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    p = subprocess.run(args + [url], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code), body


def publish(s, daemon, name, blob, token=None, ws="default", **fields):
    """POST /workspaces/{ws}/webservices; fields default to the quick path on
    census-like data with 20 trees. Returns the answer."""
    body = {"Name": name, "TrainingData": {"RelativeLocation": blob}}
    if "Experiment" not in fields:
        body.update({"Label": "income", "Learner": "two-class-boosted-decision-tree",
                     "Parameters": {"number-of-trees-constructed": 20}})
    body.update(fields)
    r = s.post(f"{daemon.url}/workspaces/{ws}/webservices", json=body,
               headers=bearer(token or daemon.token), timeout=600)
    assert r.status_code == 201, r.text[:2000]
    return r.json()


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def cell_text(v):
    """How a JSON request value is written into the CSV for `relearn score`."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return v


def score_locally(model_bytes, columns, rows, workdir, name="rows"):
    """Writes the model and the rows (as CSV) into workdir and runs
    `relearn score MODEL rows.csv`; returns (header, rows) as strings."""
    workdir = Path(workdir)
    model = workdir / f"{name}.ilearner"
    model.write_bytes(model_bytes)
    data = workdir / f"{name}.csv"
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for row in rows:
            w.writerow([cell_text(v) for v in row])
    out = workdir / f"{name}.scored.csv"
    p = subprocess.run([binary("relearn"), "score", str(model), str(data), "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return read_csv(out)


def answer_table(answer, output="output1", swagger=False):
    """An RRS answer's output as (header, rows) of strings; missing -> ""."""
    res = answer["Results"][output]
    if swagger:
        assert isinstance(res, list), answer
        header = list(res[0].keys()) if res else []
        rows = []
        for obj in res:
            assert list(obj.keys()) == header, obj
            rows.append(obj.values())
    else:
        assert res["type"] == "DataTable", answer
        header = res["value"]["ColumnNames"]
        rows = res["value"]["Values"]
    out = []
    for row in rows:
        row = list(row)
        assert len(row) == len(header)
        for v in row:
            assert v is None or isinstance(v, str), (v, row)  # every value as a string
        out.append(["" if v is None else v for v in row])
    return header, out


def model_location(endpoint):
    """The download URL of an endpoint's trained model, from its Resources."""
    res = [x for x in endpoint["Resources"] if x["Kind"] == "TrainedModel"]
    assert len(res) == 1, endpoint["Resources"]
    loc = res[0]["Location"]
    assert loc["RelativeLocation"].endswith(".ilearner"), loc
    assert loc["SasBlobToken"].startswith("?"), loc
    return loc["BaseLocation"] + loc["RelativeLocation"] + loc["SasBlobToken"]


def download_model(endpoint):
    """The endpoint's model bytes, fetched with no credential but the signed URL."""
    r = requests.get(model_location(endpoint), timeout=120)
    assert r.status_code == 200, r.text[:2000]
    assert "Authorization" not in r.request.headers
    return r.content


def classic_body(columns, rows, name="input1"):
    return {"Inputs": {name: {"ColumnNames": list(columns), "Values": [list(r) for r in rows]}},
            "GlobalParameters": {}}


def swagger_body(columns, rows, name="input1"):
    return {"Inputs": {name: [dict(zip(columns, r)) for r in rows]}, "GlobalParameters": {}}


def csv_text_rows(path, drop=("income",), limit=None):
    """Columns and rows (strings) of a CSV file, without the columns in drop."""
    header, rows = read_csv(path)
    keep = [i for i, c in enumerate(header) if c not in drop]
    rows = rows[:limit] if limit else rows
    return [header[i] for i in keep], [[r[i] for i in keep] for r in rows]


def to_json_numbers(columns, rows, numeric):
    """rows with the cells of the numeric columns as JSON numbers (missing as null)."""
    idx = {i for i, c in enumerate(columns) if c in numeric}
    out = []
    for r in rows:
        row = []
        for i, v in enumerate(r):
            if i in idx:
                if v == "":
                    row.append(None)
                else:
                    f = float(v)
                    row.append(int(f) if f.is_integer() else f)
            else:
                row.append(v)
        out.append(row)
    return out

