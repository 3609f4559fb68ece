"""Parity with scikit-learn / XGBoost: tests/parity/compare.py --quick must pass.

The comparison trains each quick (dataset, learner) pair with relearn's CLI and
with the Python library on the same split and preprocessing, and fails when a
metric differs by more than its tolerance (see compare.py).
"""
import os
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT

COMPARE = ROOT / "tests" / "parity" / "compare.py"


def test_quick_parity(tmp_path):
    relearn = BUILD / "relearn"
    if not relearn.exists():
        pytest.skip(f"{relearn} is missing: build it first (make MODE=... all)")
    env = dict(os.environ, RELEARN_BIN=str(relearn))
    env.pop("RELEARN_GEN", None)  # the census data comes from `relearn generate`
    proc = subprocess.run([sys.executable, str(COMPARE), "--quick", "--json",
                           str(tmp_path / "parity.json")],
                          capture_output=True, text=True, env=env, timeout=1800)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"compare.py --quick exited {proc.returncode}:\n{report}"
    assert "FAIL" not in proc.stdout, report
    assert (tmp_path / "parity.json").exists()
