"""crash_harness.py - kills relearnd with SIGKILL at random moments, restarts
it, and checks that nothing acknowledged was lost and nothing was left broken.

The engine of the crash tests: tests/e2e/test_crash.py runs a short version
in the e2e suite, `make crash` (scripts/crash.sh) the long one. Standalone:

    RELEARN_BUILD=build/release /usr/bin/python3 tests/e2e/crash_harness.py \
        --kills 200 [--seed S] [--workdir DIR]

One relearnd (the Daemon of conftest.py: 127.0.0.1, a free port, one data
directory kept across restarts, RELEARN_ADMIN_TOKEN set) serves a published
service. Each round restarts it, checks it (below), then drives a random mix
of mutating operations from a few threads -- blob PUTs and DELETEs of random
sizes, retraining jobs on the training service and scoring jobs on the
predictive one (create + start, cancel), endpoint creation, settings and
deletion, Update Resource (PATCH) with a finished job's model, definition
updates with a changed model uri, key regeneration, workspace creation -- and
SIGKILLs it at a moment drawn uniformly from 0..max_delay_ms after they
start. A share of the restarts (startup_kills) is SIGKILLed too, while
relearnd recovers (jobs, blob store leftovers, models).

A journal records what every 2xx answer established (blob B has SHA-256 H,
endpoint E serves model M, job J exists and was started, key K of E is X).
An operation that got no answer because of the kill is "in flight": its
effect may or may not have happened, so each journal entry keeps the
acknowledged value plus the values of operations in flight. The harness
serializes operations on one thing (one blob, one endpoint's model, one key)
so that "the last acknowledged value" is well defined; operations on
different things, and a settings change beside a key regeneration of the same
endpoint, run concurrently.

Invariants checked after every kill, counted in the summary:
  store    the stopped daemon's data directory passes crash_check (a small
           C program built here against librelearn.a: rl_meta_check,
           rl_blob_check, and every endpoint's, history entry's and finished
           job's blob exists with the recorded SHA-256; an endpoint's last
           history entry names its model); run on a copy, so that relearnd
           does its own recovery
  start    relearnd starts again on the same directory
  blob     every blob written or deleted in the round (and a sample of the
           others; all at the end) reads back as the acknowledged content or
           an in-flight one, whole (SHA-256 compared, and equal to the ETag,
           relearnd's record); the listing names exactly those, with sizes
  model    every endpoint serves its acknowledged model or one in flight:
           the model it names downloads whole and every answer to a fixed
           row equals `relearn score` of that model (both keys)
  key      keys are the acknowledged ones (or new after an in-flight
           regeneration); superseded keys answer 401
  endpoint acknowledged endpoints, settings, descriptions, workspaces exist;
           deleted endpoints stay deleted
  job      acknowledged jobs exist; a cancelled one stays Cancelled; a final
           status never changes; a Finished one's outputs are whole (a
           retrained model loads and scores); a Failed one failed only by
           being interrupted too often; no job stays Running when no worker
           runs it; every acknowledged start ends in a final state (drained
           every drain_every rounds and at the end)
  exit     no sanitizer report; the last stop (SIGTERM) exits 0

Violations are collected (never raised) and the summary lists them; the goal
is none.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conftest import BUILD, ROOT, SANITIZED, Daemon, binary  # noqa: E402
from daemon_helpers import answer_table, classic_body, score_locally  # noqa: E402

ADMIN = "crash-admin-token-0123456789abcdef"
RESOURCE = "crash [trained model]"
TERMINAL = {"Finished", "Failed", "Cancelled"}
ADDED = [f"e{i}" for i in range(1, 6)]       # names of added endpoints
BLOB_NAMES = [f"crash/b{i:02d}.bin" for i in range(24)]
DATASETS = [(1500, 3, 0.0), (1500, 4, 0.3), (2500, 5, 0.6), (6000, 6, 1.0)]  # rows, seed, shift
LIBS = ["-lxgboost", "-llinear", "-llapacke", "-llapack", "-lblas", "-lmicrohttpd", "-ljansson",
        "-lsqlite3", "-lcurl", "-lssl", "-lcrypto", "-lm"]
SHA_RE = re.compile(r"([0-9a-f]{64})\.ilearner$")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


class InFlight(Exception):
    """The request got no answer (the daemon was killed meanwhile)."""


class NotSent(Exception):
    """The connection was refused: the request never reached a daemon."""


# ---- the journal ----

class Blob:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.acked = None      # SHA-256 of the acknowledged content, None: absent
        self.maybe = set()     # contents (SHA-256, None: deleted) of writes in flight
        self.dirty = False     # written since the last check


class Endpoint:
    def __init__(self, service, name, path, api_path=None):
        self.service = service  # "predictive" | "training"
        self.name = name
        self.path = path        # /workspaces/default/webservices/ID/endpoints/NAME
        self.api_path = api_path  # /workspaces/default/services/APIID
        self.exists = False     # True, False, or None: creation in flight
        self.delete_maybe = False  # a deletion was in flight
        self.model_lock = threading.Lock()
        self.model = None       # (location or None, SHA-256 or None) acknowledged
        self.model_maybe = set()  # SHA-256 of model changes in flight
        self.ever = set()       # every SHA-256 it was acknowledged or in flight to have
        self.key_locks = {"primary": threading.Lock(), "secondary": threading.Lock()}
        self.keys = {"primary": None, "secondary": None}
        self.key_maybe = {"primary": False, "secondary": False}
        self.old_keys = []      # superseded keys, newest last
        self.settings_lock = threading.Lock()
        self.mcc = None         # MaxConcurrentCalls acknowledged
        self.mcc_maybe = set()


class Job:
    def __init__(self, jid, kind, ep, outputs):
        self.id = jid
        self.kind = kind        # "retrain" | "score"
        self.ep = ep
        self.outputs = outputs  # output name -> external location
        self.start = "no"       # "no" | "acked" | "maybe"
        self.cancel = "no"      # "no" | "acked" | "maybe"
        self.final = None       # final status once seen


class Harness:
    def __init__(self, workdir, kills=30, seed=None, threads=3, max_delay_ms=400,
                 drain_every=10, workers=2, sample_blobs=6, startup_kills=0.1, log=print,
                 tamper=None):
        self.work = Path(workdir)
        self.work.mkdir(parents=True, exist_ok=True)
        self.kills = kills
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.nthreads = threads
        self.max_delay = max_delay_ms / 1000.0
        self.drain_every = drain_every
        self.workers = workers
        self.sample_blobs = sample_blobs
        self.startup_kills = startup_kills  # share of restarts killed while starting
        self.log = log
        self.tamper = tamper          # tamper(harness, round): damages the stopped daemon's dir
        self.slow = 4 if SANITIZED else 1
        self.lock = threading.Lock()  # guards the counters, jobs, candidates, violations
        self.blobs = {n: Blob(n) for n in BLOB_NAMES}
        self.sizes = {}               # SHA-256 -> size of the contents written
        self.eps = {}                 # (service, name) -> Endpoint
        self.jobs = {}                # id -> Job
        self.candidates = {}          # SHA-256 -> external location of a model to PATCH with
        self.expected = {}            # SHA-256 -> (header, rows) of `relearn score`
        self.workspaces = {}          # id -> token (acknowledged)
        self.ws_maybe = set()
        self.desc = None              # the predictive service's acknowledged description
        self.desc_maybe = set()
        self.acked = {}               # op kind -> count
        self.inflight = {}
        self.refused = {}
        self.checks = {}
        self.violations = []
        self.round = 0
        self.uid = 0
        self.interrupted = (0, 0)
        self.d = None

    # ---- bookkeeping ----

    def count(self, table, kind, n=1):
        with self.lock:
            table[kind] = table.get(kind, 0) + n

    def check(self, kind, ok, what):
        """One invariant check; a failure becomes a violation."""
        self.count(self.checks, kind)
        if not ok:
            with self.lock:
                self.violations.append(f"round {self.round}: {kind}: {what}")
            self.log(f"VIOLATION round {self.round}: {kind}: {what}")
        return ok

    def next_uid(self):
        with self.lock:
            self.uid += 1
            return f"r{self.round}-{self.uid}"

    # ---- HTTP ----

    def request(self, session, method, path, **kw):
        """One call to the daemon; InFlight when no answer came."""
        kw.setdefault("timeout", 60 * self.slow)
        try:
            r = session.request(method, self.d.url + path, **kw)
        except requests.ConnectionError as e:
            if "Connection refused" in str(e):
                raise NotSent(str(e)) from None
            raise InFlight(str(e)) from None
        except requests.RequestException as e:
            raise InFlight(str(e)) from None
        return r

    def answered(self, r, kind, expect, benign=()):
        if r.status_code in expect:
            return True
        if r.status_code in benign:
            self.count(self.refused, kind)
            return False
        self.check("answer", False, f"{kind} answered {r.status_code}: {r.text[:300]}")
        return False

    # ---- setup ----

    def build_checker(self):
        lib = BUILD / "librelearn.a"
        out = self.work / "crash_check"
        flags = ["-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-pthread", f"-I{ROOT / 'src'}"]
        if "tsan" in BUILD.name:  # the library's sanitizer, or it does not link
            flags += ["-fsanitize=thread"]
        elif SANITIZED or "asan" in BUILD.name:
            flags += ["-fsanitize=address,undefined"]
        p = subprocess.run(["cc", *flags, str(HERE / "crash_check.c"), str(lib), *LIBS, "-o",
                            str(out)], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"building crash_check failed:\n{p.stderr}")
        self.checker = out

    def run_checker(self):
        """crash_check on a copy of the stopped daemon's directory: opening the
        stores recovers them, and that recovery is relearnd's own to do at its
        next start. Blob files are hard links (objects are never modified;
        the checker at most unlinks leftovers), the database files copies."""
        copy = self.work / "check-copy"
        if copy.exists():
            shutil.rmtree(copy)
        subprocess.run(["cp", "-al", str(self.data_dir), str(copy)], check=True)
        for f in copy.glob("meta.db*"):
            f.unlink()
            shutil.copy2(self.data_dir / f.name, f)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        p = subprocess.run([str(self.checker), str(copy)], capture_output=True,
                           text=True, timeout=300, env=env)
        problems = [line for line in p.stdout.splitlines() if line.startswith("problem:")]
        self.check("store", p.returncode == 0 and not problems,
                   f"crash_check exited {p.returncode}: {problems[:5]} {p.stderr[-2000:]}")
        for line in p.stdout.splitlines():
            if line.startswith("ok blobs "):
                self.count(self.checks, "store-blob", int(line.split()[2]))

    def setup(self):
        self.log(f"crash harness: seed {self.seed}, {self.kills} kills, build {BUILD}")
        self.build_checker()
        cli = binary("relearn")
        files = []
        for i, (rows, seed, shift) in enumerate(DATASETS):
            f = self.work / f"train-{i}.csv"
            subprocess.run([cli, "generate", "census", "--rows", str(rows), "--seed", str(seed),
                            "--shift", str(shift), "--out", str(f)], check=True,
                           capture_output=True)
            files.append(f)
        score = self.work / "score.csv"
        subprocess.run([cli, "generate", "census", "--rows", "2000", "--seed", "9", "--out",
                        str(score)], check=True, capture_output=True)
        lines = files[0].read_text().splitlines()
        header = lines[0].split(",")
        keep = [i for i, c in enumerate(header) if c != "income"]
        self.cols = [header[i] for i in keep]
        self.rows = [[line.split(",")[i] for i in keep] for line in lines[1:4]]
        assert all(len(line.split(",")) == len(header) for line in lines[1:4])

        self.data_dir = self.work / "data"
        self.d = Daemon(self.data_dir, ["--workers", str(self.workers)],
                        env={"RELEARN_ADMIN_TOKEN": ADMIN})
        self.d.start(timeout=60 * self.slow)
        s = requests.Session()
        adm = bearer(ADMIN)
        for i, f in enumerate(files):
            r = s.put(f"{self.d.url}/storage/data/train-{i}.csv", data=f.read_bytes(), headers=adm)
            assert r.status_code == 201, r.text
        r = s.put(f"{self.d.url}/storage/data/score.csv", data=score.read_bytes(), headers=adm)
        assert r.status_code == 201, r.text
        r = s.post(f"{self.d.url}/workspaces/default/webservices", headers=adm, timeout=600,
                   json={"Name": "crash", "TrainingData": {"RelativeLocation": "data/train-0.csv"},
                         "Label": "income", "Learner": "two-class-boosted-decision-tree",
                         "Parameters": {"number-of-trees-constructed": 10}})
        assert r.status_code == 201, r.text
        pub = r.json()
        self.pred_id = pub["PredictiveService"]["Id"]
        self.train_id = pub["TrainingService"]["Id"]
        for kind, info in (("predictive", pub["PredictiveService"]),
                           ("training", pub["TrainingService"])):
            sid = info["Id"]
            ep = Endpoint(kind, "default", f"/workspaces/default/webservices/{sid}/endpoints/default",
                          urlparse(info["ApiLocation"]).path)
            ep.exists = True
            ep.keys = {"primary": info["PrimaryKey"], "secondary": info["SecondaryKey"]}
            self.eps[(kind, "default")] = ep
        for name in ADDED:
            sid = self.pred_id
            self.eps[("predictive", name)] = Endpoint(
                "predictive", name, f"/workspaces/default/webservices/{sid}/endpoints/{name}")
        # The first model, and one model retrained on each data set: the
        # candidates that PATCH and definition updates put in service.
        dflt = self.eps[("predictive", "default")]
        ep_json = s.get(self.d.url + dflt.path, headers=adm).json()
        loc = ep_json["Resources"][0]["Location"]
        model = self.download_model(s, loc)
        dflt.model = (loc["RelativeLocation"], sha256(model))
        dflt.ever.add(sha256(model))
        dflt.mcc = ep_json["MaxConcurrentCalls"]
        self.expect(model)
        train = self.eps[("training", "default")]
        for i in range(len(DATASETS)):
            out = f"setup/model-{i}.ilearner"
            body = {"Inputs": {"input1": {"RelativeLocation": f"data/train-{i}.csv"}},
                    "Outputs": {"output1": {"RelativeLocation": out}}, "GlobalParameters": {}}
            h = bearer(train.keys["primary"])
            jid = s.post(f"{self.d.url}{train.api_path}/jobs?api-version=2.0", json=body,
                         headers=h).json()
            assert s.post(f"{self.d.url}{train.api_path}/jobs/{jid}/start?api-version=2.0",
                          headers=h).status_code == 204
            deadline = time.monotonic() + 300
            while True:
                st = s.get(f"{self.d.url}{train.api_path}/jobs/{jid}?api-version=2.0",
                           headers=h).json()
                if st["StatusCode"] in TERMINAL:
                    break
                assert time.monotonic() < deadline, st
                time.sleep(0.05)
            assert st["StatusCode"] == "Finished", st
            data = s.get(f"{self.d.url}/storage/{out}", headers=adm).content
            self.expect(data)
            self.candidates[sha256(data)] = out
        self.desc = s.get(f"{self.d.url}/workspaces/default/webservices/{self.pred_id}",
                          headers=adm).json().get("Description") or ""
        self.log(f"crash harness: setup done ({len(self.candidates)} candidate models)")

    def download_model(self, s, loc):
        r = s.get(loc["BaseLocation"].replace(self.base_of(loc["BaseLocation"]), self.d.url)
                  + loc["RelativeLocation"] + (loc.get("SasBlobToken") or ""),
                  timeout=60 * self.slow)
        if r.status_code != 200:
            raise InFlight(f"model download answered {r.status_code}: {r.text[:200]}")
        return r.content

    @staticmethod
    def base_of(url):
        u = urlparse(url)
        return f"{u.scheme}://{u.netloc}"

    def expect(self, model):
        """`relearn score` of the fixed rows with this model, computed once."""
        h = sha256(model)
        if h not in self.expected:
            d = self.work / "expected"
            d.mkdir(exist_ok=True)
            self.expected[h] = score_locally(model, self.cols, self.rows, d, name=h[:16])
        return self.expected[h]

    # ---- operations (run by the op threads) ----

    def op_blob_put(self, s, rng):
        b = self.blobs[rng.choice(BLOB_NAMES)]
        u = rng.random()
        size = (rng.randrange(0, 16 << 10) if u < 0.5 else
                rng.randrange(16 << 10, 512 << 10) if u < 0.85 else
                rng.randrange(512 << 10, 3 << 20))
        data = rng.randbytes(size)
        h = sha256(data)
        self.sizes[h] = size
        with b.lock:
            b.dirty = True
            try:
                r = self.request(s, "PUT", f"/storage/{b.name}", data=data,
                                 headers=bearer(ADMIN))
            except InFlight:
                b.maybe.add(h)
                raise
            if self.answered(r, "blob-put", (201,)):
                b.acked, b.maybe = h, set()
                self.check("answer", r.json().get("Size") == size, f"PUT {b.name} size {r.text}")
                return True

    def op_blob_delete(self, s, rng):
        b = self.blobs[rng.choice(BLOB_NAMES)]
        with b.lock:
            b.dirty = True
            try:
                r = self.request(s, "DELETE", f"/storage/{b.name}", headers=bearer(ADMIN))
            except InFlight:
                b.maybe.add(None)
                raise
            if r.status_code == 404 and b.acked is None:
                # Never written, or deleted: it stays absent (an in-flight
                # write that had happened would have been found).
                b.maybe = set()
                self.count(self.refused, "blob-delete")
                return False
            if self.answered(r, "blob-delete", (204,), benign=(404,) if b.maybe else ()):
                b.acked, b.maybe = None, set()
                return True

    def pending_jobs(self):
        with self.lock:
            return sum(1 for j in self.jobs.values() if j.final is None and j.start != "no")

    def op_job(self, s, rng, kind):
        if self.pending_jobs() >= 6:
            return False
        if kind == "retrain":
            ep = self.eps[("training", "default")]
            i = rng.randrange(len(DATASETS))
            uid = self.next_uid()
            outputs = {"output1": f"results/{uid}.ilearner", "output2": f"results/{uid}-eval.csv"}
            body = {"Inputs": {"input1": {"RelativeLocation": f"data/train-{i}.csv"}},
                    "Outputs": {k: {"RelativeLocation": v} for k, v in outputs.items()},
                    "GlobalParameters": {}}
        else:
            names = [n for n in ["default"] + ADDED if self.eps[("predictive", n)].exists]
            ep = self.eps[("predictive", rng.choice(names))]
            uid = self.next_uid()
            outputs = {"output1": f"results/{uid}-scored.csv"}
            body = {"Inputs": {"input1": {"RelativeLocation": "data/score.csv"}},
                    "Outputs": {"output1": {"RelativeLocation": outputs["output1"]}},
                    "GlobalParameters": {}}
        with ep.key_locks["primary"]:
            if ep.exists is not True:
                return False
            h = bearer(ep.keys["primary"])
            r = self.request(s, "POST", f"{ep.api_path}/jobs?api-version=2.0", json=body,
                             headers=h)
            if not self.answered(r, f"{kind}-create", (200,)):
                return False
            job = Job(r.json(), kind, ep, outputs)
            with self.lock:
                self.jobs[job.id] = job
            self.count(self.acked, f"{kind}-create")
            try:
                r = self.request(s, "POST", f"{ep.api_path}/jobs/{job.id}/start?api-version=2.0",
                                 headers=h)
            except InFlight:
                job.start = "maybe"
                raise
            if self.answered(r, f"{kind}-start", (204,)):
                job.start = "acked"
                self.count(self.acked, f"{kind}-start")
        return None  # counted above

    def op_cancel(self, s, rng):
        with self.lock:
            live = [j for j in self.jobs.values() if j.final is None and j.cancel == "no"]
        if not live:
            return False
        job = rng.choice(live)
        with job.ep.key_locks["primary"]:
            try:
                r = self.request(s, "DELETE", f"{job.ep.api_path}/jobs/{job.id}?api-version=2.0",
                                 headers=bearer(job.ep.keys["primary"]))
            except InFlight:
                job.cancel = "maybe"
                raise
            # 409: it had ended meanwhile.
            if self.answered(r, "job-cancel", (204,), benign=(409,)):
                job.cancel = "acked"
                return True

    def op_endpoint(self, s, rng):
        ep = self.eps[("predictive", rng.choice(ADDED))]
        if ep.exists:
            with ep.settings_lock:
                if ep.exists is not True:
                    return False
                n = rng.randrange(5, 60)
                try:
                    r = self.request(s, "PUT", ep.path, json={"MaxConcurrentCalls": n},
                                     headers=bearer(ADMIN))
                except InFlight:
                    ep.mcc_maybe.add(n)
                    raise
                if self.answered(r, "endpoint-settings", (200,)):
                    self.check("answer", r.json()["MaxConcurrentCalls"] == n, r.text[:300])
                    ep.mcc, ep.mcc_maybe = n, set()
                    self.count(self.acked, "endpoint-settings")
            return None
        with ep.model_lock, ep.key_locks["primary"], ep.key_locks["secondary"], ep.settings_lock:
            if ep.exists is not False:
                return False
            try:
                r = self.request(s, "PUT", ep.path, json={"Description": "crash test"},
                                 headers=bearer(ADMIN))
            except InFlight:
                ep.exists = None
                raise
            if self.answered(r, "endpoint-create", (201,)):
                j = r.json()
                loc = j["Resources"][0]["Location"]["RelativeLocation"]
                m = SHA_RE.search(loc)
                dflt = self.eps[("predictive", "default")]
                known = dict([dflt.model]) if dflt.model[0] else {}
                ep.model = (loc, m.group(1) if m else known.get(loc))
                ep.ever |= dflt.ever
                ep.keys = {"primary": j["PrimaryKey"], "secondary": j["SecondaryKey"]}
                ep.api_path = urlparse(j["ApiLocation"]).path
                ep.mcc = j["MaxConcurrentCalls"]
                ep.exists = True
                return True

    def op_endpoint_delete(self, s, rng):
        ep = self.eps[("predictive", rng.choice(ADDED))]
        with ep.model_lock, ep.key_locks["primary"], ep.key_locks["secondary"], ep.settings_lock:
            if ep.exists is not True:
                return False
            self.forget_jobs(ep)
            try:
                r = self.request(s, "DELETE", ep.path, headers=bearer(ADMIN))
            except InFlight:
                ep.delete_maybe = True
                raise
            if self.answered(r, "endpoint-delete", (204,)):
                self.gone(ep)
                return True

    def forget_jobs(self, ep):
        """A deleted endpoint's jobs are no longer reachable through it."""
        with self.lock:
            for j in self.jobs.values():
                if j.ep is ep:
                    j.final = "endpoint deleted"

    def gone(self, ep):
        """The endpoint does not exist (any more): its keys are superseded."""
        ep.old_keys += [k for k in ep.keys.values() if k]
        ep.exists, ep.delete_maybe, ep.model, ep.model_maybe = False, False, None, set()
        ep.keys = {"primary": None, "secondary": None}
        ep.key_maybe = {"primary": False, "secondary": False}
        ep.mcc, ep.mcc_maybe = None, set()

    def op_patch(self, s, rng):
        names = [n for n in ADDED if self.eps[("predictive", n)].exists]
        if not names:
            return False
        ep = self.eps[("predictive", rng.choice(names))]
        with self.lock:
            h, loc = rng.choice(sorted(self.candidates.items()))
        body = {"Resources": [{"Name": RESOURCE, "Location": {
            "BaseLocation": f"{self.d.url}/storage/", "RelativeLocation": loc}}]}
        with ep.model_lock:
            if ep.exists is not True:
                return False
            ep.ever.add(h)
            try:
                r = self.request(s, "PATCH", ep.path, json=body, headers=bearer(ADMIN))
            except InFlight:
                ep.model_maybe.add(h)
                raise
            if self.answered(r, "patch", (200,)):
                got = r.json()["Resources"][0]["Location"]["RelativeLocation"]
                ep.model, ep.model_maybe = (got, h), set()
                return True

    def op_definition(self, s, rng):
        ep = self.eps[("predictive", "default")]
        with self.lock:
            h, loc = rng.choice(sorted(self.candidates.items()))
        url = f"/workspaces/default/webservices/{self.pred_id}/definition"
        desc = f"crash test {self.next_uid()}"
        with ep.model_lock:
            r = self.request(s, "GET", url, headers=bearer(ADMIN))
            if not self.answered(r, "definition-get", (200,)):
                return False
            d = r.json()
            for a in d["properties"]["assets"].values():
                if a["type"] == "Resource":
                    a["locationInfo"]["uri"] = f"{self.d.url}/storage/{loc}"
            d["properties"]["description"] = desc
            ep.ever.add(h)
            try:
                r = self.request(s, "PUT", url, json=d, headers=bearer(ADMIN))
            except InFlight:
                ep.model_maybe.add(h)
                self.desc_maybe.add(desc)
                raise
            if self.answered(r, "definition", (200,)):
                uri = [a["locationInfo"]["uri"] for a in r.json()["properties"]["assets"].values()
                       if a["type"] == "Resource"][0]
                ep.model, ep.model_maybe = (uri.split("/storage/", 1)[1], h), set()
                self.desc, self.desc_maybe = desc, set()
                return True

    def op_regen(self, s, rng):
        names = [k for k, e in self.eps.items() if e.exists]
        ep = self.eps[rng.choice(sorted(names))]
        which = rng.choice(["primary", "secondary"])
        with ep.key_locks[which]:
            if ep.exists is not True:
                return False
            try:
                r = self.request(s, "POST", ep.path + "/regeneratekeys",
                                 json={"KeyName": which}, headers=bearer(ADMIN))
            except InFlight:
                ep.key_maybe[which] = True
                raise
            if self.answered(r, "regen", (200,)):
                new = r.json()["PrimaryKey" if which == "primary" else "SecondaryKey"]
                self.check("answer", new != ep.keys[which], "regeneration kept the key")
                ep.old_keys.append(ep.keys[which])
                ep.keys[which], ep.key_maybe[which] = new, False
                return True

    def op_workspace(self, s, rng):
        ws = f"ws-{self.next_uid()}"
        try:
            r = self.request(s, "PUT", f"/workspaces/{ws}", headers=bearer(ADMIN))
        except InFlight:
            with self.lock:
                self.ws_maybe.add(ws)
            raise
        if self.answered(r, "workspace", (200, 201)):
            with self.lock:
                self.workspaces[ws] = r.json()["AuthorizationToken"]
            return True

    OPS = [("blob-put", 4.0), ("blob-delete", 0.5), ("retrain", 1.5), ("score", 1.0),
           ("job-cancel", 0.3), ("endpoint", 1.0), ("endpoint-delete", 0.25), ("patch", 2.0),
           ("definition", 1.0),
           ("regen", 1.2), ("workspace", 0.2)]

    def run_op(self, s, rng, kind):
        try:
            self.run_op_counted(s, rng, kind)
        except Exception:  # a fault of the harness: visible, never silent
            import traceback
            self.check("harness", False, f"{kind}: {traceback.format_exc()}")

    def run_op_counted(self, s, rng, kind):
        fn = {"blob-put": self.op_blob_put, "blob-delete": self.op_blob_delete,
              "retrain": lambda s, r: self.op_job(s, r, "retrain"),
              "score": lambda s, r: self.op_job(s, r, "score"), "job-cancel": self.op_cancel,
              "endpoint": self.op_endpoint, "endpoint-delete": self.op_endpoint_delete,
              "patch": self.op_patch,
              "definition": self.op_definition, "regen": self.op_regen,
              "workspace": self.op_workspace}[kind]
        try:
            if fn(s, rng) is True:
                self.count(self.acked, kind)
        except InFlight:
            self.count(self.inflight, kind)
        except NotSent:
            pass

    def op_thread(self, seed, killed):
        rng = random.Random(seed)
        s = requests.Session()
        kinds, weights = zip(*self.OPS)
        while not killed.is_set():
            self.run_op(s, rng, rng.choices(kinds, weights)[0])

    # ---- one round ----

    def kill_round(self):
        killed = threading.Event()
        threads = [threading.Thread(target=self.op_thread, args=(self.rng.randrange(1 << 30),
                                                                 killed))
                   for _ in range(self.nthreads)]
        delay = self.rng.uniform(0, self.max_delay)
        for t in threads:
            t.start()
        time.sleep(delay)
        proc = self.d.proc
        alive = proc.poll() is None
        self.check("alive", alive, f"relearnd exited on its own ({proc.returncode}) before the "
                   f"kill:\n{self.d.log()[-3000:]}")
        if alive:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.d.proc = None
        killed.set()
        for t in threads:
            t.join()

    # ---- checks after a restart ----

    def startup_kill(self):
        """SIGKILLs a starting relearnd (recovering jobs, cleaning the blob
        store, loading models) at a random moment of its first 250 ms."""
        delay = self.rng.uniform(0, 0.25 * self.slow)

        def killer():
            time.sleep(delay)
            if self.d.proc is not None and self.d.proc.poll() is None:
                self.d.proc.send_signal(signal.SIGKILL)
        t = threading.Thread(target=killer)
        t.start()
        try:
            self.d.start(timeout=60 * self.slow)
        except AssertionError:
            pass  # killed before it listened
        t.join()
        if self.d.proc is not None:
            self.d.proc.send_signal(signal.SIGKILL)
            self.d.proc.wait()
            self.d.proc = None
        self.count(self.checks, "startup-kill")

    def restart(self):
        if self.rng.random() < self.startup_kills:
            self.startup_kill()
        try:
            self.d.start(timeout=60 * self.slow)
            return self.check("start", True, "")
        except AssertionError as e:
            self.d.proc = None
            return self.check("start", False, f"relearnd does not start again: {e}"[-3000:])

    def verify_blobs(self, s, everything=False):
        names = [n for n, b in self.blobs.items() if b.dirty or b.maybe]
        rest = [n for n in BLOB_NAMES if n not in names]
        names += rest if everything else self.rng.sample(rest, min(self.sample_blobs, len(rest)))
        for n in names:
            b = self.blobs[n]
            r = s.get(f"{self.d.url}/storage/{n}", headers=bearer(ADMIN), timeout=60 * self.slow)
            got = sha256(r.content) if r.status_code == 200 else None
            allowed = {b.acked} | b.maybe
            if r.status_code not in (200, 404):
                self.check("blob", False, f"GET {n} answered {r.status_code}: {r.text[:300]}")
                continue
            self.check("blob", got in allowed,
                       f"{n} is {got or 'absent'}, acknowledged {b.acked or 'absent'}, "
                       f"in flight {sorted(x or 'delete' for x in b.maybe)}")
            if got:  # relearnd's own record: the ETag is the SHA-256 it recorded
                self.check("blob", r.headers.get("ETag") == f'"{got}"',
                           f"{n}: content {got}, ETag {r.headers.get('ETag')}")
            b.acked, b.maybe, b.dirty = got, set(), False

    def verify_listing(self, s):
        """The container's listing names exactly the blobs there are, with
        their sizes (after verify_blobs: the journal holds what they are)."""
        r = s.get(f"{self.d.url}/storage/crash?prefix=", headers=bearer(ADMIN))
        if not self.check("blob", r.status_code == 200, f"listing answered {r.status_code}"):
            return
        listed = {"crash/" + e["Name"]: e["Size"] for e in r.json()}
        known = {n: b for n, b in self.blobs.items() if not b.maybe and not b.dirty}
        for n, b in known.items():
            self.check("blob", (n in listed) == (b.acked is not None),
                       f"{n} is {'listed' if n in listed else 'not listed'} but "
                       f"{'there' if b.acked else 'absent'}")
            if n in listed and b.acked in self.sizes:
                self.check("blob", listed[n] == self.sizes[b.acked],
                           f"{n} listed with {listed[n]} bytes, has {self.sizes[b.acked]}")

    def verify_endpoint(self, s, ep):
        adm = bearer(ADMIN)
        r = s.get(self.d.url + ep.path, headers=adm)
        if r.status_code == 404:
            self.check("endpoint", ep.exists is not True or ep.delete_maybe,
                       f"acknowledged endpoint {ep.name} lost")
            if ep.exists:
                self.forget_jobs(ep)
            self.gone(ep)
            return
        if not self.check("endpoint", r.status_code == 200,
                          f"GET endpoint {ep.name} answered {r.status_code}: {r.text[:300]}"):
            return
        j = r.json()
        created_now = ep.exists is None
        if created_now:  # a creation in flight happened: adopt what it made
            ep.exists = True
            ep.api_path = urlparse(j["ApiLocation"]).path
            ep.keys = {"primary": j["PrimaryKey"], "secondary": j["SecondaryKey"]}
            ep.mcc = j["MaxConcurrentCalls"]
            ep.ever |= self.eps[("predictive", "default")].ever
        self.check("endpoint", ep.exists is True, f"endpoint {ep.name} exists, but it was never "
                   f"created or its deletion was acknowledged")
        ep.exists, ep.delete_maybe = True, False
        # Keys.
        for which, field in (("primary", "PrimaryKey"), ("secondary", "SecondaryKey")):
            got = j[field]
            if got != ep.keys[which]:
                self.check("key", ep.key_maybe[which] and got not in ep.old_keys,
                           f"{ep.service} {ep.name} {which} key is not the acknowledged one "
                           f"({'an old one' if got in ep.old_keys else 'unknown'})")
                ep.old_keys.append(ep.keys[which])
                ep.keys[which] = got
            else:
                self.count(self.checks, "key")
            ep.key_maybe[which] = False
        # Settings.
        if ep.mcc is not None:
            got = j["MaxConcurrentCalls"]
            self.check("endpoint", got in {ep.mcc} | ep.mcc_maybe,
                       f"{ep.name} MaxConcurrentCalls {got}, acknowledged {ep.mcc}, "
                       f"in flight {sorted(ep.mcc_maybe)}")
            ep.mcc, ep.mcc_maybe = got, set()
        if ep.service == "training":
            self.verify_training_keys(s, ep)
            return
        # The model it names, whole, and what it answers.
        loc = j["Resources"][0]["Location"]
        try:
            model = self.download_model(s, loc)
        except InFlight as e:
            self.check("model", False, f"{ep.name}: its model {loc['RelativeLocation']} "
                       f"cannot be read: {e}")
            return
        h = sha256(model)
        acked_loc, acked_sha = ep.model if ep.model else (None, None)
        allowed = ep.model_maybe | ({acked_sha} if acked_sha else set())
        if created_now:
            allowed |= ep.ever
        ok = h in allowed or (acked_loc is not None and loc["RelativeLocation"] == acked_loc
                              and acked_sha is None)
        self.check("model", ok, f"{ep.name} serves {loc['RelativeLocation']} ({h[:12]}), "
                   f"acknowledged {acked_loc} ({(acked_sha or '?')[:12]}), in flight "
                   f"{sorted(x[:12] for x in ep.model_maybe)}")
        ep.model, ep.model_maybe = (loc["RelativeLocation"], h), set()
        ep.ever.add(h)
        want = self.expect(model)
        url = f"{self.d.url}{ep.api_path}/execute?api-version=2.0"
        for which in ("primary", "secondary"):
            r = s.post(url, json=classic_body(self.cols, self.rows), headers=bearer(ep.keys[which]),
                       timeout=60 * self.slow)
            if not self.check("model", r.status_code == 200,
                              f"{ep.name} scoring with its {which} key answered {r.status_code}: "
                              f"{r.text[:300]}"):
                continue
            self.check("model", answer_table(r.json()) == want,
                       f"{ep.name} answers {answer_table(r.json())[1]}, its model {h[:12]} "
                       f"gives {want[1]}")
        if ep.old_keys:
            r = s.post(url, json=classic_body(self.cols, self.rows),
                       headers=bearer(ep.old_keys[-1]), timeout=60 * self.slow)
            self.check("key", r.status_code == 401,
                       f"{ep.name}: a superseded key answered {r.status_code}")

    def verify_training_keys(self, s, ep):
        url = f"{self.d.url}{ep.api_path}/jobs?api-version=2.0"
        for which in ("primary", "secondary"):
            r = s.get(url, headers=bearer(ep.keys[which]))
            self.check("key", r.status_code == 200,
                       f"training {which} key answered {r.status_code}")
        if ep.old_keys:
            r = s.get(url, headers=bearer(ep.old_keys[-1]))
            self.check("key", r.status_code == 401,
                       f"training: a superseded key answered {r.status_code}")

    def verify_service(self, s):
        r = s.get(f"{self.d.url}/workspaces/default/webservices/{self.pred_id}",
                  headers=bearer(ADMIN))
        got = r.json().get("Description") or ""
        self.check("endpoint", got in {self.desc} | self.desc_maybe,
                   f"service description {got!r}, acknowledged {self.desc!r}, in flight "
                   f"{sorted(self.desc_maybe)}")
        self.desc, self.desc_maybe = got, set()
        for ws, token in sorted(self.workspaces.items()):
            r = s.get(f"{self.d.url}/workspaces/{ws}", headers=bearer(token))
            self.check("endpoint", r.status_code == 200,
                       f"acknowledged workspace {ws} answers {r.status_code}")
        self.ws_maybe = set()

    def job_status(self, s, job):
        ep = job.ep
        r = s.get(f"{self.d.url}{ep.api_path}/jobs/{job.id}?api-version=2.0",
                  headers=bearer(ep.keys["primary"]), timeout=60 * self.slow)
        if not self.check("job", r.status_code == 200,
                          f"acknowledged job {job.id} ({job.kind}) answers {r.status_code}: "
                          f"{r.text[:200]}"):
            job.final = "lost"  # reported once
            return None
        return r.json()

    def verify_job(self, s, job):
        st = self.job_status(s, job)
        if st is None:
            return
        code = st["StatusCode"]
        if job.final:  # a final status never changes
            self.check("job", code == job.final, f"job {job.id} was {job.final}, now {code}")
            return
        if job.cancel == "acked":
            self.check("job", code == "Cancelled", f"job {job.id} cancelled (acknowledged) "
                       f"but {code}")
        if code == "Failed":
            self.check("job", "interrupted" in (st["Details"] or ""),
                       f"job {job.id} ({job.kind}) failed: {st['Details']}")
        if code == "Finished":
            self.check("job", job.cancel != "acked", f"cancelled job {job.id} finished")
            self.verify_outputs(s, job, st)
        if code in TERMINAL:
            job.final = code
        if code == "NotStarted" and job.start == "maybe":
            pass  # whether the start arrived is unknown: it may stay NotStarted

    def verify_outputs(self, s, job, st):
        for name, ext in job.outputs.items():
            loc = st["Results"].get(name)
            if not self.check("job", loc is not None and loc["RelativeLocation"] == ext,
                              f"job {job.id} {name} result {loc}"):
                continue
            try:
                data = self.download_model(s, loc)
            except InFlight as e:
                self.check("job", False, f"finished job {job.id} output {ext}: {e}")
                continue
            if job.kind == "retrain" and name == "output1":
                self.expect(data)  # also proves it loads and scores
                with self.lock:
                    self.candidates.setdefault(sha256(data), ext)
                self.count(self.checks, "job")
            elif job.kind == "score":
                lines = data.decode(errors="replace").splitlines()
                self.check("job", len(lines) == 2001 and "Scored Labels" in lines[0],
                           f"scoring job {job.id} output has {len(lines)} lines")
            else:
                self.check("job", len(data) > 0, f"job {job.id} {name} is empty")

    def running_jobs(self, s):
        """(endpoint, job id) of every job listed Running, known or not (a
        job whose creation got no answer is in the lists too)."""
        out = []
        for ep in self.eps.values():
            if ep.exists is not True:
                continue
            r = s.get(f"{self.d.url}{ep.api_path}/jobs?api-version=2.0",
                      headers=bearer(ep.keys["primary"]))
            if r.status_code == 200:
                out += [(ep, j["Id"]) for j in r.json() if j["StatusCode"] == "Running"]
        return out

    def verify_running(self, s, always=False):
        """No job stays Running when no worker runs it: a job the crash left
        Running must have been requeued or failed at the start. More Running
        than workers (lists read one endpoint after another may see a job
        end and the next begin), or always: each must leave Running soon."""
        running = self.running_jobs(s)
        if len(running) <= self.workers and not always:
            self.count(self.checks, "job")
            return
        deadline = time.monotonic() + 60 * self.slow
        while running and time.monotonic() < deadline:
            time.sleep(0.2)
            still = []
            for ep, jid in running:
                r = s.get(f"{self.d.url}{ep.api_path}/jobs/{jid}?api-version=2.0",
                          headers=bearer(ep.keys["primary"]))
                if r.status_code == 200 and r.json()["StatusCode"] == "Running":
                    still.append((ep, jid))
            running = still
        for ep, jid in running:
            self.check("job", False, f"job {jid} of {ep.service} {ep.name} stays Running "
                       f"{60 * self.slow} s after the restart")
        self.count(self.checks, "job")

    def drain(self, s):
        """Every acknowledged start ends in a final state."""
        deadline = time.monotonic() + 120 * self.slow
        while True:
            with self.lock:
                live = [j for j in self.jobs.values() if j.final is None and j.start == "acked"]
            for job in live:
                self.verify_job(s, job)
            live = [j for j in live if j.final is None]
            if not live or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for job in live:
            st = self.job_status(s, job)
            self.check("job", False, f"job {job.id} ({job.kind}) still "
                       f"{st and st['StatusCode']} after the drain")
        # A start that got no answer: if the job is still NotStarted once the
        # queue is empty (workers look at least every second), it never arrived.
        with self.lock:
            maybe = [j for j in self.jobs.values() if j.final is None and j.start == "maybe"]
        deadline = time.monotonic() + 3 * self.slow
        while maybe:
            for job in maybe:
                self.verify_job(s, job)
                st = self.job_status(s, job)
                if job.final or (st and st["StatusCode"] != "NotStarted"):
                    job.start = "acked"
            maybe = [j for j in maybe if j.start == "maybe"]
            if not maybe or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for job in maybe:
            job.start = "no"
        self.verify_running(s, always=True)
        self.count(self.checks, "drain")

    def verify(self, everything=False):
        s = requests.Session()
        try:
            self.verify_running(s)
            # Endpoints first (creations in flight resolve), then the rest.
            for key in sorted(self.eps, key=lambda k: (k[1] != "default", k)):
                ep = self.eps[key]
                self.verify_endpoint(s, ep)
            self.verify_service(s)
            self.verify_blobs(s, everything)
            self.verify_listing(s)
            with self.lock:
                jobs = list(self.jobs.values())
            live = [j for j in jobs if j.final is None]
            done = [j for j in jobs if j.final in TERMINAL]
            sample = done if everything else self.rng.sample(done, min(4, len(done)))
            for job in live + sample:
                self.verify_job(s, job)
            for job in jobs:  # an unacknowledged cancel is settled by what we saw
                if job.cancel == "maybe":
                    job.cancel = "no" if job.final != "Cancelled" else "acked"
            if everything or (self.drain_every and self.round % self.drain_every == 0):
                self.drain(s)
        except requests.RequestException as e:
            self.check("alive", False, f"relearnd stopped answering during the checks: {e}\n"
                       f"{self.d.log()[-3000:]}")

    # ---- the run ----

    def run(self):
        t0 = time.monotonic()
        self.setup()
        for self.round in range(1, self.kills + 1):
            self.kill_round()
            if self.tamper:
                self.tamper(self, self.round)
            self.run_checker()
            if not self.restart():
                break
            self.verify()
            if self.round % 10 == 0:
                self.log(f"crash harness: {self.round} kills, "
                         f"{sum(self.acked.values())} operations acknowledged, "
                         f"{len(self.violations)} violations ({time.monotonic() - t0:.0f} s)")
        # The end: everything once more, then an orderly stop.
        if self.d.proc is not None:
            self.round += 1
            self.verify(everything=True)
            rc = self.d.stop()
            self.check("exit", rc == 0, f"relearnd exited {rc} on SIGTERM")
            self.run_checker()
        log = self.d.log()
        requeued = re.findall(r"(\d+) interrupted job\(s\) queued to run again, (\d+) failed", log)
        self.interrupted = (sum(int(a) for a, _ in requeued), sum(int(b) for _, b in requeued))
        for marker in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
            self.check("exit", marker not in log, f"{marker} in relearnd's log:\n"
                       f"{log[log.find(marker) - 2000:][:5000]}")
        return self.summary(time.monotonic() - t0)

    def summary(self, seconds):
        s = {"seed": self.seed, "kills": self.kills, "seconds": round(seconds, 1),
             "acknowledged": dict(sorted(self.acked.items())),
             "acknowledged_total": sum(self.acked.values()),
             "in_flight_at_kill": dict(sorted(self.inflight.items())),
             "refused": dict(sorted(self.refused.items())),
             "checks": dict(sorted(self.checks.items())),
             "checks_total": sum(self.checks.values()),
             "jobs": {st: sum(1 for j in self.jobs.values() if j.final == st)
                      for st in sorted(TERMINAL)},
             "jobs_interrupted_by_kills": {"requeued": self.interrupted[0],
                                           "failed_after_3": self.interrupted[1]},
             "candidate_models": len(self.candidates),
             "violations": list(self.violations)}
        (self.work / "summary.json").write_text(json.dumps(s, indent=2))
        return s


