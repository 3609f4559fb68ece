#!/usr/bin/python3
"""compare.py - relearn against scikit-learn / XGBoost on the same data.

For each (dataset, learner) pair it writes one seeded train/test split as
train.csv and test.csv, then:

  relearn   `relearn train train.csv --label L --learner NAME [--param K=V]...
             --model-out m.ilearner`, `relearn score m.ilearner test.csv
             --out s.csv`, `relearn evaluate s.csv --label L --out e.json`;
  peer      the same two CSV files read with pandas, the same preprocessing as
            relearn's standard pipeline (Clean Missing Data fitted on train:
            numeric columns get the mean, string columns the mode; one-hot of
            string columns with the training levels in first-seen order,
            unseen levels all zeros; for linear learners the z-score of the
            numeric features with the training mean and population std, a
            constant column mapping to 0), then the Python library's model
            with the parameters the learner mapping below gives.

It prints one row per pair: dataset, learner, metric (AUC for two-class,
Overall accuracy for multiclass, R^2 and RMSE for regression), relearn's value,
the peer's value, the difference and PASS/FAIL against the tolerance (AUC
0.005, accuracy 0.01, R^2 0.005; RMSE is shown for information). It also
recomputes relearn's metric from relearn's scored file and fails a pair whose
`relearn evaluate` disagrees with that (by more than 1e-6). The exit status is
0 when every row passes, 1 otherwise, 2 when it cannot run at all.

Environment: RELEARN_BIN (default build/release/relearn); RELEARN_GEN, a
program called as `RELEARN_GEN ROWS SEED SHIFT OUT.csv` to make the census
data instead of `relearn generate census` (bench/gen_census.c).

Run with Debian's /usr/bin/python3 (pandas, scikit-learn, xgboost).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SEED = 1
TEST_FRACTION = 0.25
CENSUS_ROWS = 32561
QUICK_CENSUS_ROWS = 10000

# ---- learners: relearn's name, task, whether the pipeline normalizes, the
# relearn parameters passed explicitly, and the peer built from them ----

# The boosted trees' parameters, relearn names -> XGBoost's (see the mapping
# comment at the top of src/learners/xgboost.c).
BOOSTED = {
    "maximum-number-of-leaves-per-tree": 20,
    "minimum-number-of-samples-per-leaf-node": 10,
    "learning-rate": 0.2,
    "number-of-trees-constructed": 100,
    "random-number-seed": 0,
    "max-bin": 256,
}


def xgb_params(p):
    return dict(tree_method="hist", grow_policy="lossguide",
                max_leaves=int(p["maximum-number-of-leaves-per-tree"]), max_depth=0,
                min_child_weight=float(p["minimum-number-of-samples-per-leaf-node"]),
                learning_rate=float(p["learning-rate"]),
                n_estimators=int(p["number-of-trees-constructed"]),
                random_state=int(p["random-number-seed"]), max_bin=int(p["max-bin"]))


def peer_logistic(p, task):
    from sklearn.linear_model import LogisticRegression
    kw = dict(solver="liblinear", C=1.0 / float(p["l2-regularization-weight"]),
              tol=float(p["optimization-tolerance"]), intercept_scaling=1.0)
    if task == "multiclass":
        kw["multi_class"] = "ovr"
    return LogisticRegression(**kw)


def peer_boosted(p, task):
    import xgboost
    if task == "regression":
        return xgboost.XGBRegressor(objective="reg:squarederror", **xgb_params(p))
    if task == "multiclass":
        return xgboost.XGBClassifier(objective="multi:softprob", **xgb_params(p))
    return xgboost.XGBClassifier(objective="binary:logistic", **xgb_params(p))


def peer_linear(p, task):
    from sklearn.linear_model import Ridge
    return Ridge(alpha=float(p["l2-regularization-weight"]), fit_intercept=True)


LOGISTIC = {"l2-regularization-weight": 1.0, "optimization-tolerance": 1e-4}

LEARNERS = {
    "two-class-logistic-regression": ("binary", True, LOGISTIC, peer_logistic),
    "multiclass-logistic-regression": ("multiclass", True, LOGISTIC, peer_logistic),
    "two-class-boosted-decision-tree": ("binary", False, BOOSTED, peer_boosted),
    "multiclass-boosted-decision-tree": ("multiclass", False, BOOSTED, peer_boosted),
    "boosted-decision-tree-regression": ("regression", False, BOOSTED, peer_boosted),
    "linear-regression": ("regression", True, {"l2-regularization-weight": 0.001}, peer_linear),
}

# ---- datasets: a function writing the whole table as a DataFrame, and its
# label ----


def sklearn_frame(loader, label_names=False):
    import sklearn.datasets as ds
    b = getattr(ds, loader)()
    df = pd.DataFrame(b.data, columns=[str(c) for c in b.feature_names])
    y = b.target
    if label_names:
        y = np.asarray(b.target_names)[b.target]
    df["label"] = y
    return df


def census_frame(rows, workdir):
    out = Path(workdir) / f"census-{rows}.csv"
    gen = os.environ.get("RELEARN_GEN")
    cmd = ([gen, str(rows), str(SEED), "0", str(out)] if gen else
           [relearn_bin(), "generate", "census", "--rows", str(rows), "--seed", str(SEED),
            "--out", str(out)])
    run(cmd)
    return pd.read_csv(out, keep_default_na=False, na_values=[""])


DATASETS = {
    # name: (task, label, loader(workdir, census_rows))
    "census": ("binary", "income", lambda w, n: census_frame(n, w)),
    "breast_cancer": ("binary", "label", lambda w, n: sklearn_frame("load_breast_cancer")),
    "iris": ("multiclass", "label", lambda w, n: sklearn_frame("load_iris", True)),
    "wine": ("multiclass", "label", lambda w, n: sklearn_frame("load_wine", True)),
    "digits": ("multiclass", "label", lambda w, n: sklearn_frame("load_digits")),
    "diabetes": ("regression", "label", lambda w, n: sklearn_frame("load_diabetes")),
}

PAIRS = [
    ("census", "two-class-logistic-regression"),
    ("census", "two-class-boosted-decision-tree"),
    ("breast_cancer", "two-class-logistic-regression"),
    ("breast_cancer", "two-class-boosted-decision-tree"),
    ("iris", "multiclass-logistic-regression"),
    ("iris", "multiclass-boosted-decision-tree"),
    ("wine", "multiclass-logistic-regression"),
    ("wine", "multiclass-boosted-decision-tree"),
    ("digits", "multiclass-logistic-regression"),
    ("digits", "multiclass-boosted-decision-tree"),
    ("diabetes", "linear-regression"),
    ("diabetes", "boosted-decision-tree-regression"),
]

QUICK = [
    ("census", "two-class-logistic-regression"),
    ("census", "two-class-boosted-decision-tree"),
    ("breast_cancer", "two-class-logistic-regression"),
    ("iris", "multiclass-logistic-regression"),
    ("wine", "multiclass-boosted-decision-tree"),
    ("diabetes", "linear-regression"),
    ("diabetes", "boosted-decision-tree-regression"),
]

TOLERANCE = {"AUC": 0.005, "Overall accuracy": 0.01, "R^2": 0.005}
# relearn's evaluation JSON name of each metric.
EVAL_KEY = {"AUC": "AUC", "Overall accuracy": "Overall accuracy",
            "R^2": "Coefficient of Determination", "RMSE": "Root Mean Squared Error"}


class Failure(Exception):
    pass


def relearn_bin():
    return os.environ.get("RELEARN_BIN", str(ROOT / "build" / "release" / "relearn"))


def run(cmd):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Failure(f"`{' '.join(map(str, cmd))}` exited {proc.returncode}: "
                      f"{proc.stderr.strip()[-800:]}")
    return proc


# ---- the split and the shared preprocessing ----


def split(df):
    """The same seeded split for both tools: a random 25% of rows for test."""
    rng = np.random.RandomState(SEED)
    order = rng.permutation(len(df))
    ntest = int(round(len(df) * TEST_FRACTION))
    test = np.sort(order[:ntest])
    train = np.sort(order[ntest:])
    return df.iloc[train].reset_index(drop=True), df.iloc[test].reset_index(drop=True)


def read_csv(path):
    # As relearn reads: an empty field is missing; "NA" and "?" too.
    return pd.read_csv(path, keep_default_na=False, na_values=["", "NA", "?"])


def sort_classes(values):
    """Classes in relearn's order: numbers numerically, text bytewise."""
    vals = list(pd.unique(values))
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in vals):
        return sorted(vals, key=float)
    return sorted((str(v) for v in vals), key=lambda s: s.encode("utf-8"))


