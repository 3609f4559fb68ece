#!/usr/bin/python3
"""endpoints.py - relearnd with 1,000 endpoints (`make bench-endpoints`).

  /usr/bin/python3 bench/endpoints.py --build build/release [--endpoints 1000]
                                       [--models 50] [--runs 3] [--quick]

Publishes census-like data (5,000 rows, boosted trees) as a predictive web
service and adds --endpoints endpoints through the API (PUT
.../endpoints/NAME), timing the creation rate. A copy of the data directory
taken after the first added endpoint is the 1-endpoint baseline. Then, for
each data directory, relearnd is restarted (--model-idle-seconds 2, default
--preload-models) --runs times and measured:

  - time to serve: process start until GET /health answers 200;
  - time to first answer: process start until a request to the last endpoint
    (never used in this process) has been answered;
  - resident memory (VmRSS) after start, after scoring every endpoint once
    (last to first), after the idle unload (about 5 s later), and its peak
    (VmHWM).

All endpoints are bound to one model file, so they share one loaded model:
memory should not grow with endpoints. A variant then binds --models of the
endpoints (PATCH, Update Resource) to as many distinct models, retrained by
batch jobs of the training service on as many generated data sets, to show
memory growing with the models in use.
Goal: a daemon with 1,000 endpoints starts (serves) in under a second.

Prints one table and writes bench/results/endpoints-<date>[-quick].json.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from common import (TOKEN, Proc, check, end_workdir, free_port, start_job, wait_http, wait_job,
                    write_results)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent



def rss_kb(pid, field="VmRSS"):
    """Resident memory (or its peak, VmHWM) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


