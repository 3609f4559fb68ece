"""The README's main command: scripts/serve.sh (what `make demo` runs) starts
relearnd, publishes the census example, prints a curl line that scores a row,
and stops cleanly on Ctrl-C."""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import BUILD, ROOT


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_a_working_curl_line_and_stops_on_ctrl_c(tmp_path):
    env = dict(os.environ, RELEARN_DEMO_DIR=str(tmp_path / "demo"),
               RELEARN_DEMO_PORT=str(free_port()))
    env.pop("RELEARN_ADMIN_TOKEN", None)
    build = os.path.relpath(BUILD, ROOT)
    out_path = tmp_path / "serve.out"

    def run_once():
        with open(out_path, "w") as out:
            p = subprocess.Popen([str(ROOT / "scripts" / "serve.sh"), build], cwd=ROOT, env=env,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while "Press Ctrl-C" not in out_path.read_text():
                assert p.poll() is None, out_path.read_text()
                assert time.monotonic() < deadline, out_path.read_text()
                time.sleep(0.2)
            text = out_path.read_text()
            curl = [line for line in text.splitlines() if line.startswith("curl ")][0]
            answer = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=60)
            result = json.loads(answer.stdout)
            row = result["Results"]["output1"]["value"]
            assert row["ColumnNames"][-2:] == ["Scored Labels", "Scored Probabilities"]
            assert row["Values"][0][-2] in ("<=50K", ">50K")
        finally:
            os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C does to the foreground group
            rc = p.wait(60)
        assert rc == 0, out_path.read_text()
        assert "relearnd: stopped" in (tmp_path / "demo" / "relearnd.log").read_text()
        return text

    first = run_once()
    assert "publishing the census example" in first
    # A second start finds the example published and serves it again.
    second = run_once()
    assert "publishing" not in second
