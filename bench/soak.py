#!/usr/bin/python3
"""soak.py - one relearnd under mixed load for minutes (`make soak`).

  /usr/bin/python3 bench/soak.py --build build/release [--minutes 10] [--endpoints 20]
                                  [--clients 6] [--warmup S] [--workdir DIR] [--out FILE]

Publishes census-like data (2,000 rows, boosted trees) as a predictive web
service (model A), retrains it once through a batch job on shifted data
(model B), adds --endpoints endpoints and a reference endpoint for each
model, then runs for --minutes, all at once, on 127.0.0.1:

  - RRS: --clients threads score random endpoints (1 to 4 rows a call, 16
    fixed bodies); every answer must be exactly model A's or model B's for
    that body (the reference endpoints' answers, taken before the load);
  - batch: one thread runs BES jobs back to back, alternating a retraining
    job of the training service (400 rows) and a scoring job of the
    predictive service (200 rows), each polled to its end: Finished;
  - PATCH: Update Resource of the added endpoints in turn, alternating
    models A and B (every 0.5 s);
  - definition updates: GET and PUT of the service's definition with a new
    description and maxConcurrentCalls, its trained model alternating between
    A and B, and a PUT of an added endpoint's MaxConcurrentCalls (every 2 s);
  - key regeneration: the primary key of a random added endpoint (every 3 s).
    Clients hold each endpoint's primary key as they last read it from the
    management API (GET .../endpoints/NAME); a 401 makes them read it again.
    A 401 is expected only when a regeneration of that endpoint was answered
    after the client read its key and had begun before the 401 arrived;
    every other 401, and any other failure, is unexpected.

Reports requests by kind (count, failures, p50 and p99 latency), errors
expected and unexpected (goal: 0 unexpected), p99 latency per 30 s window,
and resident memory (VmRSS from /proc/PID/status, sampled every 5 s) after
warm-up (--warmup, default 60 s, or a third of a shorter run) and at the end,
each the median of 30 s of samples, and its trend: goal, growth under 5%
after warm-up. relearnd is stopped with SIGTERM at the end and must
exit 0; with a sanitizer build its log must hold no sanitizer report.

Prints the tables and writes bench/results/soak-<date>[-short].json (runs
under 5 minutes are "short"; --out FILE elsewhere). Exits 1 on unexpected
errors, a bad exit or a sanitizer report, and, for runs of 5 minutes or
more, on memory growth over the goal.
"""
import argparse
import csv
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from common import TOKEN, Proc, check, end_workdir, free_port, wait_http, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WINDOW = 30.0
MEMORY_GOAL_PCT = 5.0
SANITIZER_MARKERS = ("runtime error", "AddressSanitizer", "LeakSanitizer", "ThreadSanitizer")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def pct(values, q):
    """The q-th percentile (nearest rank) of values, or None."""
    v = sorted(values)
    if not v:
        return None
    k = max(0, min(len(v) - 1, int(round(q / 100 * len(v) + 0.5)) - 1))
    return v[k]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def values_of(resp_json):
    return resp_json["Results"]["output1"]["value"]["Values"]


class Log:
    """Every request's (kind, start, seconds, ok, expected-failure, note); thread-safe."""

    def __init__(self, t0):
        self.t0 = t0
        self.rows = []
        self.lock = threading.Lock()
        self.unexpected = []  # the first notes, for the report

    def add(self, kind, start, secs, ok, expected=False, note=""):
        with self.lock:
            self.rows.append((kind, start - self.t0, secs, ok, expected))
            if not ok and not expected and len(self.unexpected) < 20:
                self.unexpected.append(f"{kind} at {start - self.t0:.1f} s: {note[:300]}")

    def call(self, kind, session, method, url, ok_status=(200,), **kw):
        """Sends one request and logs it; returns the response or None (failure)."""
        t = time.monotonic()
        try:
            r = session.request(method, url, timeout=120, **kw)
        except requests.RequestException as e:
            self.add(kind, t, time.monotonic() - t, False, note=f"{method} {url}: {e}")
            return None
        good = r.status_code in ok_status
        self.add(kind, t, time.monotonic() - t, good,
                 note="" if good else f"{method} {url}: {r.status_code} {r.text[:200]}")
        return r if good else None


