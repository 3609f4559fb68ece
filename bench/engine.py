"""engine.py - the training engine's benchmarks: relearn beside its Python peer.

For each size of census-like data (`relearn generate census`) it measures, in
one run and on the same files, the median of N repetitions of:

  ingest      CSV parse from memory: relearn's reader (bench/ingest.c, which
              loads the file and times rl_table_read_mem N times in one
              process) vs pandas.read_csv(BytesIO) N times in this one; MB/s
              and rows/s. The CSV writers the same way (rl_table_write_buf vs
              DataFrame.to_csv to a string).
  train       each learner kind with a Python peer: `relearn train` wall time
              from process start to exit (CSV read, Clean Missing Data,
              normalization for linear learners, fit, model file written) vs
              the peer in a warm Python process (pandas read_csv, the same
              preprocessing, fit; no interpreter start-up or imports counted).
  score       batch scoring end to end, as rows/s, for the two-class boosted
              tree and logistic regression models trained above: read the CSV
              file, replay the preprocessing, predict, write the scored CSV
              file. The peer (pandas read_csv + preprocessing + predict_proba +
              to_csv) runs in a warm Python process with its model in memory,
              so relearn is timed the same way, in one process with the model
              loaded once (bench/score.c over librelearn.a: the code `relearn
              score` runs). A second row gives `relearn score`'s wall time,
              process start and model load included.

Labels: income (two-class), relationship (multiclass: 6 classes), age
(regression: the most predictable numeric column, from marital status,
relationship and education; hours-per-week has little signal and a spike at 40).

Every ratio is stated so that higher favours relearn: throughput relearn/peer,
times peer/relearn ("speed-up").

Peers: the mapping in tests/parity/compare.py (and src/learners/*.c) plus the
SVM and forests below. XGBoost uses every core on both sides.
"""
import io
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "parity"))
import compare  # noqa: E402  (the peer pipeline and learner mapping)
from common import write_results  # noqa: E402

# learner -> (label, task, linear?, relearn --param, peer factory)
FOREST = {
    "number-of-decision-trees": 8,
    "maximum-depth-of-the-decision-trees": 32,
    "minimum-number-of-samples-per-leaf-node": 1,
    "sampling-fraction": 0.632,
    "feature-fraction": 0.8,
    "random-number-seed": 0,
    "max-bin": 256,
}


def peer_forest(p, task):
    import xgboost
    return xgboost.XGBRFClassifier(
        tree_method="hist", n_estimators=int(p["number-of-decision-trees"]),
        max_depth=int(p["maximum-depth-of-the-decision-trees"]),
        min_child_weight=float(p["minimum-number-of-samples-per-leaf-node"]),
        subsample=float(p["sampling-fraction"]), colsample_bynode=float(p["feature-fraction"]),
        random_state=int(p["random-number-seed"]), max_bin=int(p["max-bin"]))


SVM = {"cost": 1.0, "optimization-tolerance": 1e-4}


def peer_svm(p, task):
    # src/learners/liblinear.c: L2R_L2LOSS_SVC_DUAL, bias 1.
    from sklearn.svm import LinearSVC
    return LinearSVC(loss="squared_hinge", dual=True, C=float(p["cost"]),
                     tol=float(p["optimization-tolerance"]), intercept_scaling=1.0)


