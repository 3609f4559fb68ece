"""End-to-end tests of the `relearn` commands that talk to relearnd: publish,
service, key, blob and job, against a real relearnd started here (conftest's
Daemon), and their failures: a daemon that is not running (exit 4), a wrong
token or key (exit 5), missing blobs, failed and cancelled jobs."""
import csv
import json
import os
import pty
import re
import socket
import subprocess

import pytest
import requests

from conftest import Cli, Daemon, binary


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    """One relearnd for the module, census-like data and a published service.
    Tests that change shared state (keys) publish their own service."""
    root = tmp_path_factory.mktemp("svc")
    d = Daemon(root / "data")
    d.start()
    try:
        c = Cli(root)
        c("generate", "census", "--rows", 1500, "--seed", 5, "--out", root / "census.csv")
        c("generate", "census", "--rows", 300, "--seed", 6, "--out", root / "new.csv")
        env = {"RELEARN_URL": d.url, "RELEARN_TOKEN": d.token}
        out = c("publish", "--name", "census", root / "census.csv", "--label", "income",
                "--learner", "two-class-logistic-regression", "--json", env=env)
        pub = json.loads(out.stdout)
        yield {"daemon": d, "root": root, "env": env, "pub": pub}
    finally:
        d.stop()


@pytest.fixture
def run(svc, tmp_path):
    """relearn with the module's daemon in RELEARN_URL / RELEARN_TOKEN."""
    c = Cli(tmp_path)

    def call(*args, ok=True, env=None, **kw):
        return c(*args, ok=ok, env=dict(svc["env"], **(env or {})), **kw)
    return call


def pred(svc):
    return svc["pub"]["PredictiveService"]


def train_svc(svc):
    return svc["pub"]["TrainingService"]


# ---- failures before and at the door ----

def test_daemon_not_running(cli):
    url = f"http://127.0.0.1:{closed_port()}"
    for args in [("service", "list"), ("blob", "ls", "data"),
                 ("job", "status", "x", "--service", "abc", "--key", "k")]:
        p = cli(*args, "--url", url, "--token", "t", ok=False)
        assert p.returncode == 4, p.stderr
        assert f"cannot reach relearnd at {url}: is it running?" in p.stderr
        assert "relearnd --data-dir DIR --listen HOST:PORT" in p.stderr
    # RELEARN_URL is read when --url is not given.
    p = cli("service", "list", ok=False, env={"RELEARN_URL": url, "RELEARN_TOKEN": "t"})
    assert p.returncode == 4 and url in p.stderr


def test_wrong_or_missing_token(run, svc):
    p = run("service", "list", "--token", "not-the-token", ok=False)
    assert p.returncode == 5, p.stderr
    assert "HTTP 401" in p.stderr and "--token or RELEARN_TOKEN" in p.stderr
    p = run("blob", "put", svc["root"] / "new.csv", "data/x.csv", ok=False,
            env={"RELEARN_TOKEN": "wrong"})
    assert p.returncode == 5, p.stderr
    p = run("service", "list", ok=False, env={"RELEARN_TOKEN": ""})
    assert p.returncode == 5
    assert "no workspace token" in p.stderr
    p = run("service", "list", "--url", "ftp://x", ok=False)
    assert p.returncode == 2 and "http://" in p.stderr


def test_help_everywhere(cli):
    for args in [("publish",), ("service",), ("service", "list"), ("service", "show"),
                 ("key",), ("key", "regenerate"), ("blob",), ("blob", "put"), ("blob", "get"),
                 ("blob", "ls"), ("blob", "rm"), ("blob", "sign"), ("job",),
                 ("job", "submit"), ("job", "start"), ("job", "status"), ("job", "cancel"),
                 ("job", "list"), ("job", "wait")]:
        p = cli(*args, "--help")
        assert p.stdout.startswith("usage: relearn " + args[0]), args
    p = cli("blob", "frob", ok=False)
    assert p.returncode == 2 and "unknown subcommand" in p.stderr
    p = cli("publish", "--name", "x", "data.txt", "--label", "y", ok=False)
    assert p.returncode == 2 and ".csv, .tsv or .arff" in p.stderr
    p = cli("job", "status", "x", ok=False)
    assert p.returncode == 2 and "--service" in p.stderr


# ---- publish, service, key ----

