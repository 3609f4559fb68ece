"""End-to-end tests of experiments: `relearn run`, validation, Set Up Web Service."""
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "census-training.json"


def test_example_experiment_and_predictive(cli, census, tmp_path):
    model, ev, pred = tmp_path / "m.ilearner", tmp_path / "e.json", tmp_path / "p.json"
    cli("run", EXAMPLE, "--input", f"input1={census / 'census.csv'}",
        "--output", f"output1={model}", "--output", f"output2={ev}", "--predictive-out", pred)
    metrics = json.loads(ev.read_text())
    assert metrics["AUC"] > 0.8
    counts = metrics["True Positive"] + metrics["False Negative"] + \
        metrics["False Positive"] + metrics["True Negative"]
    # A stratified 25% of 5,000 rows, rounded per class.
    assert counts == metrics["Rows"] and abs(counts - 1250) <= 2

    p = json.loads(pred.read_text())
    modules = sorted(n["module"] for n in p["nodes"])
    assert modules == ["Score Model", "Trained Model", "Web Service Input", "Web Service Output"]
    res = [n for n in p["nodes"] if n["module"] == "Trained Model"][0]
    assert res["params"]["name"] == "Census income [trained model]"

    # The predictive experiment scores exactly as `relearn score` does.
    cli("run", pred, "--input", f"input1={census / 'shifted.csv'}",
        "--input", f"Census income [trained model]={model}",
        "--output", f"output1={tmp_path / 'a.csv'}")
    cli("score", model, census / "shifted.csv", "--out", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()

    # The model carries the fitted cleaning: rows with missing values score.
    rows = list(csv.reader((tmp_path / "a.csv").open()))
    assert rows[0][-2:] == ["Scored Labels", "Scored Probabilities"]


def test_evaluation_as_csv_output(cli, census, tmp_path):
    cli("run", EXAMPLE, "--input", f"input1={census / 'census.csv'}",
        "--output", f"output1={tmp_path / 'm.ilearner'}",
        "--output", f"output2={tmp_path / 'e.csv'}")
    rows = list(csv.reader((tmp_path / "e.csv").open()))
    assert "AUC" in rows[0] and len(rows) == 2


def write(tmp_path, exp):
    p = tmp_path / "exp.json"
    p.write_text(json.dumps(exp))
    return p


def test_validation_lists_every_problem(cli, tmp_path):
    exp = {
        "name": "bad",
        "nodes": [
            {"id": "in", "module": "Web Service Input", "params": {"name": "input1"}},
            {"id": "magic", "module": "Frobnicate Data"},
            {"id": "split", "module": "Split Data", "params": {"fraction": 3}},
            {"id": "lr", "module": "Two-Class Logistic Regression",
             "params": {"no-such-param": 1}},
            {"id": "train", "module": "Train Model", "params": {}},
            {"id": "score", "module": "Score Model"},
            {"id": "a", "module": "Clean Missing Data"},
            {"id": "b", "module": "Clean Missing Data"},
        ],
        "edges": [
            {"from": "in", "to": "split"},
            {"from": "split:Results dataset1", "to": "train:Untrained model"},
            {"from": "nowhere", "to": "score"},
            {"from": "a", "to": "b"},
            {"from": "b", "to": "a"},
        ],
    }
    p = cli("run", write(tmp_path, exp), ok=False)
    assert p.returncode == 2
    err = p.stderr
    for needle in ["Frobnicate Data", "fraction", "no-such-param", "label-column",
                   "dataset", "nowhere", "not connected"]:
        assert needle in err, (needle, err)


def test_cycle_detected(cli, tmp_path):
    exp = {
        "name": "cycle",
        "nodes": [{"id": "a", "module": "Clean Missing Data"},
                  {"id": "b", "module": "Normalize Data"}],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}],
    }
    p = cli("run", write(tmp_path, exp), ok=False)
    assert p.returncode == 2 and "cycle" in p.stderr


def test_bad_json_and_missing_binding(cli, tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"name": "x", "nodes": [')
    r = cli("run", p, ok=False)
    assert r.returncode == 3 and "x.json:1" in r.stderr
    r = cli("run", EXAMPLE, ok=False)
    assert r.returncode == 2 and "input1" in r.stderr
    r = cli("run", EXAMPLE, "--input", "input1=nothing.csv", ok=False)
    assert r.returncode == 4