class Keys:
    """Each endpoint's primary key as the clients last read it, and when each
    regeneration began and was answered."""

    def __init__(self):
        self.lock = threading.Lock()
        self.key = {}     # endpoint name -> (key, time read)
        self.regens = {}  # endpoint name -> [(began, answered)]

    def get(self, name):
        with self.lock:
            return self.key[name]

    def put(self, name, key, read_at):
        with self.lock:
            old = self.key.get(name)
            if old is None or old[1] < read_at:
                self.key[name] = (key, read_at)

    def regenerating(self, name, began):
        """Notes a regeneration about to be sent (the old key may fail from
        now on); regenerated() notes its answer. Returns its index."""
        with self.lock:
            self.regens.setdefault(name, []).append((began, float("inf")))
            return len(self.regens[name]) - 1

    def regenerated(self, name, i, answered):
        with self.lock:
            self.regens[name][i] = (self.regens[name][i][0], answered)

    def explains_401(self, name, key_read_at, failed_at):
        """Whether a regeneration of name answered after the key was read (or
        not answered yet) began before the 401 arrived."""
        with self.lock:
            return any(a >= key_read_at and b <= failed_at
                       for b, a in self.regens.get(name, ()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--endpoints", type=int, default=20, help="added endpoints")
    ap.add_argument("--clients", type=int, default=6, help="RRS client threads")
    ap.add_argument("--server-threads", type=int, default=2, help="relearnd --threads")
    ap.add_argument("--warmup", type=float, help="seconds before the first memory reading "
                    "(default 60, or a third of a shorter run)")
    ap.add_argument("--workdir", help="keep relearnd's data and log here (default: a "
                    "temporary directory, removed after a clean run)")
    ap.add_argument("--out", help="results JSON (default bench/results/soak-DATE[-short].json)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.minutes <= 0 or args.endpoints < 2 or args.clients < 1:
        ap.error("--minutes must be positive, --endpoints at least 2, --clients at least 1")
    duration = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, duration / 3)
    short = args.minutes < 5
    build = (ROOT / args.build).resolve()
    sanitized = any(m in build.name for m in ("asan", "tsan", "msan", "ubsan"))
    tmp = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="relearn-soak-"))
    tmp.mkdir(parents=True, exist_ok=True)
    # Copies: others may rebuild the tree while this runs.
    relearn, relearnd = str(tmp / "relearn"), str(tmp / "relearnd")
    shutil.copy2(build / "relearn", relearn)
    shutil.copy2(build / "relearnd", relearnd)
    rng = random.Random(args.seed)
    for name, extra in (("a.csv", ["--rows", "2000", "--seed", "1"]),
                        ("b.csv", ["--rows", "2000", "--seed", "9", "--shift", "1"]),
                        ("retrain.csv", ["--rows", "400", "--seed", "5", "--shift", "0.5"]),
                        ("score.csv", ["--rows", "200", "--seed", "6"])):
        subprocess.run([relearn, "generate", "census", "--out", str(tmp / name)] + extra,
                       check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp / "relearnd.log"
    d = Proc([relearnd, "--data-dir", str(tmp / "data"), "--listen", f"127.0.0.1:{port}",
              "--threads", str(args.server_threads), "--quiet"],
             env={"RELEARN_ADMIN_TOKEN": TOKEN}, log=log_path)
    pid = d.p.pid
    results = {"config": dict(vars(args), duration_s=duration, warmup_s=warmup,
                              build=str(build)),
               "log": str(log_path)}
    exit_code = None
    try:
        wait_http(base + "/health", timeout=120)
        setup = requests.Session()
        for name in ("a.csv", "b.csv", "retrain.csv", "score.csv"):
            with open(tmp / name, "rb") as f:
                check(setup.put(f"{base}/storage/data/{name}", data=f, headers=AUTH), "upload")
        pub = check(setup.post(base + "/workspaces/default/webservices", headers=AUTH, json={
            "Name": "census", "TrainingData": {"RelativeLocation": "data/a.csv"},
            "Label": "income", "Learner": "two-class-boosted-decision-tree",
            "Parameters": {"number-of-trees-constructed": 20}}, timeout=600), "publish").json()
        pred, train = pub["PredictiveService"], pub["TrainingService"]
        resource = pred["Resources"][0]["Name"]
        svc = f"{base}/workspaces/default/webservices/{pred['Id']}"
        eps = svc + "/endpoints"

        def run_job(session, log, api, key, body, kind):
            """Creates, starts and polls one job; True when it Finished."""
            hdr = {"Authorization": "Bearer " + key}
            t = time.monotonic()
            r = log.call(kind + " create", session, "POST", api + "/jobs?api-version=2.0",
                         headers=hdr, json=body)
            if r is None:
                return False
            job = r.json()
            if log.call(kind + " start", session, "POST",
                        f"{api}/jobs/{job}/start?api-version=2.0", ok_status=(204,),
                        headers=hdr) is None:
                return False
            while time.monotonic() - t < 600:
                r = log.call("bes status", session, "GET", f"{api}/jobs/{job}?api-version=2.0",
                             headers=hdr)
                if r is None:
                    return False
                st = r.json()
                if st["StatusCode"] in ("Finished", "Failed", "Cancelled"):
                    ok = st["StatusCode"] == "Finished"
                    log.add(kind + " job (whole)", t, time.monotonic() - t, ok,
                            note=f"job {job} ended {st['StatusCode']}: {st.get('Details')}")
                    return st if ok else False
                time.sleep(0.2)
            log.add(kind + " job (whole)", t, time.monotonic() - t, False,
                    note=f"job {job} did not end in 600 s")
            return False

        setup_log = Log(time.monotonic())
        st = run_job(setup, setup_log, train["ApiLocation"], train["PrimaryKey"], {
            "Inputs": {"input1": {"RelativeLocation": "data/b.csv"}},
            "Outputs": {"output1": {"RelativeLocation": "retrain/b.ilearner"}},
            "GlobalParameters": {}}, "retrain")
        if not st:
            raise RuntimeError(f"the retraining job for model B failed: {setup_log.unexpected}")
        loc_b = {k: st["Results"]["output1"][k]
                 for k in ("BaseLocation", "RelativeLocation", "SasBlobToken")}
        loc_a = {k: pred["Resources"][0]["Location"][k]
                 for k in ("BaseLocation", "RelativeLocation", "SasBlobToken")}

        def patch_body(loc):
            return {"Resources": [{"Name": resource, "Location": loc}]}

        names = [f"e{i:02d}" for i in range(1, args.endpoints + 1)]
        endpoint = {}
        for name in names + ["ref-a", "ref-b"]:
            endpoint[name] = check(setup.put(f"{eps}/{name}", headers=AUTH, json={}),
                                   f"PUT endpoint {name}").json()
        rb = check(setup.patch(f"{eps}/ref-b", headers=AUTH, json=patch_body(loc_b)),
                   "PATCH ref-b").json()
        # Update Resource binds relearnd's own copy: the definition names it.
        loc_b_copy = rb["Resources"][0]["Location"]
        uri = {"A": loc_a["BaseLocation"] + loc_a["RelativeLocation"],
               "B": loc_b_copy["BaseLocation"] + loc_b_copy["RelativeLocation"]}
        endpoint["default"] = check(setup.get(f"{eps}/default", headers=AUTH),
                                    "GET default").json()

        # Fixed bodies, 1 to 4 rows each, whose answers under A and B are known.
        with open(tmp / "a.csv", newline="") as f:
            rows = list(csv.reader(f))
        header, rows = rows[0][:-1], [r[:-1] for r in rows[1:]]  # without the label
        bodies, expect = [], []
        for b in range(16):
            picked = rng.sample(rows[:500], 1 + b % 4)
            body = json.dumps({"Inputs": {"input1": {"ColumnNames": header, "Values": picked}},
                               "GlobalParameters": {}}).encode()
            answers = []
            for ref in ("ref-a", "ref-b"):
                e = endpoint[ref]
                r = check(setup.post(e["ApiLocation"] + "/execute?api-version=2.0", data=body,
                                     headers={"Authorization": "Bearer " + e["PrimaryKey"],
                                              "Content-Type": "application/json"}), ref)
                answers.append(values_of(r.json()))
            bodies.append(body)
            expect.append(answers)
        if all(a == b for a, b in expect):
            raise RuntimeError("models A and B answer every body alike: nothing to tell apart")

        keys = Keys()
        t_read = time.monotonic()
        for name, e in endpoint.items():
            keys.put(name, e["PrimaryKey"], t_read)
        api_of = {name: e["ApiLocation"] for name, e in endpoint.items()}
        rrs_names = sorted(endpoint)
        stop = threading.Event()
        t0 = time.monotonic()
        log = Log(t0)
        counts = {"mixed_answers": 0, "expected_401": 0}
        clock_lock = threading.Lock()

        def rrs_client(seed):
            s, mgmt = requests.Session(), requests.Session()
            r_ = random.Random(seed)
            while not stop.is_set():
                name = r_.choice(rrs_names)
                k = r_.randrange(len(bodies))
                key, read_at = keys.get(name)
                t = time.monotonic()
                try:
                    r = s.post(api_of[name] + "/execute?api-version=2.0", data=bodies[k],
                               headers={"Authorization": "Bearer " + key,
                                        "Content-Type": "application/json"}, timeout=120)
                except requests.RequestException as e:
                    log.add("rrs", t, time.monotonic() - t, False, note=f"{name}: {e}")
                    continue
                done = time.monotonic()
                if r.status_code == 401:
                    expected = keys.explains_401(name, read_at, done)
                    log.add("rrs", t, done - t, False, expected=expected,
                            note=f"{name}: 401 with a key read {done - read_at:.2f} s before: "
                                 f"{r.text[:200]}")
                    if expected:
                        with clock_lock:
                            counts["expected_401"] += 1
                    # Pick up the new key from the management API.
                    t_k = time.monotonic()
                    g = log.call("read endpoint (key)", mgmt, "GET", f"{eps}/{name}",
                                 headers=AUTH)
                    if g is not None:
                        keys.put(name, g.json()["PrimaryKey"], t_k)
                    continue
                if r.status_code != 200:
                    log.add("rrs", t, done - t, False, note=f"{name}: {r.status_code} "
                                                            f"{r.text[:200]}")
                    continue
                try:
                    v = values_of(r.json())
                except (ValueError, KeyError, TypeError):
                    v = None
                if v not in expect[k]:
                    with clock_lock:
                        counts["mixed_answers"] += 1
                    log.add("rrs", t, done - t, False,
                            note=f"{name}: an answer from neither model A nor B: {r.text[:200]}")
                    continue
                log.add("rrs", t, done - t, True)

        def batch():
            s = requests.Session()
            n = 0
            while not stop.is_set():
                if n % 2 == 0:
                    run_job(s, log, train["ApiLocation"], train["PrimaryKey"], {
                        "Inputs": {"input1": {"RelativeLocation": "data/retrain.csv"}},
                        "Outputs": {"output1": {"RelativeLocation": "retrain/loop.ilearner"},
                                    "output2": {"RelativeLocation": "retrain/loop-eval.csv"}},
                        "GlobalParameters": {}}, "bes retrain")
                else:
                    run_job(s, log, pred["ApiLocation"], pred["PrimaryKey"], {
                        "Inputs": {"input1": {"RelativeLocation": "data/score.csv"}},
                        "Outputs": {"output1": {"RelativeLocation": "results/scored.csv"}},
                        "GlobalParameters": {}}, "bes score")
                n += 1

        def patcher():
            s = requests.Session()
            n = 0
            while not stop.wait(0.5):
                name = names[n % len(names)]
                loc = loc_b if (n // len(names)) % 2 == 0 else loc_a
                log.call("patch", s, "PATCH", f"{eps}/{name}", headers=AUTH,
                         json=patch_body(loc))
                n += 1

        def definitions():
            s = requests.Session()
            n = 0
            while not stop.wait(2.0):
                r = log.call("definition get", s, "GET", svc + "/definition", headers=AUTH)
                if r is None:
                    continue
                dfn = r.json()
                p = dfn["properties"]
                p["description"] = f"soak update {n}"
                p["realtimeConfiguration"]["maxConcurrentCalls"] = 20 + n % 5
                model_assets = [a for a in p["assets"].values() if a.get("type") == "Resource"]
                model_assets[0]["locationInfo"]["uri"] = uri["B" if n % 2 == 0 else "A"]
                log.call("definition put", s, "PUT", svc + "/definition", headers=AUTH,
                         json=dfn)
                # An added endpoint's settings too (its throttle applies to
                # the next call).
                log.call("endpoint settings put", s, "PUT", f"{eps}/{names[n % len(names)]}",
                         headers=AUTH, json={"MaxConcurrentCalls": 20 + n % 5})
                n += 1

        def regenerator():
            s = requests.Session()
            r_ = random.Random(args.seed + 1000)
            while not stop.wait(3.0):
                name = r_.choice(names)
                i = keys.regenerating(name, time.monotonic())
                log.call("regenerate key", s, "POST", f"{eps}/{name}/regeneratekeys",
                         headers=AUTH, json={"KeyName": "primary"})
                keys.regenerated(name, i, time.monotonic())

        rss = []  # (seconds since t0, KiB)

        def monitor():
            while True:
                try:
                    rss.append((time.monotonic() - t0, rss_kb(pid)))
                except (OSError, RuntimeError):
                    return
                if stop.wait(5.0):
                    return

        threads = [threading.Thread(target=rrs_client, args=(args.seed * 100 + i,))
                   for i in range(args.clients)]
        threads += [threading.Thread(target=f) for f in (batch, patcher, definitions,
                                                         regenerator, monitor)]
        print(f"soak: {args.minutes:g} min against relearnd (pid {pid}, {build.name}), "
              f"{len(rrs_names)} endpoints, {args.clients} RRS clients, batch jobs, PATCHes, "
              f"definition updates, key regenerations", flush=True)
        for t in threads:
            t.start()
        next_note = WINDOW
        while time.monotonic() - t0 < duration:
            time.sleep(1.0)
            el = time.monotonic() - t0
            if el >= next_note:
                with log.lock:
                    n, bad = len(log.rows), sum(1 for r in log.rows if not r[3] and not r[4])
                print(f"  {el:5.0f} s: {n} requests, {bad} unexpected failures, "
                      f"RSS {rss[-1][1] / 1024 if rss else 0:.1f} MiB", flush=True)
                next_note += WINDOW
        stop.set()
        for t in threads:
            t.join(180)
        elapsed = time.monotonic() - t0
        end_rss = rss_kb(pid)
        rss.append((elapsed, end_rss))
    finally:
        d.stop()
        exit_code = d.p.returncode

    rows = log.rows
    # Requests by kind.
    kinds = {}
    for kind, start, secs, ok, expected in rows:
        k = kinds.setdefault(kind, {"n": 0, "failed": 0, "expected": 0, "lat": []})
        k["n"] += 1
        k["lat"].append(secs * 1000)
        if not ok:
            k["failed"] += 1
            k["expected"] += expected
    by_kind = {kind: {"requests": k["n"], "failed": k["failed"], "failed_expected": k["expected"],
                      "p50_ms": pct(k["lat"], 50), "p99_ms": pct(k["lat"], 99)}
               for kind, k in sorted(kinds.items())}
    unexpected = sum(1 for r in rows if not r[3] and not r[4])
    expected = sum(1 for r in rows if not r[3] and r[4])
    # Per 30 s window.
    windows = []
    nwin = max(1, int(-(-duration // WINDOW)))
    for w in range(nwin):  # the last window takes what ended after the duration
        lo, hi = w * WINDOW, (w + 1) * WINDOW if w + 1 < nwin else float("inf")
        sel = [r for r in rows if lo <= r[1] < hi]
        rrs = [r[2] * 1000 for r in sel if r[0] == "rrs" and r[3]]
        other = [r[2] * 1000 for r in sel if r[0] != "rrs" and not r[0].endswith("(whole)")]
        mem = [kb for t, kb in rss if lo <= t < hi]
        windows.append({"from_s": lo, "to_s": min(hi, elapsed), "rrs_ok": len(rrs),
                        "rrs_p50_ms": pct(rrs, 50), "rrs_p99_ms": pct(rrs, 99),
                        "other_requests": len(other), "other_p99_ms": pct(other, 99),
                        "unexpected": sum(1 for r in sel if not r[3] and not r[4]),
                        "expected": sum(1 for r in sel if not r[3] and r[4]),
                        "rss_mib": mem[-1] / 1024 if mem else None})
    # Memory after warm-up and at the end, each the median of the samples of
    # a 30 s window (single samples swing by a few MiB with the jobs and
    # requests in flight), and the trend (least squares) in between.
    after = [(t, kb) for t, kb in rss if t >= warmup] or rss[-1:]
    start_kb = statistics.median(kb for t, kb in after if t < after[0][0] + WINDOW)
    end_kb = statistics.median(kb for t, kb in after if t >= elapsed - WINDOW)
    growth = (end_kb - start_kb) / start_kb * 100
    # The same from the middle of the run: bounded caches and allocator
    # arenas that fill during the first minutes show as growth above, a
    # leak shows here too.
    mid = [kb for t, kb in after if elapsed / 2 <= t < elapsed / 2 + WINDOW]
    mid_kb = statistics.median(mid) if mid else start_kb
    growth_second_half = (end_kb - mid_kb) / mid_kb * 100
    slope = 0.0
    if len(after) > 2:
        mt = statistics.fmean(t for t, _ in after)
        mk = statistics.fmean(kb for _, kb in after)
        den = sum((t - mt) ** 2 for t, _ in after)
        slope = sum((t - mt) * (kb - mk) for t, kb in after) / den * 60 / 1024 if den else 0.0
    log_text = log_path.read_text(errors="replace")
    sanitizer = [m for m in SANITIZER_MARKERS if m in log_text]
    results.update({
        "elapsed_s": elapsed, "requests": len(rows),
        "requests_per_s": len(rows) / elapsed,
        "errors_unexpected": unexpected, "errors_expected": expected,
        "expected_401": counts["expected_401"], "mixed_answers": counts["mixed_answers"],
        "unexpected_examples": log.unexpected, "by_kind": by_kind, "windows": windows,
        "rss_kib": {"after_warmup": start_kb, "end": end_kb, "warmup_s": warmup,
                    "window_s": WINDOW, "first_sample_after_warmup": after[0][1],
                    "last_sample": end_rss, "peak_after_warmup": max(kb for _, kb in after),
                    "growth_pct": growth, "middle": mid_kb,
                    "growth_second_half_pct": growth_second_half,
                    "trend_mib_per_min": slope, "samples": rss},
        "memory_goal_pct": MEMORY_GOAL_PCT, "memory_goal_met": growth < MEMORY_GOAL_PCT,
        "relearnd_exit": exit_code, "sanitizer_reports": sanitizer, "sanitized_build": sanitized,
    })

    def f(x, spec=".1f"):
        return "-" if x is None else format(x, spec)

    print()
    print(f"{'requests by kind':26s} {'count':>8s} {'failed':>7s} {'expected':>9s} "
          f"{'p50 ms':>8s} {'p99 ms':>8s}")
    for kind, k in by_kind.items():
        print(f"{kind:26s} {k['requests']:8d} {k['failed']:7d} {k['failed_expected']:9d} "
              f"{f(k['p50_ms'], '.2f'):>8s} {f(k['p99_ms'], '.2f'):>8s}")
    print(f"\n{'window':>11s} {'rrs ok':>7s} {'rrs p50':>8s} {'rrs p99':>8s} {'other':>6s} "
          f"{'other p99':>9s} {'unexp':>6s} {'exp':>4s} {'RSS MiB':>8s}")
    for w in windows:
        print(f"{w['from_s']:4.0f}-{w['to_s']:4.0f} s {w['rrs_ok']:7d} "
              f"{f(w['rrs_p50_ms'], '.2f'):>8s} {f(w['rrs_p99_ms'], '.2f'):>8s} "
              f"{w['other_requests']:6d} {f(w['other_p99_ms'], '.1f'):>9s} "
              f"{w['unexpected']:6d} {w['expected']:4d} {f(w['rss_mib']):>8s}")
    print(f"\nrequests {len(rows)} ({len(rows) / elapsed:.0f}/s); errors: {unexpected} "
          f"unexpected (goal 0), {expected} expected (401 right after a key regeneration)")
    if log.unexpected:
        print("first unexpected errors:")
        for note in log.unexpected:
            print("  " + note)
    print(f"resident memory (median of {WINDOW:.0f} s of samples): {start_kb / 1024:.1f} MiB "
          f"after warm-up ({warmup:.0f} s), {end_kb / 1024:.1f} MiB at the end: {growth:+.1f}% "
          f"(goal under {MEMORY_GOAL_PCT:.0f}%"
          f"{'' if not short else '; not checked in a short run'}); trend {slope:+.2f} MiB/min, "
          f"peak {max(kb for _, kb in after) / 1024:.1f} MiB"
          f"{'; sanitizer build, not representative' if sanitized else ''}")
    print(f"resident memory over the second half: {mid_kb / 1024:.1f} MiB at "
          f"{elapsed / 2:.0f} s, {end_kb / 1024:.1f} MiB at the end: {growth_second_half:+.1f}%")
    print(f"relearnd exit code after SIGTERM: {exit_code} (goal 0)")
    if sanitizer:
        print(f"sanitizer reports in {log_path}: {', '.join(sanitizer)}")
    write_results(results, "soak", args.out, "short" if short else "")
    bad = unexpected or exit_code != 0 or sanitizer or \
        (not short and not sanitized and growth >= MEMORY_GOAL_PCT)
    end_workdir(tmp, bad or args.workdir)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