def test_publish_answer(svc):
    pub = svc["pub"]
    p, t = pred(svc), train_svc(svc)
    assert p["Kind"] == "predictive" and t["Kind"] == "training"
    assert p["Name"] == "census"
    for s in (p, t):
        assert s["Id"] and s["PrimaryKey"] and s["SecondaryKey"]
        assert s["ApiLocation"].startswith(svc["daemon"].url)
    assert pub["Evaluation"]["AUC"] > 0.75


def test_publish_human_and_errors(run, svc, tmp_path):
    out = run("publish", "--name", "Census Two!", svc["root"] / "census.csv", "--label",
              "income", "--learner", "two-class-boosted-decision-tree", "--param",
              "number-of-trees-constructed=10", "--description", "second").stdout
    assert "predictive service" in out and "training service" in out
    assert re.search(r"PrimaryKey +\S+", out)
    assert "AUC" in out
    m = re.search(r"training data (data/census-two-[0-9a-f]{16}\.csv)", out)
    assert m, out
    # The training data is in the store, under a name-based path.
    ls = json.loads(run("blob", "ls", "data", "--json").stdout)
    assert any(b["Name"].endswith(m.group(1).split("/", 1)[1]) for b in ls)

    # Refused before anything is sent: unknown learner, bad parameter.
    p = run("publish", "--name", "x", svc["root"] / "census.csv", "--label", "income",
            "--learner", "no-such-learner", ok=False)
    assert p.returncode == 2 and "no-such-learner" in p.stderr
    p = run("publish", "--name", "x", svc["root"] / "census.csv", "--label", "income",
            "--learner", "two-class-logistic-regression", "--param", "bogus=1", ok=False)
    assert p.returncode == 2 and "bogus" in p.stderr
    # A label that is not a column: relearnd says so (400 -> exit 2), and the
    # upload of the failed publish is removed.
    before = run("blob", "ls", "data", "--json").stdout
    p = run("publish", "--name", "bad", svc["root"] / "census.csv", "--label", "no_such_col",
            ok=False)
    assert p.returncode == 2, p.stderr
    assert "no_such_col" in p.stderr and "HTTP 400" in p.stderr
    assert run("blob", "ls", "data", "--json").stdout == before
    # A missing data file.
    p = run("publish", "--name", "x", tmp_path / "missing.csv", "--label", "income", ok=False)
    assert p.returncode == 4 and "missing.csv" in p.stderr