def format_summary(s):
    lines = [f"crash test: {s['kills']} kills in {s['seconds']} s (seed {s['seed']})",
             f"  operations acknowledged: {s['acknowledged_total']} {s['acknowledged']}",
             f"  in flight at a kill:     {s['in_flight_at_kill']}",
             f"  refused (benign):        {s['refused']}",
             f"  jobs ended:              {s['jobs']}",
             f"  jobs killed mid-run:     {s['jobs_interrupted_by_kills']}",
             f"  invariant checks:        {s['checks_total']} {s['checks']}",
             f"  violations:              {len(s['violations'])}"]
    lines += [f"    {v[:2000]}" for v in s["violations"]]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--max-delay-ms", type=int, default=400)
    ap.add_argument("--drain-every", type=int, default=10)
    ap.add_argument("--workdir", help="kept afterwards (default: a new directory under /tmp)")
    a = ap.parse_args()
    import tempfile
    work = a.workdir or tempfile.mkdtemp(prefix="relearn-crash-")
    h = Harness(work, kills=a.kills, seed=a.seed, threads=a.threads,
                max_delay_ms=a.max_delay_ms, drain_every=a.drain_every)
    try:
        s = h.run()
    finally:
        if h.d is not None and h.d.proc is not None:
            h.d.proc.kill()
            h.d.proc.wait()
    print(format_summary(s))
    print(f"  work directory:          {work}")
    return 0 if not s["violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
