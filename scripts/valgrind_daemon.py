#!/usr/bin/python3
"""valgrind_daemon.py - a short relearnd session under valgrind memcheck
(scripts/valgrind.sh runs it: scripts/valgrind_daemon.py BUILD WORKDIR VALGRIND-ARGS...).

Starts BUILD/relearnd under `valgrind VALGRIND-ARGS` (its report in
WORKDIR/valgrind-relearnd.log) on a free loopback port, with
--model-idle-seconds 1 so that idle models are unloaded and loaded again,
then over HTTP: uploads census-like data (`relearn generate census`, 600
rows), publishes a boosted-trees service, scores it (RRS, classic and
swagger bodies), runs a batch scoring job and a retraining job, adds an
endpoint and PATCHes it with the retrained model (Update Resource),
regenerates a key, reads and puts back the definition, waits for the idle
unload and scores again, lists and deletes a blob, and refuses a few bad
requests (401, 404, 400). Then SIGTERM: relearnd must exit 0 and valgrind's
report must hold no error (no invalid read or write, no use of
uninitialised values, no definite leak; --error-exitcode makes those a
non-zero exit, and the report is read too).

Prints what it checked; exits 0 when all is well.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from common import free_port, run_job  # noqa: E402  (with the benchmarks)

TOKEN = "valgrind-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Session(requests.Session):
    """A session whose requests time out (relearnd under valgrind is slow, not stuck)."""

    def request(self, *args, **kw):
        kw.setdefault("timeout", 300)
        return super().request(*args, **kw)


def check(r, what, status=(200,)):
    if r.status_code not in status:
        raise RuntimeError(f"{what}: {r.status_code} {r.text[:500]}")
    return r


def main():
    build, work, vg_args = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), sys.argv[3:]
    work.mkdir(parents=True, exist_ok=True)
    vg_log = work / "valgrind-relearnd.log"
    subprocess.run([str(build / "relearn"), "generate", "census", "--rows", "600", "--out",
                    str(work / "census.csv")], check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = open(work / "relearnd.log", "w")
    p = subprocess.Popen(["valgrind", f"--log-file={vg_log}", *vg_args, str(build / "relearnd"),
                          "--data-dir", str(work / "data"), "--listen", f"127.0.0.1:{port}",
                          "--threads", "2", "--model-idle-seconds", "1"],
                         stdout=out, stderr=out, env=dict(os.environ, RELEARN_ADMIN_TOKEN=TOKEN))
    steps = []
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                requests.get(base + "/health", timeout=5)
                break
            except requests.RequestException:
                if p.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("relearnd under valgrind did not start:\n" +
                                       (work / "relearnd.log").read_text())
                time.sleep(0.5)
        s = Session()
        check(s.put(f"{base}/storage/data/census.csv", data=(work / "census.csv").read_bytes(),
                    headers=AUTH), "upload", (201,))
        pub = check(s.post(base + "/workspaces/default/webservices", headers=AUTH, json={
            "Name": "census", "TrainingData": {"RelativeLocation": "data/census.csv"},
            "Label": "income", "Learner": "two-class-boosted-decision-tree",
            "Parameters": {"number-of-trees-constructed": 10}}), "publish", (201,)).json()
        pred, train = pub["PredictiveService"], pub["TrainingService"]
        steps.append("publish")
        key = {"Authorization": "Bearer " + pred["PrimaryKey"]}
        with open(work / "census.csv") as f:
            lines = f.read().splitlines()
        cols = lines[0].split(",")[:-1]
        vals = [ln.split(",")[:-1] for ln in lines[1:6]]
        body = {"Inputs": {"input1": {"ColumnNames": cols, "Values": vals}},
                "GlobalParameters": {}}
        r = check(s.post(pred["ApiLocation"] + "/execute?api-version=2.0&details=true",
                         headers=key, json=body), "RRS")
        assert len(r.json()["Results"]["output1"]["value"]["Values"]) == 5
        rows = [dict(zip(cols, v)) for v in vals]
        check(s.post(pred["ApiLocation"] + "/execute?api-version=2.0&format=swagger",
                     headers=key, json={"Inputs": {"input1": rows}, "GlobalParameters": {}}),
              "RRS swagger")
        check(s.get(pred["ApiLocation"] + "/swagger.json", headers=key), "swagger.json")
        steps.append("rrs")
        run_job(pred["ApiLocation"], pred["PrimaryKey"], {
            "Inputs": {"input1": {"RelativeLocation": "data/census.csv"}},
            "Outputs": {"output1": {"RelativeLocation": "results/scored.csv"}},
            "GlobalParameters": {}}, limit=900, poll=0.5)  # valgrind is slow
        steps.append("bes score")
        st = run_job(train["ApiLocation"], train["PrimaryKey"], {
            "Inputs": {"input1": {"RelativeLocation": "data/census.csv"}},
            "Outputs": {"output1": {"RelativeLocation": "retrain/model.ilearner"},
                        "output2": {"RelativeLocation": "retrain/eval.csv"}},
            "GlobalParameters": {}}, limit=900, poll=0.5)
        steps.append("bes retrain")
        eps = f"{base}/workspaces/default/webservices/{pred['Id']}/endpoints"
        e1 = check(s.put(f"{eps}/e1", headers=AUTH, json={}), "add endpoint", (201,)).json()
        loc = st["Results"]["output1"]
        check(s.patch(f"{eps}/e1", headers=AUTH, json={"Resources": [{
            "Name": pred["Resources"][0]["Name"],
            "Location": {k: loc[k] for k in ("BaseLocation", "RelativeLocation",
                                             "SasBlobToken")}}]}), "PATCH")
        k1 = {"Authorization": "Bearer " + e1["PrimaryKey"]}
        check(s.post(e1["ApiLocation"] + "/execute?api-version=2.0", headers=k1, json=body),
              "RRS on the patched endpoint")
        steps.append("patch")
        check(s.post(f"{eps}/e1/regeneratekeys", headers=AUTH, json={"KeyName": "primary"}),
              "regenerate keys")
        check(s.post(e1["ApiLocation"] + "/execute?api-version=2.0", headers=k1, json=body),
              "RRS with the old key", (401,))
        steps.append("regenerate")
        svc = f"{base}/workspaces/default/webservices/{pred['Id']}"
        d = check(s.get(svc + "/definition", headers=AUTH), "definition").json()
        d["properties"]["description"] = "under valgrind"
        check(s.put(svc + "/definition", headers=AUTH, json=d), "definition put")
        check(s.get(f"{eps}/e1/history", headers=AUTH), "history")
        steps.append("definition")
        time.sleep(4)  # idle unload (--model-idle-seconds 1), then a reload
        check(s.post(pred["ApiLocation"] + "/execute?api-version=2.0", headers=key, json=body),
              "RRS after the idle unload")
        steps.append("idle unload and reload")
        check(s.get(f"{base}/storage/results?prefix=", headers=AUTH), "list blobs")
        check(s.delete(f"{base}/storage/results/scored.csv", headers=AUTH), "delete blob",
              (204,))
        check(s.post(pred["ApiLocation"] + "/execute?api-version=2.0", json=body),
              "no key", (401,))
        check(s.get(f"{base}/workspaces/default/webservices/nope", headers=AUTH), "404", (404,))
        check(s.post(pred["ApiLocation"] + "/execute?api-version=2.0", headers=key,
                     data=b"{not json"), "bad JSON", (400,))
        steps.append("refusals")
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(600)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        out.close()
    report = vg_log.read_text(errors="replace")
    problems = []
    if p.returncode != 0:
        problems.append(f"relearnd under valgrind exited {p.returncode} (0 expected; "
                        f"valgrind's --error-exitcode on errors)")
    for pat in (r"Invalid (read|write|free)", r"uninitialised", r"Mismatched free",
                r"definitely lost in [1-9]", r"Source and destination overlap"):
        if re.search(pat, report):
            problems.append(f"valgrind report has '{pat}'")
    m = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    if not m or m.group(1) != "0":
        problems.append("valgrind's ERROR SUMMARY is not 0 errors")
    print(f"valgrind daemon session: {', '.join(steps)}; SIGTERM exit {p.returncode}; "
          f"{m.group(0) if m else 'no ERROR SUMMARY'}")
    if problems:
        print("\n".join(problems))
        print(f"valgrind's report: {vg_log}")
        print(report[-20000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
