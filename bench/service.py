#!/usr/bin/python3
"""service.py - relearnd's request-response and batch benchmarks beside
Python peers, all in one run (`make bench-service`).

  /usr/bin/python3 bench/service.py --build build/release [--runs 3] [--duration 10]
                                     [--connections 16] [--bes-rows 1000000] [--quick]
                                     [--no-pin]

RRS: one-row requests in Studio's classic shape, from wrk on loopback, to
relearnd and to two peers serving the same model with the same preprocessing
(bench/peers): Flask under gunicorn (2 workers) and FastAPI under uvicorn (2
workers). By default (--pin, on 2 or more cores) each server runs on one
core (relearnd with one HTTP thread, each peer with its two workers) and wrk
(one thread) on another; --no-pin leaves all unpinned, relearnd with 2 HTTP
threads and wrk with 2. For two-class logistic regression
(scikit-learn's liblinear) and two-class boosted trees (xgboost). Reports
requests/s and p50/p99 latency (median of --runs runs) and the ratios: requests/s
to the faster peer's, p99 to the lower of the two peers' p99.

BES: scoring --bes-rows census-like rows end to end (read CSV, score, write
CSV) through a relearnd batch job (create, start, poll until Finished),
beside pandas.read_csv + the peer pipeline + DataFrame.to_csv, --runs times
each, alternating (median).

Prints one table and writes bench/results/service-<date>.json.
"""
import argparse
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import requests

from common import TOKEN, Proc, free_port, run_job, wait_http, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peers"))
from model import Pipeline  # noqa: E402

# With --pin (the default on 2 or more cores) the server under test, relearnd
# or a peer, runs on SERVER_CPU alone and wrk on LOAD_CPU: neither steals the
# other's core, so latency measures the server, not the scheduler's time
# slices between it and the load generator.
SERVER_CPU, LOAD_CPU = "1", "0"

LEARNERS = {"logistic": "two-class-logistic-regression",
            "boosted": "two-class-boosted-decision-tree"}



def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise RuntimeError(f"cannot read wrk's latency '{text}'")
    v = float(m.group(1))
    if m.group(2) == "m":
        return v * 60000
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v