class Pipeline:
    """Clean Missing Data, one-hot, and (linear learners) z-score, fitted on train."""

    def __init__(self, train, label, normalize):
        self.label = label
        self.normalize = normalize
        self.columns = [c for c in train.columns if c != label]
        self.fill, self.levels, self.scale = {}, {}, {}
        for c in self.columns:
            col = train[c]
            if pd.api.types.is_numeric_dtype(col):
                self.fill[c] = float(col.mean())
                cleaned = col.fillna(self.fill[c]).astype(float)
                if normalize:
                    lo, hi = cleaned.min(), cleaned.max()
                    std = 0.0 if lo == hi else float(cleaned.std(ddof=0))
                    self.scale[c] = (float(cleaned.mean()), std)
            else:
                present = col.dropna().astype(str)
                counts = present.value_counts()
                best = counts.max()
                self.fill[c] = min((v for v, k in counts.items() if k == best),
                                   key=lambda s: s.encode("utf-8"))
                self.levels[c] = list(pd.unique(present))  # first-seen order

    def matrix(self, df):
        parts = []
        for c in self.columns:
            if c in self.levels:
                col = df[c].astype(object).where(df[c].notna(), self.fill[c]).astype(str)
                cat = pd.Categorical(col, categories=self.levels[c])
                onehot = np.zeros((len(df), len(self.levels[c])))
                codes = cat.codes
                rows = np.nonzero(codes >= 0)[0]
                onehot[rows, codes[rows]] = 1.0
                parts.append(onehot)
            else:
                x = pd.to_numeric(df[c]).fillna(self.fill[c]).to_numpy(dtype=float)
                if self.normalize:
                    mean, std = self.scale[c]
                    x = np.zeros_like(x) if std == 0 else (x - mean) / std
                parts.append(x.reshape(-1, 1))
        return np.hstack(parts)


