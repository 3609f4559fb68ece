"""relearnd loses nothing acknowledged and is never left broken by a crash.

- test_crash_short: the crash harness (crash_harness.py) with a few dozen
  SIGKILLs at random moments under a concurrent write load, then its
  invariants (store integrity, blobs whole, endpoints on an acknowledged or
  in-flight model, keys, jobs recovered); `make crash` runs the long version.
- test_harness_detects_damage: the harness is not blind: damage done to a
  stopped daemon's directory (a blob's bytes, a job's row) is reported.
- test_acknowledged_writes_are_synced: relearnd under strace; no 2xx answer
  and no metadata commit is sent before what it acknowledges was fsynced, and
  no file is renamed into place before its content was.
- test_concurrent_endpoint_changes_are_not_lost: regression test for a lost
  update the harness found (a settings change or one key's regeneration
  wrote back the endpoint row it had read before another change landed).
"""
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from conftest import SANITIZED, binary
from crash_harness import ADMIN, Harness, format_summary
from daemon_helpers import classic_body, csv_text_rows

SHORT_KILLS = int(os.environ.get("RELEARN_CRASH_KILLS", "30"))


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_crash_short(tmp_path):
    h = Harness(tmp_path / "crash", kills=SHORT_KILLS, log=lambda *a: None)
    s = h.run()
    print(format_summary(s))
    assert s["violations"] == [], format_summary(s)
    assert s["checks"]["start"] == SHORT_KILLS
    assert s["checks"]["store"] >= SHORT_KILLS
    assert s["acknowledged_total"] >= SHORT_KILLS  # the kills landed under load
    assert sum(s["in_flight_at_kill"].values()) >= SHORT_KILLS // 3
    for kind in ("blob", "model", "key", "job", "endpoint"):
        assert s["checks"].get(kind, 0) > 0, kind


