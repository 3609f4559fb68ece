#!/usr/bin/python3
"""run.py - relearn's benchmarks (`make bench`).

  /usr/bin/python3 bench/run.py --build build/release [--runs N] [--quick]

Runs the training-engine benchmarks (bench/engine.py: CSV ingest, training
per learner, batch scoring, each beside its Python peer in the same run),
prints one table and writes bench/results/engine-<date>.json. Defaults: 32,561
and 1,000,000 census-like rows, the median of 3 runs, except training at
500,000+ rows: one run (--big-runs) and neither the multiclass kinds nor the
SVM unless --learners names them (their peers take minutes there). --quick is a smoke run: 2,000 rows, one run, results in
engine-<date>-quick.json.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engine  # noqa: E402

SIZES = [32561, 1000000]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release", help="build tree (default %(default)s)")
    ap.add_argument("--runs", type=int, help="repetitions per measurement; the median is kept "
                    "(default 3; 1 with --quick)")
    ap.add_argument("--rows", type=lambda s: [int(x) for x in s.split(",")],
                    help="comma-separated data sizes (default 32561,1000000)")
    ap.add_argument("--quick", action="store_true", help="a fast smoke run (2,000 rows, 1 run)")
    ap.add_argument("--only", type=lambda s: s.split(","),
                    help="comma-separated subset of: ingest, train, score")
    ap.add_argument("--learners", type=lambda s: s.split(","),
                    help="comma-separated subset of: " + ", ".join(engine.LEARNERS))
    ap.add_argument("--big-runs", type=int, default=1,
                    help="training repetitions at 500,000+ rows (default %(default)s)")
    ap.add_argument("--out", help="results file (default bench/results/engine-<date>.json)")
    ap.add_argument("--tmp", help="directory for the data files (default: the system's)")
    ap.add_argument("--keep", action="store_true", help="keep the data and model files")
    args = ap.parse_args()
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be at least 1")
    args.runs = args.runs or (1 if args.quick else 3)
    args.rows = args.rows or ([2000] if args.quick else SIZES)
    for name in args.only or []:
        if name not in ("ingest", "train", "score"):
            ap.error(f"unknown benchmark '{name}' (ingest, train, score)")
    for name in args.learners or []:
        if name not in engine.LEARNERS:
            ap.error(f"unknown learner '{name}'; known: {', '.join(engine.LEARNERS)}")
    if not args.out:
        suffix = "-quick" if args.quick else ""
        args.out = str(Path(__file__).resolve().parent / "results" /
                       f"engine-{time.strftime('%Y-%m-%d')}{suffix}.json")
    return engine.main(args)


if __name__ == "__main__":
    sys.exit(main())
