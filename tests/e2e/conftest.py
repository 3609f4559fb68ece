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

    def __call__(self, *args, ok=True, input=None, timeout=600):
        proc = subprocess.run([self.bin, *map(str, args)], cwd=self.cwd, input=input,
                              capture_output=True, text=True, timeout=timeout)
        if ok and proc.returncode != 0:
            raise AssertionError(f"relearn {' '.join(map(str, args))} exited "
                                 f"{proc.returncode}:\n{proc.stderr}")
        if SANITIZED:
            assert "runtime error" not in proc.stderr, proc.stderr
            assert "AddressSanitizer" not in proc.stderr, proc.stderr
            assert "LeakSanitizer" not in proc.stderr, proc.stderr
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