def test_harness_detects_damage(tmp_path):
    done = {}

    def tamper(h, rnd):
        """Once an acknowledged blob and job exist: flip a byte of the blob's
        content and delete the job's row, in the stopped daemon's directory."""
        if done:
            return
        blob = next((b for b in h.blobs.values() if b.acked and not b.maybe), None)
        job = next((j for j in h.jobs.values()), None)
        if blob is None or job is None:
            return
        objects = [p for p in (h.data_dir / "blobs" / "objects").rglob(f"{blob.acked}-*")]
        assert len(objects) == 1, objects
        obj = objects[0]
        obj.chmod(0o644)
        data = bytearray(obj.read_bytes())
        if not data:
            return
        data[len(data) // 2] ^= 0xFF
        obj.write_bytes(bytes(data))
        obj.chmod(0o444)
        db = sqlite3.connect(h.data_dir / "meta.db")
        with db:
            assert db.execute("DELETE FROM job WHERE id = ?", (job.id,)).rowcount == 1
        db.close()
        done.update(round=rnd, blob=blob.name, job=job.id)

    h = Harness(tmp_path / "crash", kills=8, seed=11, drain_every=0, startup_kills=0,
                log=lambda *a: None, tamper=tamper)
    s = h.run()
    assert done, "no round had an acknowledged blob and job to damage"
    text = "\n".join(s["violations"])
    assert any(v.startswith(f"round {done['round']}: store:") for v in s["violations"]), text
    assert done["blob"] in text and "blob" in text, text
    assert f"acknowledged job {done['job']}" in text, text


# ---- acknowledgements follow fsync ----

LINE = re.compile(r"^(\d+) +(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
FD = re.compile(r"(-?\d+|AT_FDCWD)<([^>]*)>")


def check_sync_order(trace, data_dir):
    """Reads an `strace -f -y` log of relearnd and returns the breaches of:
    a file renamed into place before its content was fsynced; a 2xx answer,
    or a commit of the metadata database (fdatasync of its WAL), sent by a
    thread before the directory entries it changed (renames, new
    directories, deleted pointers) and the database pages it wrote were
    synced. Also returns how many answers and commits were checked."""
    data = str(data_dir)
    unsynced = set()  # files written (content) and not yet fsynced
    dirty = {}        # thread -> {path: what} not yet synced
    pending = {}      # thread -> the call line whose result is still to come
    breaches, answers, commits = [], 0, 0

    def synced(path):
        unsynced.discard(path)
        for d in dirty.values():
            d.pop(path, None)

    for raw in trace.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        tid, resumed, call, rest = m.group(1), m.group(2), m.group(3), m.group(4)
        if call and "<unfinished ...>" in rest:
            pending[tid] = (call, rest)
            # A send is ordered by its start: check it now.
            if call not in ("sendmsg", "sendto", "writev", "send", "write"):
                continue
        elif resumed:
            call, start = pending.pop(tid, (resumed, ""))
            rest = start.replace("<unfinished ...>", "") + rest
            if call in ("sendmsg", "sendto", "writev", "send", "write"):
                continue  # checked at its start
        if re.search(r"= -1 ", rest):
            continue
        fds = FD.findall(rest)
        mine = dirty.setdefault(tid, {})
        if call in ("write", "pwrite64", "writev") and fds and fds[0][1].startswith(data):
            path = fds[0][1]
            if path.endswith("-wal") or path.endswith("meta.db"):
                mine[path] = "database pages written"
            else:
                unsynced.add(path)
        elif call in ("fsync", "fdatasync") and fds:
            path = fds[0][1]
            if path.endswith("meta.db-wal"):
                commits += 1
                left = {p: w for p, w in mine.items() if p != path}
                if left:
                    breaches.append(f"thread {tid} committed with unsynced {left}: {raw}")
            synced(path)
        elif call in ("renameat", "renameat2") and len(fds) >= 2:
            names = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
            src = fds[0][1] + "/" + names[0]
            if src in unsynced:
                breaches.append(f"renamed before its content was synced: {raw}")
            unsynced.discard(src)
            mine[fds[1][1]] = f"rename of {names[1]}"
        elif call == "rename":
            names = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
            if names[0] in unsynced:
                breaches.append(f"renamed before its content was synced: {raw}")
            mine[os.path.dirname(names[1])] = f"rename of {names[1]}"
        elif call == "mkdirat" and fds and fds[0][1].startswith(data):
            mine[fds[0][1]] = "new directory"
        elif (call == "unlinkat" and fds and "/refs" in fds[0][1]
              and "AT_REMOVEDIR" not in rest):
            mine[fds[0][1]] = "deleted pointer"
        elif call in ("sendmsg", "sendto", "writev", "send", "write") and fds and \
                "socket:" in fds[0][1] and re.search(r'"HTTP/1\.[01] 2\d\d', rest):
            answers += 1
            left = {p: w for p, w in mine.items()}
            if left:
                breaches.append(f"thread {tid} answered 2xx with unsynced {left}: {raw[:200]}")
    return breaches, answers, commits


def tracee_pid(strace_pid, timeout=30):
    """relearnd's pid under strace: the child running relearnd, once it runs
    it (strace may fork short-lived probes of its own first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            kids = open(f"/proc/{strace_pid}/task/{strace_pid}/children").read().split()
        except OSError:
            kids = []
        for k in kids:
            try:
                argv0 = open(f"/proc/{k}/cmdline", "rb").read().split(b"\0")[0]
            except OSError:
                continue
            if argv0.endswith(b"/relearnd"):
                return int(k)
        time.sleep(0.05)
    raise AssertionError("strace did not start relearnd")


def test_acknowledged_writes_are_synced(tmp_path):
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (scripts/deps.sh installs it)")
    probe = subprocess.run(["strace", "-qq", "-o", "/dev/null", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr.decode()[:200]}")
    data = tmp_path / "data"
    log = tmp_path / "relearnd.log"
    trace = tmp_path / "trace"
    env = dict(os.environ, RELEARN_ADMIN_TOKEN=ADMIN)
    # LeakSanitizer cannot run under ptrace: it would fail relearnd's exit.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    calls = ("fsync,fdatasync,rename,renameat,renameat2,mkdirat,unlinkat,write,pwrite64,"
             "writev,sendmsg,sendto")
    with open(log, "w") as lf:
        # -q, not -qq: the trace ends with how relearnd ended.
        p = subprocess.Popen(["strace", "-f", "-y", "-q", "-s", "40", "-o", str(trace), "-e",
                              f"trace={calls}", binary("relearnd"), "--data-dir", str(data),
                              "--listen", "127.0.0.1:0", "--workers", "1"],
                             stdout=lf, stderr=lf, env=env)
    pid = tracee_pid(p.pid)
    try:
        deadline = time.monotonic() + 60
        while not (m := re.search(r"listening on [^:\s]+:(\d+)", log.read_text())):
            assert p.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        url = f"http://127.0.0.1:{m.group(1)}"
        s = requests.Session()
        adm = bearer(ADMIN)
        cli = binary("relearn")
        csv = tmp_path / "census.csv"
        subprocess.run([cli, "generate", "census", "--rows", "800", "--seed", "3", "--out",
                        str(csv)], check=True, capture_output=True)
        assert s.put(f"{url}/storage/data/census.csv", data=csv.read_bytes(),
                     headers=adm).status_code == 201
        for i in range(3):  # a new blob, an overwrite, a delete
            assert s.put(f"{url}/storage/crash/x.bin", data=os.urandom(70000 * (i + 1)),
                         headers=adm).status_code == 201
        assert s.delete(f"{url}/storage/crash/x.bin", headers=adm).status_code == 204
        r = s.post(f"{url}/workspaces/default/webservices", headers=adm, timeout=600,
                   json={"Name": "sync", "TrainingData": {"RelativeLocation": "data/census.csv"},
                         "Label": "income", "Learner": "two-class-boosted-decision-tree",
                         "Parameters": {"number-of-trees-constructed": 5}})
        assert r.status_code == 201, r.text
        pub = r.json()
        train, pred = pub["TrainingService"], pub["PredictiveService"]
        h = bearer(train["PrimaryKey"])
        api = url + "/" + train["ApiLocation"].split("/", 3)[3]
        jid = s.post(f"{api}/jobs?api-version=2.0", headers=h, json={
            "Inputs": {"input1": {"RelativeLocation": "data/census.csv"}},
            "Outputs": {"output1": {"RelativeLocation": "out/m.ilearner"}},
            "GlobalParameters": {}}).json()
        assert s.post(f"{api}/jobs/{jid}/start?api-version=2.0", headers=h).status_code == 204
        deadline = time.monotonic() + 120
        while (st := s.get(f"{api}/jobs/{jid}?api-version=2.0", headers=h).json())[
                "StatusCode"] not in ("Finished", "Failed"):
            assert time.monotonic() < deadline, st
            time.sleep(0.1)
        assert st["StatusCode"] == "Finished", st
        ep = f"{url}/workspaces/default/webservices/{pred['Id']}/endpoints"
        assert s.put(f"{ep}/e1", json={}, headers=adm).status_code == 201
        r = s.patch(f"{ep}/e1", headers=adm, json={"Resources": [{
            "Name": "sync [trained model]",
            "Location": {"RelativeLocation": "out/m.ilearner"}}]})
        assert r.status_code == 200, r.text
        assert s.post(f"{ep}/e1/regeneratekeys", json={"KeyName": "secondary"},
                      headers=adm).status_code == 200
        assert s.put(f"{url}/workspaces/w2", headers=adm).status_code == 201
    finally:
        gone = False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            gone = True
        p.wait(60)
    text = trace.read_text()
    ends = re.findall(rf"^{pid}\s+\+\+\+ (.*) \+\+\+$", text, re.M)  # pids are padded
    assert not gone, (f"relearnd ended before the test stopped it ({ends}); its log:\n"
                      + log.read_text()[-3000:] + "\ntrace:\n" + text[-3000:])
    assert ends == ["exited with 0"], ends
    breaches, answers, commits = check_sync_order(text, data)
    assert breaches == [], "\n".join(breaches[:20])
    assert answers >= 12 and commits >= 8, (answers, commits)


def test_sync_order_checker_sees_breaches(tmp_path):
    """The checker above fails on the orders it forbids."""
    d = str(tmp_path)
    good = (f'1 write(5<{d}/blobs/tmp/t>, "x", 1) = 1\n'
            f'1 fsync(5<{d}/blobs/tmp/t>) = 0\n'
            f'1 renameat(3<{d}/blobs/tmp>, "t", 4<{d}/blobs/refs/c>, "x%b") = 0\n'
            f'1 fsync(4<{d}/blobs/refs/c>) = 0\n'
            f'1 pwrite64(7<{d}/meta.db-wal>, "", 24, 0) = 24\n'
            f'1 fdatasync(7<{d}/meta.db-wal>) = 0\n'
            '1 sendmsg(9<socket:[1]>, {msg_iov=[{iov_base="HTTP/1.1 201 Created"}]}, 0) = 9\n')
    assert check_sync_order(good, d) == ([], 1, 1)
    lines = good.splitlines(keepends=True)
    unsynced_rename = lines[0] + lines[2] + lines[3] + lines[6]
    assert "before its content" in check_sync_order(unsynced_rename, d)[0][0]
    unsynced_dir = "".join(lines[:3]) + lines[6]
    assert "unsynced" in check_sync_order(unsynced_dir, d)[0][0]
    unsynced_wal = lines[4] + lines[6]
    assert "unsynced" in check_sync_order(unsynced_wal, d)[0][0]
    commit_first = "".join(lines[:3]) + "".join(lines[4:])
    assert "committed with unsynced" in check_sync_order(commit_first, d)[0][0]


# ---- a lost update found by the harness ----

def test_concurrent_endpoint_changes_are_not_lost(daemon_factory, tmp_path):
    """Key regenerations (primary and secondary) and settings changes of one
    endpoint, concurrently: every acknowledged change is what the endpoint
    has afterwards, also after a restart."""
    d = daemon_factory(env={"RELEARN_ADMIN_TOKEN": ADMIN})
    s = requests.Session()
    adm = bearer(ADMIN)
    csv = tmp_path / "census.csv"
    subprocess.run([binary("relearn"), "generate", "census", "--rows", "500", "--out", str(csv)],
                   check=True, capture_output=True)
    assert s.put(f"{d.url}/storage/data/census.csv", data=csv.read_bytes(),
                 headers=adm).status_code == 201
    r = s.post(f"{d.url}/workspaces/default/webservices", headers=adm, timeout=600,
               json={"Name": "race", "TrainingData": {"RelativeLocation": "data/census.csv"},
                     "Label": "income", "Learner": "two-class-boosted-decision-tree",
                     "Parameters": {"number-of-trees-constructed": 5}})
    assert r.status_code == 201, r.text
    ep = f"{d.url}/workspaces/default/webservices/{r.json()['PredictiveService']['Id']}" \
         "/endpoints/e1"
    assert s.put(ep, json={}, headers=adm).status_code == 201
    last = {}
    rounds = 40 if SANITIZED else 120

    def regen(which):
        ss = requests.Session()
        for _ in range(rounds):
            r = ss.post(ep + "/regeneratekeys", json={"KeyName": which}, headers=adm)
            assert r.status_code == 200, r.text
            last[which] = r.json()["PrimaryKey" if which == "primary" else "SecondaryKey"]

    def settings():
        ss = requests.Session()
        rng = random.Random(1)
        for _ in range(rounds):
            n = rng.randrange(1, 100)
            r = ss.put(ep, json={"MaxConcurrentCalls": n}, headers=adm)
            assert r.status_code == 200, r.text
            last["mcc"] = n

    threads = [threading.Thread(target=regen, args=("primary",)),
               threading.Thread(target=regen, args=("secondary",)),
               threading.Thread(target=settings)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(last) == 3, "a thread failed"
    for restarted in (False, True):
        if restarted:
            d.restart()
        url = d.url + "/workspaces" + ep.split("/workspaces", 1)[1]
        got = requests.get(url, headers=adm).json()
        assert got["PrimaryKey"] == last["primary"], restarted
        assert got["SecondaryKey"] == last["secondary"], restarted
        assert got["MaxConcurrentCalls"] == last["mcc"], restarted
        execute = d.url + "/workspaces" + got["ApiLocation"].split("/workspaces", 1)[1] + \
            "/execute?api-version=2.0"
        for which in ("primary", "secondary"):
            r = requests.post(execute, json=classic_body(*csv_text_rows(csv, limit=1)),
                              headers=bearer(last[which]))
            assert r.status_code == 200, (which, restarted, r.text[:300])