def test_publish_experiment(run, svc, tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    example = os.path.join(root, "examples", "census-training.json")
    if not os.path.exists(example):
        pytest.skip("examples/census-training.json is missing")
    out = run("publish", "--experiment", example, "--name", "census-exp",
              svc["root"] / "census.csv", "--json").stdout
    pub = json.loads(out)
    assert pub["PredictiveService"]["Name"] == "census-exp"
    assert pub["PredictiveService"]["PrimaryKey"]
    # A broken experiment is refused here, before the upload.
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "relearn-experiment", "version": 1, "nodes": [{"id": "x", '
                   '"module": "No Such Module"}], "edges": []}')
    p = run("publish", "--experiment", bad, "--name", "bad", svc["root"] / "census.csv",
            ok=False)
    assert p.returncode != 0 and "No Such Module" in p.stderr
    (tmp_path / "notjson.json").write_text("{")
    p = run("publish", "--experiment", tmp_path / "notjson.json", "--name", "bad",
            svc["root"] / "census.csv", ok=False)
    assert p.returncode == 3 and "notjson.json:1" in p.stderr


def test_service_list_show(run, svc):
    rows = json.loads(run("service", "list", "--json").stdout)
    ids = {r["Id"]: r for r in rows}
    assert ids[pred(svc)["Id"]]["Kind"] == "predictive"
    assert ids[train_svc(svc)["Id"]]["Kind"] == "training"
    human = run("service", "list").stdout
    assert pred(svc)["Id"] in human and "census" in human

    show = json.loads(run("service", "show", pred(svc)["Id"], "--json").stdout)
    assert show["Id"] == pred(svc)["Id"]
    ep = show["Endpoints"][0]
    assert ep["Name"] == "default"
    assert ep["ApiLocation"] == pred(svc)["ApiLocation"]
    assert ep["Resources"] and ep["Resources"][0]["Kind"] == "TrainedModel"
    human = run("service", "show", pred(svc)["Id"]).stdout
    assert "endpoint default" in human and ep["PrimaryKey"] in human

    p = run("service", "show", "0" * 32, ok=False)
    assert p.returncode == 4 and "HTTP 404" in p.stderr
    p = run("service", "list", "--workspace", "nosuchws", ok=False)
    assert p.returncode in (4, 5), p.stderr


def test_key_regenerate(run, svc, tmp_path):
    pub = json.loads(run("publish", "--name", "keys", svc["root"] / "census.csv", "--label",
                         "income", "--learner", "two-class-logistic-regression",
                         "--json").stdout)
    s = pub["PredictiveService"]
    old = s["PrimaryKey"]
    run("job", "list", "--service", s["ApiLocation"], "--key", old)
    out = run("key", "regenerate", s["Id"]).stdout
    new = out.strip().splitlines()[-1]
    assert new and new != old
    # The old key stops working at once; the new one works.
    p = run("job", "list", "--service", s["ApiLocation"], "--key", old, ok=False)
    assert p.returncode == 5, p.stderr
    assert "--key or RELEARN_KEY" in p.stderr
    run("job", "list", "--service", s["ApiLocation"], "--key", new)
    ep = json.loads(run("key", "regenerate", s["Id"], "--which", "secondary",
                        "--endpoint", "default", "--json").stdout)
    assert ep["SecondaryKey"] != s["SecondaryKey"] and ep["PrimaryKey"] == new
    p = run("key", "regenerate", s["Id"], "--which", "tertiary", ok=False)
    assert p.returncode == 2
    p = run("key", "regenerate", s["Id"], "--endpoint", "nosuch", ok=False)
    assert p.returncode == 4


# ---- blob ----

def test_blob_roundtrip(run, svc, tmp_path):
    src = tmp_path / "my file.csv"
    # 6 MB: several read and write chunks.
    src.write_bytes(b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(500000)))
    put = json.loads(run("blob", "put", src, "up-test/dir one/my file.csv", "--json").stdout)
    assert put
    assert "uploaded" in run("blob", "put", src, "/up-test/two.csv").stdout

    run("blob", "get", "up-test/dir one/my file.csv", tmp_path / "back.csv")
    assert (tmp_path / "back.csv").read_bytes() == src.read_bytes()
    out = run("blob", "get", "up-test/two.csv", "-").stdout
    assert out == src.read_text()
    # Default LOCAL: the blob's file name in the current directory.
    info = json.loads(run("blob", "get", "up-test/two.csv", "--json").stdout)
    assert info["Local"] == "two.csv" and info["Size"] == src.stat().st_size
    assert (tmp_path / "two.csv").read_bytes() == src.read_bytes()

    names = [b["Name"] for b in json.loads(run("blob", "ls", "up-test", "--json").stdout)]
    assert len(names) == 2
    names = json.loads(run("blob", "ls", "up-test/dir", "--json").stdout)
    assert len(names) == 1 and names[0]["Name"].endswith("my file.csv")
    assert names[0]["Size"] == src.stat().st_size
    assert "my file.csv" in run("blob", "ls", "up-test").stdout

    # A signed URL reads without the token, and only that blob.
    url = run("blob", "sign", "up-test/dir one/my file.csv", "--expiry-seconds", 60).stdout.strip()
    assert url.startswith(svc["daemon"].url + "/storage/up-test/dir%20one/my%20file.csv?")
    r = requests.get(url)
    assert r.status_code == 200 and r.content == src.read_bytes()
    assert requests.get(url.replace("my%20file", "other")).status_code in (401, 403, 404)
    tok = json.loads(run("blob", "sign", "up-test/new.csv", "--permissions", "w",
                         "--json").stdout)["SasBlobToken"]
    r = requests.put(svc["daemon"].url + "/storage/up-test/new.csv" + tok, data=b"x,y\n1,2\n")
    assert r.status_code == 201
    assert run("blob", "get", "up-test/new.csv", "-").stdout == "x,y\n1,2\n"

    assert run("blob", "rm", "up-test/two.csv").stdout.startswith("deleted")
    assert json.loads(run("blob", "rm", "up-test/new.csv", "--json").stdout)["Deleted"]
    p = run("blob", "get", "up-test/two.csv", tmp_path / "two.csv", ok=False)
    assert p.returncode == 4 and "HTTP 404" in p.stderr
    # The failed download left the earlier file alone.
    assert (tmp_path / "two.csv").read_bytes() == src.read_bytes()
    p = run("blob", "rm", "up-test/two.csv", ok=False)
    assert p.returncode == 4


def test_upload_over_limit(daemon_factory, cli, tmp_path):
    """relearnd refuses a too large upload before reading it (413 -> exit 1)."""
    d = daemon_factory("--max-upload", 1024)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a\n" + b"1\n" * 1000000)
    p = cli("blob", "put", big, "data/big.csv", "--url", d.url, "--token", d.token, ok=False)
    assert p.returncode == 1, p.stderr
    assert "HTTP 413" in p.stderr and "--max-upload" in p.stderr
    small = tmp_path / "small.csv"
    small.write_bytes(b"a\n1\n")
    cli("blob", "put", small, "data/small.csv", "--url", d.url, "--token", d.token)


def test_blob_errors(run, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("a\n1\n")
    p = run("blob", "put", f, "Bad_Container/x.csv", ok=False)
    assert p.returncode == 2 and "HTTP 400" in p.stderr
    p = run("blob", "put", f, "nocontainer", ok=False)
    assert p.returncode == 2 and "CONTAINER/PATH" in p.stderr
    p = run("blob", "put", tmp_path / "missing.csv", "data/x.csv", ok=False)
    assert p.returncode == 4 and "missing.csv" in p.stderr
    p = run("blob", "put", f, "data/a/../../etc/passwd", ok=False)
    assert p.returncode == 2
    p = run("blob", "sign", "data/x.csv", "--permissions", "q", ok=False)
    assert p.returncode == 2
    p = run("blob", "get", "data/x.csv", "-", "--json", ok=False)
    assert p.returncode == 2


# ---- jobs ----

def read_csv_rows(text):
    return list(csv.reader(text.splitlines()))


def test_job_score_flow(run, svc, tmp_path):
    run("blob", "put", svc["root"] / "new.csv", "inputs/new.csv")
    api = pred(svc)["ApiLocation"]
    key = pred(svc)["PrimaryKey"]
    job = run("job", "submit", api, "--key", key, "--input", "input1=inputs/new.csv",
              "--output", "output1=results/scored.csv").stdout.strip()
    assert re.fullmatch(r"\S+", job)
    st = json.loads(run("job", "status", job, "--service", api, "--key", key, "--json").stdout)
    assert st["StatusCode"] == "NotStarted"
    assert f"job {job}: NotStarted" in run("job", "status", job, "--service", api,
                                           "--key", key).stdout
    # A job that is never started times out waiting.
    p = run("job", "wait", job, "--service", api, "--key", key, "--timeout", "0.5", ok=False)
    assert p.returncode == 1 and "still NotStarted" in p.stderr

    run("job", "start", job, "--service", api, "--key", key)
    p = run("job", "wait", job, "--service", api, "--key", key, "--json", "--interval", "0.1")
    final = json.loads(p.stdout)
    assert final["StatusCode"] == "Finished"
    assert final["Results"]["output1"]["RelativeLocation"] == "results/scored.csv"
    # Not a terminal: plain progress lines, ending with Finished 100%.
    assert p.stderr.strip().splitlines()[-1] == f"job {job}: Finished 100%"
    assert "\r" not in p.stderr

    rows = read_csv_rows(run("blob", "get", "results/scored.csv", "-").stdout)
    assert rows[0][-2:] == ["Scored Labels", "Scored Probabilities"]
    assert len(rows) == 301
    # The result's signed URL works without credentials.
    r = final["Results"]["output1"]
    got = requests.get(r["BaseLocation"] + r["RelativeLocation"] + r["SasBlobToken"])
    assert got.status_code == 200 and got.text.splitlines()[0].endswith("Scored Probabilities")

    listed = json.loads(run("job", "list", "--service", api, "--key", key, "--json").stdout)
    assert job in [j["Id"] for j in listed]
    assert job in run("job", "list", "--service", api, "--key", key).stdout
    # Finished jobs cannot be cancelled (409 -> exit 1).
    p = run("job", "cancel", job, "--service", api, "--key", key, ok=False)
    assert p.returncode == 1 and "HTTP 409" in p.stderr


def test_job_by_id_local_input_and_env_key(run, svc, tmp_path):
    """A bare service id (key looked up with the token), --input NAME=@FILE,
    --start, and RELEARN_KEY."""
    sid = pred(svc)["Id"]
    out = run("job", "submit", sid, "--input", f"input1=@{svc['root'] / 'new.csv'}", "--start",
              "--json")
    sub = json.loads(out.stdout)
    assert sub["Started"] is True and sub["ApiLocation"] == pred(svc)["ApiLocation"]
    m = re.search(r"uploaded \S+ to (jobs/[0-9a-f]{16}/input1\.csv)", out.stderr)
    assert m, out.stderr
    run("job", "wait", sub["Id"], "--service", sid)
    st = json.loads(run("job", "status", sub["Id"], "--service", pred(svc)["ApiLocation"],
                        "--json", env={"RELEARN_KEY": pred(svc)["PrimaryKey"],
                                       "RELEARN_TOKEN": ""}).stdout)
    assert st["StatusCode"] == "Finished"
    # Outputs left out go to jobs/JOB/output1.csv.
    assert st["Results"]["output1"]["RelativeLocation"].startswith("jobs/")
    # Without a key or a token there is nothing to authenticate with.
    p = run("job", "status", sub["Id"], "--service", sid, ok=False,
            env={"RELEARN_TOKEN": "", "RELEARN_KEY": ""})
    assert p.returncode == 5 and "--key" in p.stderr
    # The training service's key does not open the predictive service.
    p = run("job", "list", "--service", pred(svc)["ApiLocation"], "--key",
            train_svc(svc)["PrimaryKey"], ok=False)
    assert p.returncode == 5


def test_job_retrain(run, svc):
    """A training service's job retrains: a new model and its evaluation."""
    api = train_svc(svc)["ApiLocation"]
    job = run("job", "submit", api, "--key", train_svc(svc)["PrimaryKey"], "--input",
              f"input1=@{svc['root'] / 'census.csv'}", "--output",
              "output1=retrain/model.ilearner", "--output", "output2=retrain/eval.json",
              "--start").stdout.strip()
    out = run("job", "wait", job, "--service", api, "--key", train_svc(svc)["PrimaryKey"]).stdout
    assert "Finished" in out and "retrain/model.ilearner" in out
    ev = json.loads(run("blob", "get", "retrain/eval.json", "-").stdout)
    assert ev["AUC"] > 0.75


def test_job_failed_and_cancelled(run, svc, tmp_path):
    api, key = pred(svc)["ApiLocation"], pred(svc)["PrimaryKey"]
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,4\n")
    p = run("job", "submit", api, "--key", key, "--input", f"input1=@{bad}", "--start", ok=False)
    if p.returncode == 0:
        # Accepted, then failed when run: wait says why and exits non-zero.
        job = p.stdout.strip()
        w = run("job", "wait", job, "--service", api, "--key", key, "--json", ok=False)
        assert w.returncode == 1
        assert json.loads(w.stdout)["StatusCode"] == "Failed"
        assert "failed:" in w.stderr and "age" in w.stderr
    else:
        # Refused at submission, with the missing columns named.
        assert p.returncode == 2 and "age" in p.stderr

    run("blob", "put", svc["root"] / "new.csv", "inputs/cancel.csv")
    job = run("job", "submit", api, "--key", key, "--input",
              "input1=inputs/cancel.csv").stdout.strip()
    assert f"cancelled job {job}" in run("job", "cancel", job, "--service", api,
                                         "--key", key).stdout
    w = run("job", "wait", job, "--service", api, "--key", key, ok=False)
    assert w.returncode == 1 and "cancelled" in w.stderr

    p = run("job", "status", "nosuchjob", "--service", api, "--key", key, ok=False)
    assert p.returncode == 4
    p = run("job", "submit", api, "--key", key, "--input", "input1=inputs/none.csv", "--start",
            ok=False)
    if p.returncode == 0:
        w = run("job", "wait", p.stdout.strip(), "--service", api, "--key", key, ok=False)
        assert w.returncode == 1
    else:
        assert p.returncode in (2, 4)
    p = run("job", "submit", api, "--key", key, "--input", "input1=@", ok=False)
    assert p.returncode == 2


def test_job_wait_progress_bar_on_terminal(svc, tmp_path):
    """On a terminal, wait redraws one line with \\r: [####---]  NN%  STATUS."""
    d = svc["daemon"]
    api, key = pred(svc)["ApiLocation"], pred(svc)["PrimaryKey"]
    c = Cli(tmp_path)
    c("blob", "put", svc["root"] / "new.csv", "inputs/tty.csv", env=svc["env"])
    job = c("job", "submit", api, "--key", key, "--input", "input1=inputs/tty.csv", "--start",
            env=svc["env"]).stdout.strip()
    master, slave = pty.openpty()
    proc = subprocess.Popen([binary("relearn"), "job", "wait", job, "--service", api,
                             "--key", key, "--url", d.url], stdout=subprocess.PIPE,
                            stderr=slave, cwd=tmp_path)
    os.close(slave)
    out, _ = proc.communicate(timeout=300)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    assert proc.returncode == 0
    text = tty.decode()
    assert "\r[" in text
    assert re.search(r"\[#{20}\] 100%  Finished", text), text
    assert b"Finished" in out
