#!/bin/sh
# The main job: the census example end to end with the engine alone.
# Generates census-like data, runs the example training experiment (clean,
# split, train, score, evaluate), derives its predictive experiment, scores
# new data with the trained model and prints the evaluation.
set -eu
build=${1:-build/release}
cd "$(dirname "$0")/.."
relearn="$PWD/$build/relearn"
out=demo-data
mkdir -p "$out"

echo "1. census-like data: 32,561 rows, and 1,000 shifted rows to score"
"$relearn" generate census --rows 32561 --seed 1 --out "$out/census.csv"
"$relearn" generate census --rows 1000 --seed 2 --shift 0.5 --out "$out/new.csv"

echo "2. run the training experiment examples/census-training.json"
"$relearn" run examples/census-training.json --input input1="$out/census.csv" \
    --output output1="$out/census.ilearner" --output output2="$out/evaluation.json" \
    --predictive-out "$out/census-predictive.json"

echo "3. the trained model"
"$relearn" model show "$out/census.ilearner" | head -n 12

echo "4. score new data through the predictive experiment"
"$relearn" run "$out/census-predictive.json" --input input1="$out/new.csv" \
    --input "Census income [trained model]=$out/census.ilearner" \
    --output output1="$out/scored.csv"
head -n 3 "$out/scored.csv"

echo "5. evaluation of the held-out 25%"
cat "$out/evaluation.json" | grep -E '"(AUC|Accuracy|Precision|Recall|F-Score)"'
echo "done: files in $out/"
