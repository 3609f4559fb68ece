#!/usr/bin/python3
"""update.py - swapping an endpoint's model under load (`make bench-update`).

  /usr/bin/python3 bench/update.py --build build/release [--patches 100] [--threads 8]
                                    [--interval 0.2] [--client c|python] [--quick]

Publishes census-like data (5,000 rows) as a predictive web service (model A),
retrains it through a batch job of its training service on shifted data
(`relearn generate census --shift 1 --seed 9`: model B), adds an endpoint
`live` and two reference endpoints bound to A and to B. The exact answer of
each model to a fixed set of requests is taken from the reference endpoints
(and checked against `relearn score` on the downloaded model files). Then
--threads client threads (keep-alive connections to 127.0.0.1) score `live`
continuously while the main thread PATCHes it (Update Resource) --patches
times, alternating B and A, --interval seconds apart.

Each response is recorded with its send and completion times and the model
that produced it (its whole answer equal to A's or B's expected answer).
Reports requests served, failed requests, answers produced by neither model,
violations (the first request sent after a PATCH's response arrived answered
by the old model; and any request sent after it and completed before the next
PATCH began answered by the old model), the delay from each PATCH's response
to the completion of the first request answered by the new model, and the
PATCH latency. The load comes from bench/swapload.c (libcurl, keep-alive,
answers compared byte for byte with each model's; compiled against the build's
library at start), or with --client python from Python threads with
requests.Session (answers' values compared; far fewer requests/s).
Studio (classic)'s figure is the documented one (not measured):
its retraining guide says the endpoint starts using the new model within
about 30 seconds of the Update Resource call.

Prints one table and writes bench/results/update-<date>[-quick].json.
"""
import argparse
import bisect
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from common import TOKEN, Proc, check, end_workdir, free_port, run_job, wait_http, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STUDIO_DOC = ("about 30 s (documented: Studio (classic) 'Retrain and deploy a classic web "
              "service' says the endpoint starts using the retrained model in approximately "
              "30 seconds; not measured)")



def pct(values, q):
    """The q-th percentile (nearest rank) of values."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(q / 100 * len(v) + 0.5)) - 1))
    return v[k]


def values_of(resp_json):
    return resp_json["Results"]["output1"]["value"]["Values"]


def now():
    """CLOCK_MONOTONIC in seconds: the clock swapload.c records."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) / 1e9


def client(url, key, bodies, expect_a, expect_b, offset, stop, out):
    """Scores url in a loop until stop is set; appends (sent, done, model) to out:
    model is 'A', 'B', 'X' (an answer of neither) or 'E' (failed)."""
    s = requests.Session()
    hdr = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    i = offset
    clock = now
    while not stop.is_set():
        k = i % len(bodies)
        i += 1
        sent = clock()
        try:
            r = s.post(url, data=bodies[k], headers=hdr, timeout=30)
            done = clock()
            if r.status_code != 200:
                out.append((sent, done, "E"))
                continue
            v = values_of(r.json())
            out.append((sent, done, "A" if v == expect_a[k] else "B" if v == expect_b[k] else "X"))
        except (requests.RequestException, ValueError, KeyError, TypeError):
            out.append((sent, clock(), "E"))


