"""End-to-end tests of the `relearn` command line on census-like data."""
import csv
import json

import pytest

LEARNERS_BINARY = ["two-class-logistic-regression", "two-class-boosted-decision-tree",
                   "two-class-decision-forest", "two-class-support-vector-machine"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("learner", LEARNERS_BINARY)
def test_train_score_evaluate(cli, census, tmp_path, learner):
    model, ev = tmp_path / "m.ilearner", tmp_path / "eval.json"
    cli("train", census / "census.csv", "--label", "income", "--learner", learner,
        "--model-out", model, "--test-fraction", 0.25, "--seed", 3, "--evaluation-out", ev)
    metrics = json.loads(ev.read_text())
    for key in ["True Positive", "False Negative", "False Positive", "True Negative",
                "Accuracy", "Precision", "Recall", "F-Score", "AUC", "Average Log Loss"]:
        assert key in metrics
    assert metrics["AUC"] > 0.8, metrics["AUC"]
    assert metrics["True Positive"] + metrics["False Negative"] + \
        metrics["False Positive"] + metrics["True Negative"] == 1250

    scored = tmp_path / "scored.csv"
    cli("score", model, census / "census.csv", "--out", scored)
    rows = read_csv(scored)
    header = rows[0]
    assert header[-2:] == ["Scored Labels", "Scored Probabilities"]
    assert len(rows) == 5001
    assert {r[-2] for r in rows[1:]} <= {"<=50K", ">50K"}
    for r in rows[1:]:
        p = float(r[-1])
        assert 0 <= p <= 1
        assert (p >= 0.5) == (r[-2] == ">50K")

    out = cli("evaluate", scored, "--label", "income")
    again = json.loads(out.stdout)
    assert again["Accuracy"] > 0.75


def test_score_to_stdout_matches_file(cli, census, tmp_path):
    model = tmp_path / "m.ilearner"
    cli("train", census / "census.csv", "--label", "income", "--model-out", model, "--quiet")
    cli("score", model, census / "census.csv", "--out", tmp_path / "a.csv")
    out = cli("score", model, census / "census.csv")
    assert out.stdout == (tmp_path / "a.csv").read_text()


def test_model_show(cli, census, tmp_path):
    model = tmp_path / "m.ilearner"
    cli("train", census / "census.csv", "--label", "income", "--learner",
        "two-class-logistic-regression", "--param", "l2-regularization-weight=0.5",
        "--model-out", model, "--test-fraction", 0.2)
    info = json.loads(cli("model", "show", model).stdout)
    assert info["learner"]["kind"] == "two-class-logistic-regression"
    assert info["learner"]["params"]["l2-regularization-weight"] == 0.5
    assert info["label"]["name"] == "income"
    assert info["label"]["classes"] == ["<=50K", ">50K"]
    names = [c["name"] for c in info["input_schema"]]
    assert "age" in names and "income" not in names
    assert info["training"]["metrics"]["AUC"] > 0.8
    assert len(info["training"]["data_sha256"]) == 64
    assert [t["module"] for t in info["transforms"]] == \
        ["Clean Missing Data", "Clean Missing Data", "Normalize Data"]


def test_multiclass_and_regression(cli, census, tmp_path):
    ev = tmp_path / "e.json"
    cli("train", census / "census.csv", "--label", "race", "--learner",
        "multiclass-logistic-regression", "--model-out", tmp_path / "mc.ilearner",
        "--test-fraction", 0.3, "--evaluation-out", ev)
    m = json.loads(ev.read_text())
    for key in ["Overall accuracy", "Average accuracy", "Micro-averaged precision",
                "Macro-averaged precision", "Micro-averaged recall", "Macro-averaged recall"]:
        assert key in m
    scored = tmp_path / "s.csv"
    cli("score", tmp_path / "mc.ilearner", census / "census.csv", "--out", scored)
    header = read_csv(scored)[0]
    assert 'Scored Probabilities for Class "White"' in header

    cli("train", census / "census.csv", "--label", "hours-per-week", "--learner",
        "linear-regression", "--model-out", tmp_path / "r.ilearner", "--test-fraction", 0.3,
        "--evaluation-out", ev)
    r = json.loads(ev.read_text())
    for key in ["Mean Absolute Error", "Root Mean Squared Error", "Relative Absolute Error",
                "Relative Squared Error", "Coefficient of Determination"]:
        assert key in r


def test_unseen_category_scores(cli, census, tmp_path):
    model = tmp_path / "m.ilearner"
    cli("train", census / "census.csv", "--label", "income", "--learner",
        "two-class-logistic-regression", "--model-out", model, "--quiet")
    rows = read_csv(census / "census.csv")[:3]
    rows[1][rows[0].index("native-country")] = "Atlantis"
    rows[2][rows[0].index("workclass")] = ""
    with open(tmp_path / "odd.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    out = cli("score", model, tmp_path / "odd.csv")
    assert len(read_csv_text(out.stdout)) == 3


def read_csv_text(text):
    return list(csv.reader(text.splitlines()))


def test_scoring_without_label_and_with_shuffled_columns(cli, census, tmp_path):
    model = tmp_path / "m.ilearner"
    cli("train", census / "census.csv", "--label", "income", "--model-out", model, "--quiet")
    rows = read_csv(census / "census.csv")[:50]
    header = rows[0]
    keep = [i for i, h in enumerate(header) if h != "income"][::-1]
    with open(tmp_path / "nolabel.csv", "w", newline="") as f:
        csv.writer(f).writerows([[r[i] for i in keep] for r in rows])
    out = read_csv_text(cli("score", model, tmp_path / "nolabel.csv").stdout)
    full = read_csv_text(cli("score", model, census / "census.csv").stdout)[:50]
    assert [r[-1] for r in out] == [r[-1] for r in full]


def test_errors(cli, census, tmp_path):
    p = cli("train", census / "census.csv", "--label", "nope", "--model-out", "m", ok=False)
    assert p.returncode == 3 and "nope" in p.stderr and "income" in p.stderr
    p = cli("train", census / "census.csv", "--label", "income", "--learner", "magic",
            "--model-out", "m", ok=False)
    assert p.returncode == 2 and "magic" in p.stderr
    p = cli("train", census / "census.csv", "--label", "income", "--param",
            "number-of-trees-constructed=-3", "--model-out", "m", ok=False)
    assert p.returncode == 2 and "number-of-trees-constructed" in p.stderr
    p = cli("train", census / "census.csv", "--label", "income", "--param", "bogus=1",
            "--model-out", "m", ok=False)
    assert p.returncode == 2 and "bogus" in p.stderr
    p = cli("train", census / "census.csv", "--label", "race", "--learner",
            "two-class-logistic-regression", "--model-out", "m", ok=False)
    assert p.returncode == 3 and "multiclass" in p.stderr
    p = cli("train", tmp_path / "missing.csv", "--label", "x", "--model-out", "m", ok=False)
    assert p.returncode == 4 and "missing.csv" in p.stderr
    p = cli("train", ok=False)
    assert p.returncode == 2
    p = cli("score", census / "census.csv", census / "census.csv", ok=False)
    assert p.returncode == 3 and "relearn model" in p.stderr
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3\n")
    p = cli("train", tmp_path / "bad.csv", "--label", "a", "--model-out", "m", ok=False)
    assert p.returncode == 3 and "bad.csv:3" in p.stderr
    p = cli("frobnicate", ok=False)
    assert p.returncode == 2


def test_help_everywhere(cli):
    for cmd in ["train", "score", "evaluate", "run", "model", "generate", "modules"]:
        p = cli(cmd, "--help")
        assert "usage: relearn " + cmd in p.stdout
    assert "Commands" in cli("--help").stdout


def test_model_file_damage(cli, census, tmp_path):
    model = tmp_path / "m.ilearner"
    cli("train", census / "census.csv", "--label", "income", "--learner",
        "two-class-boosted-decision-tree", "--param", "number-of-trees-constructed=5",
        "--model-out", model, "--quiet")
    data = model.read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "foreign": b"PK\x03\x04" + data[4:],
        "newer": data[:8] + b"\x09\x00\x00\x00" + data[12:],
        "flipped": data[:100] + bytes([data[100] ^ 0x40]) + data[101:],
    }
    words = {"truncated": "truncated", "empty": "empty", "foreign": "not a relearn model",
             "newer": "newer", "flipped": "corrupted"}
    for name, blob in cases.items():
        bad = tmp_path / f"{name}.ilearner"
        bad.write_bytes(blob)
        p = cli("score", bad, census / "census.csv", ok=False)
        assert p.returncode == 3, (name, p.stderr)
        assert words[name] in p.stderr, (name, p.stderr)


def test_generate_is_deterministic(cli, tmp_path):
    a = cli("generate", "census", "--rows", 300, "--seed", 5).stdout
    b = cli("generate", "census", "--rows", 300, "--seed", 5).stdout
    c = cli("generate", "census", "--rows", 300, "--seed", 6).stdout
    s = cli("generate", "census", "--rows", 300, "--seed", 5, "--shift", 1).stdout
    assert a == b and a != c and a != s
    assert a.splitlines()[0].split(",")[-1] == "income"
    assert len(a.splitlines()) == 301


def test_numeric_text_labels_keep_one_positive_class(cli, tmp_path):
    """Training and evaluation agree on the positive class when the label's
    values read as numbers but are typed as text ("9" < "10")."""
    import random
    rng = random.Random(1)
    lines = ["x,y"]
    for _ in range(400):
        x = rng.random()
        lines.append(f"{x},{10 if x + rng.gauss(0, 0.3) > 0.5 else 9}")
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    aucs = []
    for extra in (["--type", "y=string"], []):
        ev = tmp_path / "e.json"
        cli("train", tmp_path / "d.csv", "--label", "y", "--learner",
            "two-class-logistic-regression", "--model-out", tmp_path / "m.ilearner",
            "--test-fraction", 0.3, "--evaluation-out", ev, *extra)
        aucs.append(json.loads(ev.read_text())["AUC"])
    assert aucs[0] == aucs[1] and aucs[0] > 0.75
