"""Shared fixtures for relearn's black-box tests.

The binaries come from RELEARN_BUILD (default build/release), built by
`make` before the tests run (scripts/test.sh does it).
"""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RELEARN_BUILD", ROOT / "build" / "release"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
SANITIZED = os.environ.get("RELEARN_SANITIZED") == "1"


def binary(name):
    path = BUILD / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build it first (make MODE=... all)")
    return str(path)


class Cli:
    """Runs `relearn` and keeps what it printed."""

    def __init__(self, cwd):
        self.cwd = cwd
        self.bin = binary("relearn")

    def __call__(self, *args, ok=True, input=None, timeout=600, env=None):
        proc = subprocess.run([self.bin, *map(str, args)], cwd=self.cwd, input=input,
                              capture_output=True, text=True, timeout=timeout,
                              env=None if env is None else dict(os.environ, **env))
        if ok and proc.returncode != 0:
            raise AssertionError(f"relearn {' '.join(map(str, args))} exited "
                                 f"{proc.returncode}:\n{proc.stderr}")
        if SANITIZED:
            assert "runtime error" not in proc.stderr, proc.stderr
            assert "AddressSanitizer" not in proc.stderr, proc.stderr
            assert "LeakSanitizer" not in proc.stderr, proc.stderr
            assert "ThreadSanitizer" not in proc.stderr, proc.stderr
        return proc


@pytest.fixture
def cli(tmp_path):
    return Cli(tmp_path)


@pytest.fixture(scope="session")
def census(tmp_path_factory):
    """A census-like CSV (5,000 rows) and a shifted one, made once."""
    d = tmp_path_factory.mktemp("census")
    c = Cli(d)
    c("generate", "census", "--rows", 5000, "--seed", 7, "--out", d / "census.csv")
    c("generate", "census", "--rows", 5000, "--seed", 8, "--shift", 1,
      "--out", d / "shifted.csv")
    return d


class Daemon:
    """A real relearnd on 127.0.0.1 (any free port) with its own data directory.

    start() waits for its "listening on HOST:PORT" line; url and token are then
    set (the token is RELEARN_ADMIN_TOKEN if given in env, else DIR/admin-token).
    stop() sends SIGTERM and waits (SIGKILL after 30 s); the log (standard error)
    stays readable with log().
    """

    def __init__(self, data_dir, args=(), env=None):
        self.data_dir = Path(data_dir)
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.log_path = self.data_dir.parent / (self.data_dir.name + ".log")
        self.proc = None
        self.url = None
        self.port = None
        self.token = None

    def start(self, timeout=30):
        import re
        import time
        # Only this run's lines count: after a restart the log holds the old
        # "listening on" line (and port) too.
        offset = len(self.log())
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [binary("relearnd"), "--data-dir", str(self.data_dir),
             "--listen", "127.0.0.1:0", *self.args],
            stdout=log, stderr=log, env=self.env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"listening on [^:\s]+:(\d+)", self.log()[offset:])
            if m:
                self.port = int(m.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                self.token = self.env.get("RELEARN_ADMIN_TOKEN") or \
                    (self.data_dir / "admin-token").read_text().strip()
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"relearnd exited {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"relearnd did not start in {timeout} s:\n{self.log()}")

    def stop(self, timeout=30):
        """Stops it (SIGTERM) and returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc, self.proc = self.proc.returncode, None
        if SANITIZED:
            text = self.log()
            for marker in ["runtime error", "AddressSanitizer", "LeakSanitizer",
                           "ThreadSanitizer"]:
                assert marker not in text, text
        return rc

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@pytest.fixture
def daemon_factory(tmp_path_factory):
    """Starts relearnds with extra arguments: daemon_factory("--workers", 2).
    Every one is stopped when the test ends."""
    started = []

    def start(*args, env=None):
        d = Daemon(tmp_path_factory.mktemp("relearnd") / "data", [str(a) for a in args], env)
        started.append(d)
        return d.start()

    yield start
    for d in started:
        d.stop()


@pytest.fixture
def daemon(daemon_factory):
    """A fresh relearnd with an empty data directory, stopped after the test."""
    return daemon_factory()