LEARNERS = {
    "two-class-logistic-regression": ("income",) + compare.LEARNERS[
        "two-class-logistic-regression"],
    "two-class-support-vector-machine": ("income", "binary", True, SVM, peer_svm),
    "two-class-boosted-decision-tree": ("income",) + compare.LEARNERS[
        "two-class-boosted-decision-tree"],
    "two-class-decision-forest": ("income", "binary", False, FOREST, peer_forest),
    "multiclass-logistic-regression": ("relationship",) + compare.LEARNERS[
        "multiclass-logistic-regression"],
    "multiclass-boosted-decision-tree": ("relationship",) + compare.LEARNERS[
        "multiclass-boosted-decision-tree"],
    "multiclass-decision-forest": ("relationship", "multiclass", False, FOREST, peer_forest),
    "linear-regression": ("age",) + compare.LEARNERS["linear-regression"],
    "boosted-decision-tree-regression": ("age",) + compare.LEARNERS[
        "boosted-decision-tree-regression"],
}
SCORED = ["two-class-boosted-decision-tree", "two-class-logistic-regression"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def makefile_libs():
    """The link flags of the Makefile's LIBS, so bench programs link as relearn does."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    m = re.search(r"^LIBS\s*:?=\s*(.*)$", text, re.M)
    if not m:
        raise SystemExit("bench: no LIBS line in the Makefile")
    return m.group(1).split()


def build_tool(build, name):
    """Compiles bench/NAME.c against BUILD/librelearn.a when missing or stale."""
    src, lib = ROOT / "bench" / f"{name}.c", build / "librelearn.a"
    out = build / "bench" / name
    if not lib.exists():
        raise SystemExit(f"bench: {lib} is missing; run make first")
    newest = max(p.stat().st_mtime for p in (src, lib, ROOT / "bench" / "bench.h"))
    if out.exists() and out.stat().st_mtime > newest:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-std=c11", "-D_GNU_SOURCE", "-O2", "-pthread", "-Isrc", "-isystem",
           "/usr/include/xgboost", str(src), str(lib), *makefile_libs(), "-o", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return out


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode:
        raise RuntimeError(f"`{' '.join(map(str, cmd))}` exited {proc.returncode}: "
                           f"{proc.stderr.strip()[-600:]}")
    return proc


def timed(fn, runs):
    """Runs fn() `runs` times; returns (median seconds, all samples, last result)."""
    samples, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), samples, result


# At this many rows and more, training runs `big_runs` times (default 1) and,
# unless learners are named, the kinds whose peer takes minutes are left out:
# on 1,000,000 rows on two cores the peer's multiclass boosted tree took about
# 4.5 minutes and LinearSVC 6.75 (relearn's SVM: 16 s), which would push a
# default run past 15 minutes.
BIG_SKIPPED = ("multiclass", "two-class-support-vector-machine")
BIG = 500000


class Bench:
    def __init__(self, build, runs, sizes, workdir, only=None, learners=None, big_runs=1):
        self.build = Path(build)
        if not self.build.is_absolute():
            self.build = ROOT / self.build
        self.relearn = self.build / "relearn"
        self.runs = runs
        self.sizes = sizes
        self.work = Path(workdir)
        self.only = only
        self.learners = learners or list(LEARNERS)
        self.named_learners = bool(learners)
        self.big_runs = big_runs
        self.rows = []
        self.files = {}

    # ---- data ----

    def data(self, rows, seed):
        key = (rows, seed)
        if key not in self.files:
            out = self.work / f"census-{rows}-{seed}.csv"
            gen = os.environ.get("RELEARN_GEN")
            if gen:
                run([gen, rows, seed, 0, out])
            else:
                run([self.relearn, "generate", "census", "--rows", rows, "--seed", seed,
                     "--out", out])
            self.files[key] = out
        return self.files[key]

    def add(self, bench, rows, unit, relearn, peer, higher_better, r_samples, p_samples,
            note=""):
        ratio = relearn / peer if higher_better else peer / relearn
        row = dict(benchmark=bench, rows=rows, unit=unit, relearn=relearn, peer=peer,
                   ratio=ratio, ratio_means=("relearn/peer" if higher_better
                                             else "peer/relearn (speed-up)"),
                   relearn_samples=r_samples, peer_samples=p_samples, note=note,
                   load_average=round(os.getloadavg()[0], 2))
        self.rows.append(row)
        log(f"  {bench:<58} {rows:>9,}  relearn {fmt(relearn)} {unit}  peer {fmt(peer)} "
            f"{unit}  ratio {ratio:.2f}")

    # ---- (a) ingest ----

    def ingest(self, rows):
        path = self.data(rows, 1)
        tool = build_tool(self.build, "ingest")
        size = path.stat().st_size
        # Both sides in one warm process, repeated: the peer's pandas calls
        # run one after another in this interpreter, and bench/ingest parses
        # the same bytes self.runs times (a fresh process's first parse also
        # pays for faulting in its memory, which varies from run to run).
        data = path.read_bytes()
        out = run([tool, path, self.runs]).stdout
        r_s = [float(x) for x in re.findall(r"^read run: ([\d.]+)$", out, re.M)]
        w_s = [float(x) for x in re.findall(r"^write run: ([\d.]+)$", out, re.M)]
        m = re.search(r"^written bytes: (\d+)$", out, re.M)
        if len(r_s) != self.runs or len(w_s) != self.runs or not m:
            raise RuntimeError(f"bench/ingest printed something unexpected:\n{out}")
        out_bytes = int(m.group(1))
        reads = [size / 1e6 / s for s in r_s]
        writes = [out_bytes / 1e6 / s for s in w_s]
        opts = dict(keep_default_na=False, na_values=["", "NA", "?"])
        pd_read, pd_read_s, df = timed(lambda: pd.read_csv(io.BytesIO(data), **opts), self.runs)
        pd_write, pd_write_s, text = timed(lambda: df.to_csv(index=False), self.runs)
        mb = size / 1e6
        r_read = statistics.median(reads)
        self.add("CSV read, MB/s (from memory)", rows, "MB/s", r_read, mb / pd_read, True,
                 reads, [mb / s for s in pd_read_s], "rl_table_read_mem vs pandas.read_csv")
        self.add("CSV read, rows/s", rows, "rows/s", r_read / mb * rows, rows / pd_read, True,
                 [r / mb * rows for r in reads], [rows / s for s in pd_read_s])
        out_mb = len(text) / 1e6
        self.add("CSV write, MB/s (to memory)", rows, "MB/s", statistics.median(writes),
                 out_mb / pd_write, True, writes, [out_mb / s for s in pd_write_s],
                 "rl_table_write_buf vs DataFrame.to_csv")

    # ---- (b) training, (c) scoring ----

    def model_path(self, learner, rows):
        return self.work / f"{learner}-{rows}.ilearner"

    def train(self, rows, learner):
        label, task, linear, params, factory = LEARNERS[learner]
        runs = self.runs if rows < BIG else min(self.runs, self.big_runs)
        path = self.data(rows, 1)
        model = self.model_path(learner, rows)
        cmd = [self.relearn, "train", path, "--label", label, "--learner", learner,
               "--model-out", model, "--quiet"]
        for k, v in params.items():
            cmd += ["--param", f"{k}={v}"]
        r_med, r_samples, _ = timed(lambda: run(cmd), runs)

        def peer_fit():
            df = compare.read_csv(path)
            pipe = compare.Pipeline(df, label, linear)
            x = pipe.matrix(df)
            m = factory(params, task)
            classes = None
            if task == "regression":
                m.fit(x, df[label].to_numpy(float))
            else:
                classes = [str(c) for c in compare.sort_classes(df[label])]
                index = {c: i for i, c in enumerate(classes)}
                m.fit(x, np.array([index[str(v)] for v in df[label]]))
            return pipe, m, classes

        p_med, p_samples, fitted = timed(peer_fit, runs)
        self.add(f"train {learner}, s", rows, "s", r_med, p_med, False, r_samples, p_samples,
                 "relearn CLI wall time incl. CSV read; peer: read_csv+preprocess+fit in a "
                 "warm Python process")
        return fitted

    def score(self, rows, learner, fitted):
        path = self.data(rows, 2)
        model = self.model_path(learner, rows)
        out = self.work / f"scored-{learner}-{rows}.csv"
        r_med, r_samples, _ = timed(
            lambda: run([self.relearn, "score", model, path, "--out", out]), self.runs)
        # In one process, the model loaded once, as the peer is timed.
        tool = build_tool(self.build, "score")
        text = run([tool, model, path, out, self.runs]).stdout
        i_samples = [float(x) for x in re.findall(r"^run: ([\d.]+)$", text, re.M)]
        if len(i_samples) != self.runs:
            raise RuntimeError(f"bench/score printed something unexpected:\n{text}")
        i_med = statistics.median(i_samples)
        pipe, m, classes = fitted
        peer_out = self.work / f"peer-scored-{learner}-{rows}.csv"

        def peer_score():
            df = compare.read_csv(path)
            proba = m.predict_proba(pipe.matrix(df))[:, 1]
            df["Scored Labels"] = np.where(proba >= 0.5, classes[-1], classes[0])
            df["Scored Probabilities"] = proba
            df.to_csv(peer_out, index=False)

        p_med, p_samples, _ = timed(peer_score, self.runs)
        # The model library's predict alone, on the peer's matrix: both sides
        # call it, so no caller can beat the peer by more than the peer's
        # whole time over this one.
        x = pipe.matrix(compare.read_csv(path))
        lib_med, _, _ = timed(lambda: m.predict_proba(x), self.runs)
        ceiling = p_med / lib_med
        log(f"  (predict_proba alone: {lib_med:.3f} s of the peer's {p_med:.3f} s: at most "
            f"{ceiling:.1f}x for any caller of the same library)")
        self.add(f"score {learner}, rows/s", rows, "rows/s", rows / i_med, rows / p_med, True,
                 [rows / s for s in i_samples], [rows / s for s in p_samples],
                 "end to end in one warm process each: read CSV, pipeline, predict, write CSV "
                 "(bench/score.c vs pandas + scikit-learn/xgboost); the peer's predict_proba "
                 f"alone took {lib_med:.3f} s, so the same library caps the ratio at "
                 f"{ceiling:.1f}x")
        self.add(f"score {learner} via the CLI, rows/s", rows, "rows/s", rows / r_med,
                 rows / p_med, True, [rows / s for s in r_samples],
                 [rows / s for s in p_samples],
                 "`relearn score` wall time, incl. process start and model load; the peer "
                 "as above (its interpreter start and imports not counted)")

    def run_all(self):
        for rows in self.sizes:
            log(f"== {rows:,} rows")
            if not self.only or "ingest" in self.only:
                self.ingest(rows)
            fitted = {}
            if not self.only or "train" in self.only or "score" in self.only:
                for learner in self.learners:
                    if rows >= BIG and not self.named_learners and (
                            LEARNERS[learner][1] in BIG_SKIPPED or learner in BIG_SKIPPED):
                        continue
                    if self.only and "train" not in self.only and learner not in SCORED:
                        continue
                    fitted[learner] = self.train(rows, learner)
            if not self.only or "score" in self.only:
                for learner in SCORED:
                    if learner in fitted:
                        self.score(rows, learner, fitted[learner])
        return self.rows


def fmt(v):
    if v >= 1e5:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}" if v < 10 else f"{v:.1f}"


def machine():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sklearn
    import xgboost
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "pandas": pd.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "xgboost": xgboost.__version__}


def table(rows):
    lines = [f"{'benchmark':<58} {'rows':>9}  {'relearn':>11}  {'peer':>11}  {'ratio':>6}  "
             "ratio is"]
    for r in rows:
        lines.append(f"{r['benchmark']:<58} {r['rows']:>9,}  {fmt(r['relearn']):>11}  "
                     f"{fmt(r['peer']):>11}  {r['ratio']:>6.2f}  {r['ratio_means']}")
    return "\n".join(lines)


def warm_up():
    """Imports the peers' modules before any timing, so no import is measured."""
    import sklearn.linear_model  # noqa: F401
    import sklearn.svm  # noqa: F401
    import xgboost  # noqa: F401
    pd.read_csv(io.StringIO("a,b\n1,x\n"))


def main(args):
    # SIGTERM ends the run like Ctrl-C: what was measured is still reported.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    warm_up()
    work = Path(tempfile.mkdtemp(prefix="relearn-bench-", dir=args.tmp))
    bench = Bench(args.build, args.runs, args.rows, work, args.only, args.learners,
                  args.big_runs)
    if not bench.relearn.exists():
        raise SystemExit(f"bench: {bench.relearn} is missing; run make first")
    load_before = os.getloadavg()
    if load_before[0] > (os.cpu_count() or 1):
        log(f"bench: warning: load average {load_before[0]:.1f} on {os.cpu_count()} cores; "
            "other work will skew the timings")
    t0 = time.monotonic()
    stopped = None
    try:
        bench.run_all()
    except (KeyboardInterrupt, Exception) as e:  # report what was measured, then fail
        if not isinstance(e, KeyboardInterrupt):
            traceback.print_exc()
        stopped = f"{type(e).__name__}: {e}".rstrip(": ")
        log(f"bench: stopped early ({stopped}); reporting what was measured")
    finally:
        if not args.keep:
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
    rows = bench.rows
    elapsed = time.monotonic() - t0
    print(table(rows))
    print(f"\n{len(rows)} measurements, median of {args.runs} run(s) each (training on "
          f"{BIG:,}+ rows: {min(args.runs, args.big_runs)} run(s)), {elapsed:.0f} s in all"
          + (" -- INCOMPLETE" if stopped else ""))
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "complete": not stopped,
              "stopped": stopped, "runs": args.runs,
              "training_runs_at_or_above_%d_rows" % BIG: min(args.runs, args.big_runs),
              "sizes": args.rows, "machine": machine(), "seconds": round(elapsed, 1),
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "labels": {"binary": "income", "multiclass": "relationship", "regression": "age"},
              "notes": __doc__, "results": rows}
    write_results(result, out=args.out)
    return 1 if stopped else 0