def wrk(url, body, headers, duration, connections, tmp, pin):
    lua = Path(tmp) / "post.lua"
    hdr = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    lua.write_text('wrk.method = "POST"\nwrk.body = ' + json.dumps(json.dumps(body)) + "\n" + hdr +
                   'wrk.headers["Content-Type"] = "application/json"\n')
    gen = ["taskset", "-c", LOAD_CPU, "wrk", "-t1"] if pin else ["wrk", "-t2"]
    out = subprocess.run(gen + [f"-c{connections}", f"-d{duration}s", "--latency",
                                "-s", str(lua), url], capture_output=True, text=True,
                         check=True).stdout
    if "Latency Distribution" not in out:
        raise RuntimeError(f"wrk printed no latencies:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = parse_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = parse_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if errors or socket_errors:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    return rps, p50, p99


def measure(name, url, body, headers, args, tmp):
    check = requests.post(url, json=body, headers=headers, timeout=30)
    if check.status_code != 200:
        raise RuntimeError(f"{name}: {check.status_code} {check.text[:500]}")
    runs = [wrk(url, body, headers, args.duration, args.connections, tmp, args.pin)
            for _ in range(args.runs)]
    rps = statistics.median(r[0] for r in runs)
    p50 = statistics.median(r[1] for r in runs)
    p99 = statistics.median(r[2] for r in runs)
    print(f"  {name:28s} {rps:10.0f} req/s  p50 {p50:8.3f} ms  p99 {p99:8.3f} ms", flush=True)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "runs": runs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rows", type=int, default=32561, help="training rows")
    ap.add_argument("--bes-rows", type=int, default=1000000)
    ap.add_argument("--quick", action="store_true", help="2 s runs, 1 run, 20,000 BES rows")
    ap.add_argument("--pin", action=argparse.BooleanOptionalAction,
                    default=(os.cpu_count() or 1) >= 2,
                    help=f"RRS: the server on CPU {SERVER_CPU} (relearnd with one HTTP thread), "
                         f"wrk -t1 on CPU {LOAD_CPU} (default with 2+ cores); --no-pin: "
                         "everything unpinned, relearnd with 2 HTTP threads, wrk -t2")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.duration, args.bes_rows = 1, 2, 20000
    build = (ROOT / args.build).resolve()
    relearn, relearnd = str(build / "relearn"), str(build / "relearnd")
    results = {"rrs": {}, "bes": {}, "pinned": args.pin, "connections": args.connections,
               "duration_s": args.duration, "runs": args.runs}
    tmp = tempfile.mkdtemp(prefix="relearn-bench-")
    procs = []
    try:
        data = Path(tmp) / "census.csv"
        subprocess.run([relearn, "generate", "census", "--rows", str(args.rows), "--seed", "1",
                        "--out", str(data)], check=True)
        df = pd.read_csv(data, keep_default_na=True)
        row = df.drop(columns=["income"]).dropna().iloc[0]
        body = {"Inputs": {"input1": {"ColumnNames": list(row.index),
                                      "Values": [[str(v) for v in row.to_list()]]}},
                "GlobalParameters": {}}

        port = free_port()
        d = Proc([relearnd, "--data-dir", str(Path(tmp) / "data"), "--listen",
                  f"127.0.0.1:{port}", "--threads", "1" if args.pin else "2", "--quiet"],
                 env={"RELEARN_ADMIN_TOKEN": TOKEN}, log=Path(tmp) / "relearnd.log")
        procs.append(d)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with open(data, "rb") as f:
            requests.put(base + "/storage/data/census.csv", data=f, headers=auth).raise_for_status()
        services = {}
        for short, learner in LEARNERS.items():
            r = requests.post(base + "/workspaces/default/webservices", headers=auth, json={
                "Name": f"census-{short}", "TrainingData": {"RelativeLocation": "data/census.csv"},
                "Label": "income", "Learner": learner})
            r.raise_for_status()
            services[short] = r.json()["PredictiveService"]

        if args.pin:  # every thread of relearnd, for the RRS runs
            subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CPU, str(d.p.pid)], check=True,
                           capture_output=True)
        how = (f"server on CPU {SERVER_CPU}, wrk -t1 on CPU {LOAD_CPU}" if args.pin
               else "unpinned, wrk -t2")
        print(f"RRS: one-row requests ({how}), -c{args.connections}, {args.duration} s x "
              f"{args.runs} runs (median)", flush=True)
        for short in LEARNERS:
            sv = services[short]
            res = {}
            res["relearnd"] = measure(f"relearnd {short}", sv["ApiLocation"] +
                                      "/execute?api-version=2.0", body,
                                      {"Authorization": "Bearer " + sv["PrimaryKey"]}, args, tmp)
            pipe = Pipeline(short).fit(df)
            pkl = Path(tmp) / f"{short}.pkl"
            pkl.write_bytes(pickle.dumps(pipe))
            env = {"PEER_MODEL": str(pkl), "PYTHONPATH": str(HERE / "peers"),
                   "OMP_NUM_THREADS": "1"}
            for kind in ("flask", "fastapi"):
                pport = free_port()
                pre = ["taskset", "-c", SERVER_CPU] if args.pin else []
                if kind == "flask":
                    cmd = pre + ["gunicorn", "-w", "2", "-b", f"127.0.0.1:{pport}", "app:flask_app"]
                else:
                    cmd = pre + ["uvicorn", "--workers", "2", "--port", str(pport), "--log-level",
                           "warning", "app:fastapi_app"]
                p = Proc(cmd, env=dict(env, PEER_KIND=kind), log=Path(tmp) / f"{kind}.log")
                procs.append(p)
                try:
                    wait_http(f"http://127.0.0.1:{pport}/")
                    res[kind] = measure(f"{kind} {short}", f"http://127.0.0.1:{pport}/execute",
                                        body, {}, args, tmp)
                finally:
                    p.stop()
            best = max((res[k] for k in ("flask", "fastapi")), key=lambda x: x["rps"])
            res["rps_ratio"] = res["relearnd"]["rps"] / best["rps"]
            # Latency against the peer with the lower p99 (not necessarily
            # the faster one): the stricter reading of "the better peer's".
            res["peer_p99_ms"] = min(res[k]["p99_ms"] for k in ("flask", "fastapi"))
            res["p99_ratio"] = res["peer_p99_ms"] / res["relearnd"]["p99_ms"]
            results["rrs"][short] = res

        # BES: the whole file through a batch job, beside pandas + the peer,
        # each free to use every core.
        if args.pin:
            subprocess.run(["taskset", "-a", "-p", "-c", f"0-{(os.cpu_count() or 1) - 1}",
                            str(d.p.pid)], check=True, capture_output=True)
        big = Path(tmp) / "bes.csv"
        subprocess.run([relearn, "generate", "census", "--rows", str(args.bes_rows), "--seed",
                        "2", "--out", str(big)], check=True)
        with open(big, "rb") as f:
            requests.put(base + "/storage/data/bes.csv", data=f, headers=auth).raise_for_status()
        sv = services["logistic"]
        pipe = pickle.loads((Path(tmp) / "logistic.pkl").read_bytes())

        def bes_job(i):
            t0 = time.monotonic()
            run_job(sv["ApiLocation"], sv["PrimaryKey"], {
                "Inputs": {"input1": {"RelativeLocation": "data/bes.csv"}},
                "Outputs": {"output1": {"RelativeLocation": f"results/bes-scored-{i}.csv"}},
                "GlobalParameters": {}}, poll=0.02)
            return time.monotonic() - t0

        def peer_job():
            t0 = time.monotonic()
            x = pd.read_csv(big)
            labels, probs = pipe.score(x.drop(columns=["income"]))
            x["Scored Labels"], x["Scored Probabilities"] = labels, probs
            x.to_csv(Path(tmp) / "peer-scored.csv", index=False)
            return time.monotonic() - t0

        # Alternating, so both see the same machine.
        bes_runs, peer_runs = [], []
        for i in range(args.runs):
            bes_runs.append(bes_job(i))
            peer_runs.append(peer_job())
        bes_s, peer_s = statistics.median(bes_runs), statistics.median(peer_runs)
        print(f"BES: {args.bes_rows:,} rows, {args.runs} runs (median): relearnd {bes_s:.3f} s, "
              f"peer {peer_s:.3f} s", flush=True)
        results["bes"] = {"rows": args.bes_rows, "relearnd_s": bes_s, "peer_s": peer_s,
                          "relearnd_rows_per_s": args.bes_rows / bes_s,
                          "peer_rows_per_s": args.bes_rows / peer_s,
                          "ratio": peer_s / bes_s, "relearnd_runs": bes_runs,
                          "peer_runs": peer_runs}
    finally:
        for p in procs:
            p.stop()

    print()
    print(f"{'benchmark':44s} {'relearnd':>14s} {'best peer':>14s} {'ratio':>8s}")
    for short, res in results["rrs"].items():
        best = max((res[k] for k in ("flask", "fastapi")), key=lambda x: x["rps"])
        print(f"{'RRS one-row req/s, ' + short:44s} {res['relearnd']['rps']:14.0f} "
              f"{best['rps']:14.0f} {res['rps_ratio']:7.1f}x")
        print(f"{'RRS p50 ms, ' + short:44s} {res['relearnd']['p50_ms']:14.3f} "
              f"{best['p50_ms']:14.3f}")
        print(f"{'RRS p99 ms (lower peer p99/relearnd), ' + short:44s} "
              f"{res['relearnd']['p99_ms']:14.3f} {res['peer_p99_ms']:14.3f} "
              f"{res['p99_ratio']:7.1f}x")
    if results["bes"]:
        b = results["bes"]
        print(f"{'BES rows/s end to end, ' + str(b['rows']) + ' rows':44s} "
              f"{b['relearnd_rows_per_s']:14.0f} {b['peer_rows_per_s']:14.0f} {b['ratio']:7.1f}x")
    print()
    write_results(results, "service", args.out, "quick" if args.quick else "")


if __name__ == "__main__":
    main()