class Daemon:
    """relearnd on a data directory, on a free loopback port."""

    def __init__(self, relearnd, data, log, extra=()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.t0 = time.perf_counter()
        self.proc = Proc([relearnd, "--data-dir", str(data), "--listen",
                          f"127.0.0.1:{self.port}", "--threads", "2", "--quiet", *extra],
                         env={"RELEARN_ADMIN_TOKEN": TOKEN}, log=log, append=True)
        self.pid = self.proc.p.pid

    def stop(self):
        self.proc.stop()


def api_path(api_location):
    """The part of an ApiLocation after host:port (ports change across restarts)."""
    return "/workspaces/" + api_location.split("/workspaces/", 1)[1]


def execute(session, base, ep, body):
    return session.post(base + ep["path"] + "/execute?api-version=2.0", data=body,
                        headers={"Authorization": "Bearer " + ep["key"],
                                 "Content-Type": "application/json"}, timeout=60)


def restart(relearnd, data, endpoints, body, log):
    """One restart of relearnd on data: the timings and resident memory."""
    d = Daemon(relearnd, data, log, ("--model-idle-seconds", "2"))
    try:
        s = requests.Session()
        deadline = d.t0 + 60
        while True:
            try:
                if s.get(d.base + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if d.proc.p.poll() is not None:
                raise RuntimeError(f"relearnd exited with {d.proc.p.returncode}; see {log}")
            if time.perf_counter() > deadline:
                raise RuntimeError("relearnd did not answer /health in 60 s")
            time.sleep(0.002)
        t_serve = time.perf_counter() - d.t0
        rss_start = rss_kb(d.pid)
        r = execute(s, d.base, endpoints[-1], body)
        t_first = time.perf_counter() - d.t0
        check(r, "the last endpoint's first request")
        t = time.perf_counter()
        failed = 0
        # Last to first: the endpoints with distinct models (the first ones)
        # are scored last, well within the idle timeout of the RSS reading.
        for ep in reversed(endpoints):
            failed += execute(s, d.base, ep, body).status_code != 200
        score_all_s = time.perf_counter() - t
        rss_scored = rss_kb(d.pid)
        time.sleep(5)
        rss_idle = rss_kb(d.pid)
        return {"serve_s": t_serve, "first_answer_s": t_first, "rss_start_kb": rss_start,
                "rss_scored_kb": rss_scored, "rss_idle_kb": rss_idle,
                "rss_peak_kb": rss_kb(d.pid, "VmHWM"),
                "score_all_s": score_all_s, "score_all_failed": failed}
    finally:
        d.stop()


def measure(relearnd, data, endpoints, body, runs, log, label):
    rs = [restart(relearnd, data, endpoints, body, log) for _ in range(runs)]
    m = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
    m["endpoints"] = len(endpoints)
    m["runs"] = rs
    print(f"  {label:34s} serve {m['serve_s'] * 1000:7.1f} ms  first answer "
          f"{m['first_answer_s'] * 1000:7.1f} ms  RSS start/scored/idle "
          f"{m['rss_start_kb'] / 1024:6.1f} / {m['rss_scored_kb'] / 1024:6.1f} / "
          f"{m['rss_idle_kb'] / 1024:6.1f} MiB  ({m['score_all_failed']:.0f} failed)", flush=True)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--endpoints", type=int, default=1000, help="added endpoints")
    ap.add_argument("--models", type=int, default=50, help="endpoints given distinct models")
    ap.add_argument("--runs", type=int, default=3, help="restarts measured (median kept)")
    ap.add_argument("--rows", type=int, default=5000, help="training rows")
    ap.add_argument("--retrain-rows", type=int, default=2000,
                    help="rows of each retraining data set (the distinct models)")
    ap.add_argument("--learner", default="two-class-boosted-decision-tree")
    ap.add_argument("--quick", action="store_true", help="100 endpoints, 10 models, 1 run")
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    args = ap.parse_args()
    if args.quick:
        args.endpoints, args.models, args.runs = 100, 10, 1
    if args.endpoints < 2 or args.runs < 1 or not 0 < args.models <= args.endpoints:
        ap.error("need --endpoints >= 2, --runs >= 1 and 0 < --models <= --endpoints")
    build = (ROOT / args.build).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="relearn-bench-endpoints-"))
    # Copies: others may rebuild the tree while this runs.
    relearn, relearnd = str(tmp / "relearn"), str(tmp / "relearnd")
    shutil.copy2(build / "relearn", relearn)
    shutil.copy2(build / "relearnd", relearnd)
    log = tmp / "relearnd.log"
    data, data1 = tmp / "data", tmp / "data-1"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    results = {"config": {k: v for k, v in vars(args).items() if k != "out"}}
    d = None
    try:
        csv_path = tmp / "census.csv"
        subprocess.run([relearn, "generate", "census", "--rows", str(args.rows), "--seed", "1",
                        "--out", str(csv_path)], check=True)
        with open(csv_path) as f:
            header = f.readline().strip().split(",")[:-1]
            row = f.readline().strip().split(",")[:-1]
        body = json.dumps({"Inputs": {"input1": {"ColumnNames": header, "Values": [row]}},
                           "GlobalParameters": {}}).encode()

        # One service, one added endpoint; the copy is the 1-endpoint baseline.
        d = Daemon(relearnd, data, log)
        wait_http(d.base + "/health")
        with open(csv_path, "rb") as f:
            check(requests.put(d.base + "/storage/data/census.csv", data=f, headers=auth),
                  "upload")
        pub = check(requests.post(d.base + "/workspaces/default/webservices", headers=auth,
                                  json={"Name": "census",
                                        "TrainingData": {"RelativeLocation": "data/census.csv"},
                                        "Label": "income", "Learner": args.learner}),
                    "publish").json()
        pred = pub["PredictiveService"]
        resource = pred["Resources"][0]["Name"]
        eps_url = f"/workspaces/default/webservices/{pred['Id']}/endpoints"
        names = [f"ep-{i:04d}" for i in range(args.endpoints)]
        s = requests.Session()
        endpoints = []

        def put(name):
            e = check(s.put(d.base + eps_url + "/" + name, headers=auth, json={}),
                      f"PUT endpoint {name}").json()
            endpoints.append({"name": name, "path": api_path(e["ApiLocation"]),
                              "key": e["PrimaryKey"]})

        put(names[0])
        d.stop()
        shutil.copytree(data, data1)

        # The other endpoints, through the API.
        d = Daemon(relearnd, data, log)
        wait_http(d.base + "/health")
        times = []
        t = time.perf_counter()
        for name in names[1:]:
            t1 = time.perf_counter()
            put(name)
            times.append(time.perf_counter() - t1)
        create_s = time.perf_counter() - t
        times.sort()
        results["create"] = {"endpoints": len(times), "seconds": create_s,
                             "per_s": len(times) / create_s,
                             "median_ms": statistics.median(times) * 1000,
                             "p99_ms": times[int(0.99 * (len(times) - 1))] * 1000}
        print(f"created {len(times)} endpoints through the API in {create_s:.2f} s "
              f"({len(times) / create_s:.0f}/s, median {results['create']['median_ms']:.1f} ms)",
              flush=True)
        d.stop()
        d = None

        print(f"restarts (--model-idle-seconds 2), median of {args.runs}:", flush=True)
        results["one_endpoint"] = measure(relearnd, data1, endpoints[:1], body, args.runs, log,
                                          "1 endpoint, 1 model")
        results["many_endpoints"] = measure(relearnd, data, endpoints, body, args.runs, log,
                                            f"{args.endpoints} endpoints, 1 model")

        # Distinct models on --models endpoints: retrained by batch jobs of
        # the training service on as many data sets (copies of one file
        # would not do: Update Resource binds an endpoint to a copy named by
        # the model's checksum, so identical bytes share one loaded model).
        d = Daemon(relearnd, data, log, ("--workers", "2"))
        wait_http(d.base + "/health")
        train = pub["TrainingService"]
        tpath, tkey = api_path(train["ApiLocation"]), train["PrimaryKey"]
        t = time.perf_counter()
        jobs = []
        for i in range(args.models):
            part = tmp / f"retrain-{i:03d}.csv"
            subprocess.run([relearn, "generate", "census", "--rows", str(args.retrain_rows),
                            "--seed", str(100 + i), "--out", str(part)], check=True)
            with open(part, "rb") as f:
                check(s.put(f"{d.base}/storage/data/retrain-{i:03d}.csv", data=f,
                            headers=auth), "upload")
            jobs.append(start_job(d.base + tpath, tkey, {
                "Inputs": {"input1": {"RelativeLocation": f"data/retrain-{i:03d}.csv"}},
                "Outputs": {"output1": {"RelativeLocation": f"retrain/model-{i:03d}.ilearner"}},
                "GlobalParameters": {}}, s))
        for job in jobs:
            wait_job(d.base + tpath, tkey, job, s)
        retrain_s = time.perf_counter() - t
        rss_before = rss_kb(d.pid)
        t = time.perf_counter()
        for i in range(args.models):
            check(s.patch(d.base + eps_url + "/" + names[i], headers=auth, json={
                "Resources": [{"Name": resource, "Location": {
                    "RelativeLocation": f"retrain/model-{i:03d}.ilearner"}}]}),
                f"PATCH {names[i]}")
        patch_s = time.perf_counter() - t
        rss_patched = rss_kb(d.pid)
        d.stop()
        d = None
        results["patch"] = {"models": args.models, "retrain_s": retrain_s, "patch_s": patch_s,
                            "rss_before_kb": rss_before, "rss_after_kb": rss_patched}
        print(f"retrained {args.models} models ({args.retrain_rows} rows each) in "
              f"{retrain_s:.1f} s, PATCHed them onto {args.models} endpoints in {patch_s:.2f} s; "
              f"RSS {rss_before / 1024:.1f} -> {rss_patched / 1024:.1f} MiB", flush=True)
        results["many_models"] = measure(relearnd, data, endpoints, body, args.runs, log,
                                         f"{args.endpoints} endpoints, {args.models + 1} models")
    finally:
        if d:
            d.stop()

    one, many, mm = results["one_endpoint"], results["many_endpoints"], results["many_models"]
    n, k = args.endpoints, args.models
    print()
    print(f"{'':44s} {'1 endpoint':>12s} {f'{n} endpoints':>15s} {f'{n} ep, {k + 1} models':>19s}")

    def row(label, key, scale, fmt):
        print(f"{label:44s} {format(one[key] * scale, fmt):>12s} "
              f"{format(many[key] * scale, fmt):>15s} {format(mm[key] * scale, fmt):>19s}")

    row("restart: process start -> /health 200, ms", "serve_s", 1000, ".1f")
    row("restart: -> last endpoint answered, ms", "first_answer_s", 1000, ".1f")
    row("RSS after start, MiB", "rss_start_kb", 1 / 1024, ".1f")
    row("RSS after scoring every endpoint once, MiB", "rss_scored_kb", 1 / 1024, ".1f")
    row("RSS after idle unload (5 s), MiB", "rss_idle_kb", 1 / 1024, ".1f")
    row("peak RSS (VmHWM), MiB", "rss_peak_kb", 1 / 1024, ".1f")
    row("scoring every endpoint once, s", "score_all_s", 1, ".2f")
    row("failed requests", "score_all_failed", 1, ".0f")
    c = results["create"]
    per_ep = (many["rss_scored_kb"] - one["rss_scored_kb"]) / (n - 1)
    per_model = (mm["rss_scored_kb"] - many["rss_scored_kb"]) / k
    print(f"\nendpoint creation through the API: {c['endpoints']} PUTs, {c['per_s']:.0f}/s "
          f"(median {c['median_ms']:.1f} ms, p99 {c['p99_ms']:.1f} ms)")
    print(f"resident memory per added endpoint: {per_ep:.1f} KiB; per distinct model in use: "
          f"{per_model:.0f} KiB")
    goal = many["first_answer_s"] < 1.0
    print(f"\ngoal: {n} endpoints started (serving, the last endpoint answered) in under "
          f"1 s: {'met' if goal else 'NOT met'} ({many['first_answer_s'] * 1000:.0f} ms)")
    results["rss_per_endpoint_kb"], results["rss_per_model_kb"] = per_ep, per_model
    results["goal_met"] = goal
    write_results(results, "endpoints", args.out, "quick" if args.quick else "")
    end_workdir(tmp, args.keep, "data directories")
    return 1 if any(m["score_all_failed"] for m in (one, many, mm)) else 0


if __name__ == "__main__":
    sys.exit(main())
