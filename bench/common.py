"""common.py - what the service benchmarks share (service.py, update.py,
endpoints.py): the admin token they start relearnd with, a free loopback
port, waiting for a server to answer, a server process that is always
stopped, and checking an HTTP answer.
"""
import os
import signal
import socket
import subprocess
import time

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