def analyse(records, patches, end):
    """Per PATCH: whether the first request sent after its response was answered
    by the new model, stale answers, and the delay to the new model."""
    records.sort()
    sends = [r[0] for r in records]
    first_violations, stale, delays, seen_any = 0, 0, [], []
    for k, (t0, t1, target) in enumerate(patches):
        nxt = patches[k + 1][0] if k + 1 < len(patches) else end
        j = bisect.bisect_left(sends, t1)
        after = [r for r in records[j:] if r[2] in "AB"]
        if after and after[0][2] != target:
            first_violations += 1
        stale += sum(1 for r in after if r[1] <= nxt and r[2] != target)
        # Completion of the first request sent after the response and answered
        # by the new model.
        firsts = [r[1] for r in after if r[2] == target and r[0] < nxt]
        if firsts:
            delays.append((min(firsts) - t1) * 1000)
        # The first answer by the new model at all (sent before the response
        # too): negative when it came before the PATCH response did.
        j0 = bisect.bisect_left(sends, t0 - 30)
        anyf = [r[1] for r in records[j0:] if r[2] == target and r[1] >= t0 and r[0] < nxt]
        if anyf:
            seen_any.append((min(anyf) - t1) * 1000)
    return first_violations, stale, delays, seen_any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--patches", type=int, default=100)
    ap.add_argument("--threads", type=int, default=8, help="client threads")
    ap.add_argument("--client", choices=("c", "python"), default="c",
                    help="load generator: bench/swapload.c (libcurl) or Python threads with "
                    "requests (default %(default)s)")
    ap.add_argument("--server-threads", type=int, default=2, help="relearnd --threads")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between PATCHes")
    ap.add_argument("--rows", type=int, default=5000, help="training rows")
    ap.add_argument("--request-rows", type=int, default=4, help="rows per scoring request")
    ap.add_argument("--bodies", type=int, default=16, help="distinct scoring requests")
    ap.add_argument("--learner", default="two-class-boosted-decision-tree")
    ap.add_argument("--quick", action="store_true", help="10 PATCHes, 4 client threads")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.quick:
        args.patches, args.threads = 10, 4
    if args.patches < 1 or args.threads < 1:
        ap.error("--patches and --threads must be at least 1")
    build = (ROOT / args.build).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="relearn-bench-update-"))
    # Copies: others may rebuild the tree while this runs.
    relearn, relearnd = str(tmp / "relearn"), str(tmp / "relearnd")
    shutil.copy2(build / "relearn", relearn)
    shutil.copy2(build / "relearnd", relearnd)
    swapload = str(tmp / "swapload")
    if args.client == "c":
        subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-D_GNU_SOURCE", "-O2",
                        "-pthread", "-I" + str(ROOT / "src"), str(HERE / "swapload.c"),
                        str(build / "librelearn.a"), "-lcurl", "-lm", "-o", swapload],
                       check=True)
    procs = []
    results = {"config": {k: v for k, v in vars(args).items() if k != "out"}}
    try:
        for name, extra in (("a.csv", ["--seed", "1"]), ("b.csv", ["--seed", "9", "--shift", "1"])):
            subprocess.run([relearn, "generate", "census", "--rows", str(args.rows), "--out",
                            str(tmp / name)] + extra, check=True)
        port = free_port()
        d = Proc([relearnd, "--data-dir", str(tmp / "data"), "--listen", f"127.0.0.1:{port}",
                  "--threads", str(args.server_threads), "--quiet"],
                 env={"RELEARN_ADMIN_TOKEN": TOKEN}, log=tmp / "relearnd.log")
        procs.append(d)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for name in ("a.csv", "b.csv"):
            with open(tmp / name, "rb") as f:
                check(requests.put(f"{base}/storage/data/{name}", data=f, headers=auth), "upload")
        pub = check(requests.post(base + "/workspaces/default/webservices", headers=auth, json={
            "Name": "census", "TrainingData": {"RelativeLocation": "data/a.csv"},
            "Label": "income", "Learner": args.learner}), "publish").json()
        pred, train = pub["PredictiveService"], pub["TrainingService"]
        resource = pred["Resources"][0]["Name"]
        loc_a = pred["Resources"][0]["Location"]
        st = run_job(train["ApiLocation"], train["PrimaryKey"], {
            "Inputs": {"input1": {"RelativeLocation": "data/b.csv"}},
            "Outputs": {"output1": {"RelativeLocation": "retrain/model-b.ilearner"}},
            "GlobalParameters": {}})
        loc_b = st["Results"]["output1"]
        locs = {m: {k: loc[k] for k in ("BaseLocation", "RelativeLocation", "SasBlobToken")}
                for m, loc in (("A", loc_a), ("B", loc_b))}
        eps = f"{base}/workspaces/default/webservices/{pred['Id']}/endpoints"

        def patch_body(m):
            return {"Resources": [{"Name": resource, "Location": locs[m]}]}

        ep = {}
        for name in ("live", "ref-a", "ref-b"):
            ep[name] = check(requests.put(f"{eps}/{name}", headers=auth, json={}),
                             f"PUT endpoint {name}").json()
        check(requests.patch(f"{eps}/ref-b", headers=auth, json=patch_body("B")), "PATCH ref-b")

        # The fixed requests: rows whose scores differ between A and B.
        with open(tmp / "a.csv", newline="") as f:
            rows = list(csv.reader(f))
        header, rows = rows[0][:-1], [r[:-1] for r in rows[1:]]  # drop the label

        def score(name, values):
            e = ep[name]
            r = check(requests.post(e["ApiLocation"] + "/execute?api-version=2.0",
                                    headers={"Authorization": "Bearer " + e["PrimaryKey"]},
                                    json={"Inputs": {"input1": {"ColumnNames": header,
                                                                "Values": values}},
                                          "GlobalParameters": {}}), f"scoring on {name}")
            return r.json()

        cand = rows[:400]
        va, vb = values_of(score("ref-a", cand)), values_of(score("ref-b", cand))
        picked = [i for i in range(len(cand)) if va[i][-1] != vb[i][-1]]
        need = args.bodies * args.request_rows
        if len(picked) < need:
            raise RuntimeError(f"only {len(picked)} of 400 rows score differently under A and B")
        picked = picked[:need]
        # relearn score on the downloaded model files must agree with the
        # reference endpoints (the scored columns).
        with open(tmp / "rows.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows[i] for i in picked)
        for m, v in (("A", va), ("B", vb)):
            blob = check(requests.get(locs[m]["BaseLocation"] + locs[m]["RelativeLocation"] +
                                      locs[m]["SasBlobToken"]), f"download model {m}").content
            (tmp / f"{m}.ilearner").write_bytes(blob)
            out = subprocess.run([relearn, "score", str(tmp / f"{m}.ilearner"),
                                  str(tmp / "rows.csv")], capture_output=True, text=True,
                                 check=True).stdout
            scored = [r[-2:] for r in list(csv.reader(io.StringIO(out)))[1:]]
            if scored != [v[i][-2:] for i in picked]:
                raise RuntimeError(f"relearn score with model {m} disagrees with the endpoint")
        bodies, expect_a, expect_b = [], [], []
        for b in range(args.bodies):
            idx = picked[b * args.request_rows:(b + 1) * args.request_rows]
            bodies.append(json.dumps({"Inputs": {"input1": {
                "ColumnNames": header, "Values": [rows[i] for i in idx]}},
                "GlobalParameters": {}}).encode())
            expect_a.append([va[i] for i in idx])
            expect_b.append([vb[i] for i in idx])

        # Load, and the PATCHes.
        live = ep["live"]
        url = live["ApiLocation"] + "/execute?api-version=2.0"
        gen_name = "bench/swapload.c" if args.client == "c" else "Python requests"
        print(f"swap under load: {args.threads} client threads ({gen_name}) scoring 'live' "
              f"({args.request_rows} rows a request), {args.patches} PATCHes "
              f"{args.interval} s apart, relearnd --threads {args.server_threads}", flush=True)
        if args.client == "c":
            # Exact answers, byte for byte: 'live' (on A now) must answer
            # what 'ref-a' does, and twice the same.
            hdr = {"Authorization": "Bearer " + live["PrimaryKey"],
                   "Content-Type": "application/json"}
            for k, body in enumerate(bodies):
                (tmp / f"load/body-{k}.json").parent.mkdir(exist_ok=True)
                (tmp / f"load/body-{k}.json").write_bytes(body)
                for m, name in (("a", "ref-a"), ("b", "ref-b")):
                    e = ep[name]
                    got = [check(requests.post(e["ApiLocation"] + "/execute?api-version=2.0",
                                               data=body, headers=dict(
                                                   hdr, Authorization="Bearer " +
                                                   e["PrimaryKey"])), name).content
                           for _ in range(2)]
                    if got[0] != got[1]:
                        raise RuntimeError(f"{name} answers the same request differently")
                    if values_of(json.loads(got[0])) != (expect_a if m == "a" else expect_b)[k]:
                        raise RuntimeError(f"{name} changed its answer")
                    (tmp / f"load/{m}-{k}.json").write_bytes(got[0])
                if check(requests.post(url, data=body, headers=hdr), "live").content != \
                        (tmp / f"load/a-{k}.json").read_bytes():
                    raise RuntimeError("'live' and 'ref-a' answer the same request differently")
            gen = subprocess.Popen([swapload, url, live["PrimaryKey"], str(tmp / "load"),
                                    str(len(bodies)), str(args.threads),
                                    str(int(args.patches * (args.interval + 2)) + 60),
                                    str(tmp / "load/records.txt")],
                                   stdin=subprocess.PIPE)
        else:
            stop = threading.Event()
            outs = [[] for _ in range(args.threads)]
            threads = [threading.Thread(target=client, args=(url, live["PrimaryKey"], bodies,
                                                             expect_a, expect_b, t * 5, stop,
                                                             outs[t]))
                       for t in range(args.threads)]
            for t in threads:
                t.start()
        t_start = now()
        time.sleep(1.0)
        ps = requests.Session()
        patches, patch_ms, patch_fail, bound = [], [], 0, {"A": set(), "B": set()}
        for k in range(args.patches):
            target = "B" if k % 2 == 0 else "A"
            t0 = now()
            r = ps.patch(f"{eps}/live", headers=auth, json=patch_body(target), timeout=60)
            t1 = now()
            if r.status_code != 200:
                patch_fail += 1
                print(f"  PATCH {k} failed: {r.status_code} {r.text[:300]}", flush=True)
                break  # the analysis needs each PATCH to have happened
            # Update Resource binds the endpoint to its own copy of the model
            # (named by checksum): each model's copy must be one location.
            bound[target].add(r.json()["Resources"][0]["Location"]["RelativeLocation"])
            patches.append((t0, t1, target))
            patch_ms.append((t1 - t0) * 1000)
            time.sleep(args.interval)
        t_end = now()
        time.sleep(0.5)
        if args.client == "c":
            gen.stdin.close()
            if gen.wait(60) != 0:
                raise RuntimeError(f"swapload exited with {gen.returncode}")
            records = []
            with open(tmp / "load/records.txt") as f:
                for line in f:
                    sent, done, kind = line.split()
                    records.append((int(sent) / 1e9, int(done) / 1e9, kind))
            wall = max(r[1] for r in records) - t_start
        else:
            stop.set()
            for t in threads:
                t.join()
            records = [r for o in outs for r in o]
            wall = now() - t_start
    finally:
        for p in procs:
            p.stop()

    if not patches:
        print(f"no PATCH succeeded; relearnd's log and data kept in {tmp}")
        return 1
    if len(bound["A"]) > 1 or len(bound["B"]) > 1 or bound["A"] & bound["B"]:
        patch_fail += 1
        print(f"  PATCHes bound inconsistent locations: {bound}")
    served = sum(1 for r in records if r[2] in "ABX")
    failed = sum(1 for r in records if r[2] == "E")
    neither = sum(1 for r in records if r[2] == "X")
    first_viol, stale, delays, seen_any = analyse(records, patches, t_end)
    lat = [(r[1] - r[0]) * 1000 for r in records if r[2] != "E"]
    res = {
        "requests_served": served, "requests_per_s": served / wall, "failed_requests": failed,
        "answers_from_neither_model": neither,
        "answered_by_a": sum(1 for r in records if r[2] == "A"),
        "answered_by_b": sum(1 for r in records if r[2] == "B"),
        "patches": len(patches), "patches_failed": patch_fail,
        "bound_locations": {m: sorted(v) for m, v in bound.items()},
        "first_request_after_patch_on_old_model": first_viol,
        "stale_answers_after_patch": stale,
        "new_model_delay_ms": {"median": statistics.median(delays) if delays else None,
                               "max": max(delays) if delays else None,
                               "patches_measured": len(delays)},
        "new_model_first_seen_ms": {"median": statistics.median(seen_any) if seen_any else None,
                                    "min": min(seen_any) if seen_any else None,
                                    "max": max(seen_any) if seen_any else None},
        "patch_latency_ms": {"median": statistics.median(patch_ms), "p99": pct(patch_ms, 99),
                             "max": max(patch_ms)},
        "request_latency_ms": {"median": statistics.median(lat) if lat else None,
                               "p99": pct(lat, 99)},
        "studio_documented": STUDIO_DOC,
    }
    results["update"] = res

    def f(x, spec=".1f"):
        return "-" if x is None else format(x, spec)

    print()
    print(f"{'swap under load':58s} {'relearnd':>14s}  Studio (classic)")
    print(f"{'requests served (' + f(res['requests_per_s'], '.0f') + ' req/s)':58s} "
          f"{served:14d}")
    print(f"{'failed requests (goal 0)':58s} {failed:14d}")
    print(f"{'answers not entirely from model A or B (goal 0)':58s} {neither:14d}")
    print(f"{'PATCHes done / failed':58s} {len(patches):>9d} / {patch_fail:<2d}")
    print(f"{'first request sent after PATCH answered by old (goal 0)':58s} {first_viol:14d}")
    print(f"{'later requests answered by old model (goal 0)':58s} {stale:14d}")
    print(f"{'PATCH response -> new model answers, median ms':58s} "
          f"{f(res['new_model_delay_ms']['median'], '.2f'):>14s}  about 30 s (documented)")
    print(f"{'PATCH response -> new model answers, max ms':58s} "
          f"{f(res['new_model_delay_ms']['max'], '.2f'):>14s}")
    print(f"{'new model first answer vs PATCH response, median ms':58s} "
          f"{f(res['new_model_first_seen_ms']['median'], '.2f'):>14s}")
    print(f"{'PATCH latency median / p99 ms':58s} "
          f"{f(res['patch_latency_ms']['median'], '.1f'):>6s} / {f(res['patch_latency_ms']['p99'], '.1f'):<6s}")
    print(f"{'scoring request latency median / p99 ms':58s} "
          f"{f(res['request_latency_ms']['median'], '.2f'):>6s} / {f(res['request_latency_ms']['p99'], '.2f'):<6s}")
    print(f"\nStudio (classic): {STUDIO_DOC}.")
    write_results(results, "update", args.out, "quick" if args.quick else "")
    bad = failed or neither or first_viol or stale or patch_fail
    end_workdir(tmp, bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
