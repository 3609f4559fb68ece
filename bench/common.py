"""common.py - what the service benchmarks share (service.py, update.py,
endpoints.py, soak.py; scripts/valgrind_daemon.py too): the admin token they
start relearnd with, a free loopback port, waiting for a server to answer, a
server process that is always stopped, checking an HTTP answer, running a
batch job to its end, writing the results file and the work directory's end.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

TOKEN = "bench-admin-token-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


class Proc:
    """A server process that is always stopped. Its output goes to the file
    log (replaced, or appended to with append=True), else nowhere."""

    def __init__(self, args, env=None, log=None, append=False):
        self.log = open(log, "a" if append else "w") if log else subprocess.DEVNULL
        self.p = subprocess.Popen(args, env=dict(os.environ, **(env or {})), stdout=self.log,
                                  stderr=self.log, start_new_session=True)

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()


def check(r, what):
    """r (a requests answer) when it succeeded, else a RuntimeError saying what failed."""
    if r.status_code >= 300:
        raise RuntimeError(f"{what}: {r.status_code} {r.text[:500]}")
    return r


def start_job(api, key, body, session=requests, timeout=300):
    """Creates and starts a batch job on the service at api (its ApiLocation);
    answers the job's id."""
    hdr = {"Authorization": "Bearer " + key}
    job = check(session.post(api + "/jobs?api-version=2.0", headers=hdr, json=body,
                             timeout=timeout), "job creation").json()
    check(session.post(f"{api}/jobs/{job}/start?api-version=2.0", headers=hdr, timeout=timeout),
          "job start")
    return job


def wait_job(api, key, job, session=requests, limit=600, poll=0.1, timeout=300):
    """Polls a started job until it ends (at most limit seconds); answers its
    final status, or a RuntimeError unless it Finished."""
    hdr = {"Authorization": "Bearer " + key}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        st = check(session.get(f"{api}/jobs/{job}?api-version=2.0", headers=hdr,
                               timeout=timeout), "job status").json()
        if st["StatusCode"] in ("Finished", "Failed", "Cancelled"):
            if st["StatusCode"] != "Finished":
                raise RuntimeError(f"job {job} ended {st['StatusCode']}: {st.get('Details')}")
            return st
        time.sleep(poll)
    raise RuntimeError(f"job {job} did not finish in {limit} s")


def run_job(api, key, body, session=requests, limit=600, poll=0.1, timeout=300):
    """start_job, then wait_job: the final status of a Finished job."""
    return wait_job(api, key, start_job(api, key, body, session, timeout), session, limit, poll,
                    timeout)


def write_results(results, name=None, out=None, suffix=""):
    """Writes results as JSON to out, or to bench/results/NAME-DATE[-SUFFIX].json;
    prints and answers the path."""
    path = Path(out) if out else Path(__file__).resolve().parent / "results" / \
        f"{name}-{time.strftime('%Y-%m-%d')}{'-' + suffix if suffix else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path}")
    return path


def end_workdir(tmp, keep, what="relearnd's data and log"):
    """Keeps tmp (saying so) when keep is true, else removes it."""
    if keep:
        print(f"{what} kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