# ---- metrics, the same definitions on both sides ----


def auc(y, score):
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y, score))


def metrics_of(task, truth, pred):
    """truth: labels; pred: P(positive) (binary), labels (multiclass), values."""
    if task == "binary":
        pos = sort_classes(truth)[-1]
        return {"AUC": auc((truth == pos).to_numpy(dtype=int), np.asarray(pred, float))}
    if task == "multiclass":
        t = truth.astype(str).to_numpy() if truth.dtype == object else truth.to_numpy(float)
        p = np.asarray(pred)
        p = p.astype(str) if t.dtype.kind in "OU" else p.astype(float)
        return {"Overall accuracy": float(np.mean(t == p))}
    y = truth.to_numpy(float)
    p = np.asarray(pred, float)
    ss_res = float(np.sum((y - p) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {"R^2": 1.0 - ss_res / ss_tot, "RMSE": math.sqrt(ss_res / len(y))}


def peer(task, label, learner, train_csv, test_csv):
    _, linear, params, factory = LEARNERS[learner]
    train, test = read_csv(train_csv), read_csv(test_csv)
    pipe = Pipeline(train, label, linear)
    xtr, xte = pipe.matrix(train), pipe.matrix(test)
    model = factory(params, task)
    if task == "regression":
        model.fit(xtr, train[label].to_numpy(float))
        return metrics_of(task, test[label], model.predict(xte))
    classes = sort_classes(train[label])
    index = {c: i for i, c in enumerate(classes)}
    key = (lambda v: float(v)) if not isinstance(classes[0], str) else str
    ytr = np.array([index[key(v)] for v in train[label]])
    model.fit(xtr, ytr)
    proba = model.predict_proba(xte)
    if task == "binary":
        return metrics_of(task, test[label], proba[:, 1])
    fitted = [classes[int(i)] for i in model.classes_]
    pred = [fitted[i] for i in np.argmax(proba, axis=1)]
    return metrics_of(task, test[label], pred)


def relearn(task, label, learner, train_csv, test_csv, work):
    _, _, params, _ = LEARNERS[learner]
    model, scored, evaluation = work / "m.ilearner", work / "s.csv", work / "e.json"
    cmd = [relearn_bin(), "train", train_csv, "--label", label, "--learner", learner,
           "--model-out", model, "--quiet"]
    for k, v in params.items():
        cmd += ["--param", f"{k}={v}"]
    run(cmd)
    run([relearn_bin(), "score", model, test_csv, "--out", scored])
    run([relearn_bin(), "evaluate", scored, "--label", label, "--out", evaluation])
    reported = json.loads(evaluation.read_text())
    s = read_csv(scored)
    if task == "binary":
        pred = s["Scored Probabilities"]
    else:
        pred = s["Scored Labels"]
        if task == "multiclass" and s[label].dtype == object:
            pred = pred.astype(str)
    own = metrics_of(task, s[label], pred)
    return reported, own


def compare_pair(dataset, learner, workdir, census_rows, frames):
    task, label, loader = DATASETS[dataset]
    ltask = LEARNERS[learner][0]
    if ltask != task:
        raise Failure(f"{learner} is a {ltask} learner; {dataset} is a {task} dataset")
    if dataset not in frames:
        frames[dataset] = loader(workdir, census_rows)
    work = Path(workdir) / f"{dataset}-{learner}"
    work.mkdir(parents=True, exist_ok=True)
    train, test = split(frames[dataset])
    train_csv, test_csv = work / "train.csv", work / "test.csv"
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    reported, own = relearn(task, label, learner, train_csv, test_csv, work)
    theirs = peer(task, label, learner, train_csv, test_csv)
    rows = []
    for metric, peer_value in theirs.items():
        key = EVAL_KEY[metric]
        if key not in reported:
            raise Failure(f"relearn evaluate printed no \"{key}\": {sorted(reported)}")
        value = float(reported[key])
        status = "info"
        note = ""
        if metric in TOLERANCE:
            status = "PASS" if abs(value - peer_value) <= TOLERANCE[metric] else "FAIL"
        if abs(value - own[metric]) > 1e-6 * max(1.0, abs(own[metric])):
            status = "FAIL"
            note = f"relearn evaluate says {value:.6f}, its scores give {own[metric]:.6f}"
        rows.append(dict(dataset=dataset if dataset != "census" else f"census-{census_rows}",
                         learner=learner, metric=metric, relearn=value, peer=peer_value,
                         diff=value - peer_value, tolerance=TOLERANCE.get(metric),
                         status=status, note=note))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", help="comma-separated subset of: " + ", ".join(DATASETS))
    ap.add_argument("--learners", help="comma-separated subset of: " + ", ".join(LEARNERS))
    ap.add_argument("--quick", action="store_true",
                    help=f"a small subset for CI (census at {QUICK_CENSUS_ROWS} rows)")
    ap.add_argument("--census-rows", type=int, help=f"census rows (default {CENSUS_ROWS})")
    ap.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    args = ap.parse_args()

    pairs = QUICK if args.quick else PAIRS
    for opt, known, pos in ((args.datasets, DATASETS, 0), (args.learners, LEARNERS, 1)):
        if not opt:
            continue
        want = opt.split(",")
        bad = [w for w in want if w not in known]
        if bad:
            ap.error(f"unknown name(s) {', '.join(bad)}; known: {', '.join(known)}")
        pairs = [p for p in pairs if p[pos] in want]
    census_rows = args.census_rows or (QUICK_CENSUS_ROWS if args.quick else CENSUS_ROWS)
    if not Path(relearn_bin()).exists():
        print(f"compare.py: relearn binary {relearn_bin()} is missing; build it (make) or "
              "set RELEARN_BIN", file=sys.stderr)
        return 2
    if not pairs:
        print("compare.py: no (dataset, learner) pair selected", file=sys.stderr)
        return 2

    workdir = args.keep or tempfile.mkdtemp(prefix="relearn-parity-")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    results, frames = [], {}
    try:
        for dataset, learner in pairs:
            t0 = time.monotonic()
            try:
                rows = compare_pair(dataset, learner, workdir, census_rows, frames)
            except Failure as e:
                rows = [dict(dataset=dataset, learner=learner, metric="-", relearn=None,
                             peer=None, diff=None, tolerance=None, status="FAIL",
                             note=str(e))]
            for r in rows:
                r["seconds"] = round(time.monotonic() - t0, 2)
            results += rows
            for r in rows:
                print_row(r, len(results) == len(rows) and r is rows[0])
            sys.stdout.flush()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    failed = [r for r in results if r["status"] == "FAIL"]
    print(f"\n{len(results) - len(failed)} of {len(results)} rows pass"
          + (f"; {len(failed)} FAIL" if failed else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"peer": peer_versions(), "seed": SEED, "test_fraction": TEST_FRACTION,
             "rows": results}, indent=2) + "\n")
    return 1 if failed else 0


def fmt(v):
    return "-" if v is None else f"{v:.4f}"


def print_row(r, header):
    if header:
        print(f"{'dataset':<18} {'learner':<34} {'metric':<17} {'relearn':>8} {'peer':>8} "
              f"{'diff':>8}  status")
    diff = "-" if r["diff"] is None else f"{r['diff']:+.4f}"
    print(f"{r['dataset']:<18} {r['learner']:<34} {r['metric']:<17} {fmt(r['relearn']):>8} "
          f"{fmt(r['peer']):>8} {diff:>8}  {r['status']}")
    if r.get("note"):
        print(f"    {r['note']}")


def peer_versions():
    import sklearn
    import xgboost
    return {"pandas": pd.__version__, "scikit-learn": sklearn.__version__,
            "xgboost": xgboost.__version__}


if __name__ == "__main__":
    sys.exit(main())
