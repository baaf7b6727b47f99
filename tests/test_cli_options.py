"""kanhw train and kanhw stream: one option set, classification of any
table, record counts for files, the counter vocabulary, lazy start-up."""

import json
import subprocess
import sys

import numpy as np
import pytest

from kanhw import cli


def kanhw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kanhw", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600, check=False)


def last_json(r):
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def subparsers():
    parser = cli.build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def test_train_and_stream_share_options_and_every_option_has_help():
    sub = subparsers()
    opts = {name: {o for a in p._actions for o in a.option_strings}
            for name, p in sub.items()}
    shared = {"--target", "--classify", "--val-split", "--train-records", "--val-records",
              "--epochs", "--target-pearson", "--seed", "--json", "--addends", "--points",
              "--alpha", "--multilevel", "--init", "--validate-every", "--save", "--quiet"}
    assert shared <= opts["train"] and shared <= opts["stream"]
    for name in ("train", "stream"):
        for a in sub[name]._actions:
            assert a.help, f"kanhw {name} {a.option_strings or a.dest} has no help"
    # one default: the recipe's epochs, not a per-command constant
    assert sub["train"].get_default("epochs") is None
    assert sub["stream"].get_default("epochs") is None


def test_help_imports_no_numeric_stack():
    code = ("import sys; from kanhw import cli; cli.build_parser(); "
            "print(sorted(m for m in ('numpy', 'numba', 'sklearn', 'torch') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True)
    assert r.stdout.strip() == "[]"


def write_iris(path, numeric_labels=False):
    from sklearn.datasets import load_iris
    d = load_iris()
    names = np.arange(3).astype(str) if numeric_labels else d.target_names
    rows = [",".join(f"{v}" for v in x) + f",{names[t]}" for x, t in zip(d.data, d.target)]
    path.write_text("sl,sw,pl,pw,species\n" + "\n".join(rows) + "\n")


def test_train_classifies_a_table(tmp_path):
    write_iris(tmp_path / "iris.csv")
    r = kanhw("train", "iris.csv", "--target", "species", "--classify", "--json",
              "--epochs", "20", cwd=tmp_path)
    s = last_json(r)
    c = s["classification"]
    assert c["classes"] == ["setosa", "versicolor", "virginica"]
    assert s["architecture"]["sizes"] == [4, 9, 3]       # one output per class, 2n+1
    conf = np.array(c["confusion"])
    assert conf.sum() == 30 and c["accuracy"] == np.trace(conf) / 30 > 0.8
    assert [e["validation"] for e in c["per_class"]] == [10, 10, 10]    # per class split
    assert [e["training"] for e in c["per_class"]] == [40, 40, 40]
    assert s["validation_accuracy"] == c["accuracy"]
    assert "confusion (rows: true class" in r.stdout and "virginica" in r.stdout
    # integer labels, two classes: one output
    two = tmp_path / "two.csv"
    rows = (tmp_path / "iris.csv").read_text().splitlines()
    two.write_text("\n".join([rows[0]] + [r.replace("setosa", "7").replace("versicolor", "12")
                                          for r in rows[1:101]]) + "\n")
    s = last_json(kanhw("train", str(two), "--classify", "--epochs", "5", "--json",
                        "--quiet"))
    assert s["classification"]["classes"] == ["7", "12"] and s["architecture"]["sizes"][-1] == 1


def test_record_counts_are_honoured_for_files(tmp_path):
    write_iris(tmp_path / "iris.csv", numeric_labels=True)
    s = last_json(kanhw("train", "iris.csv", "--train-records", "50", "--val-records", "30",
                        "--epochs", "2", "--json", "--quiet", cwd=tmp_path))
    assert s["records"] == 2 * 50
    r = kanhw("train", "iris.csv", "--train-records", "1000", cwd=tmp_path)
    assert r.returncode == 2 and "1,000 asked for" in r.stderr.strip().splitlines()[-1]
    r = kanhw("train", "iris.csv", "--val-records", "30", "--val-split", "0.3", cwd=tmp_path)
    assert r.returncode == 2 and "not both" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["train", "det4", "--target", "det"], "own target"),
    (["train", "det4", "--classify"], "regression dataset"),
    (["train", "triangle", "--val-split", "0.3"], "independent validation"),
    (["train", "LABELS", "--classify", "--target", "1"], "distinct values"),
    (["stream", "triangle", "--transport", "serial:/dev/null"], "needs --config"),
    (["stream", "triangle", "--transport", "soft"], "give --addends"),
    (["stream", "IRIS", "--classify", "--target", "species", "--transport", "soft"],
     "3 classes"),
])
def test_bad_options_are_one_line(tmp_path, args, message):
    write_iris(tmp_path / "iris.csv")
    np.savetxt(tmp_path / "labels.csv", np.random.default_rng(0).uniform(size=(50, 2)),
               delimiter=",")
    subst = {"IRIS": "iris.csv", "LABELS": "labels.csv"}
    r = kanhw(*[subst.get(a, a) for a in args], cwd=tmp_path)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and message in err[0], r.stderr


def test_counters_one_vocabulary_and_shown_when_non_zero(tmp_path):
    s = last_json(kanhw("train", "det4", "--fixed", "hw", "--train-records", "20000",
                        "--val-records", "2000", "--epochs", "1", "--json"))
    assert set(s["counters"]) == {"stretches", "saturated_records", "clamps", "input_clamps"}
    assert "stretches" not in s                 # counters live in one place
    float_run = last_json(kanhw("train", "triangle", "--epochs", "1", "--json", "--quiet"))
    assert set(float_run["counters"]) == {"stretches"}
    (tmp_path / "d.toml").write_text("[arch]\ninputs = 16\naddends = 8\npoints = [5, 8]\n")
    st = last_json(kanhw("stream", "det4", "--transport", "soft", "--config", "d.toml",
                         "--train-records", "3000", "--val-records", "300", "--epochs", "1",
                         "--json", "--quiet", cwd=tmp_path))
    assert set(s["counters"]) <= set(st["counters"])
    assert set(st["counters"]) - set(s["counters"]) == {"records", "cycles"}
    # the human summary names saturation and clamp counts that are not zero
    r = kanhw("train", "det4", "--fixed", "hw", "--train-records", "20000",
              "--val-records", "2000", "--epochs", "1", "--quiet")
    assert s["counters"]["clamps"] > 0 and f"{s['counters']['clamps']:,} hidden arguments " \
        "clamped" in r.stdout


def test_stream_derives_the_design_and_classifies_two_classes(tmp_path):
    write_iris(tmp_path / "iris.csv")
    rows = (tmp_path / "iris.csv").read_text().splitlines()
    (tmp_path / "two.csv").write_text("\n".join(rows[:101]) + "\n")
    s = last_json(kanhw("stream", "two.csv", "--target", "species", "--classify",
                        "--transport", "soft", "--addends", "5", "--points", "4,9",
                        "--lanes", "2", "--epochs", "4", "--json", "--quiet", cwd=tmp_path))
    assert s["architecture"] == {"sizes": [4, 5, 1], "points": [4, 9]}
    assert s["classification"]["classes"] == ["setosa", "versicolor"]
    assert s["classification"]["accuracy"] > 0.9 and np.sum(s["classification"]["confusion"]) == 20
    # the stream's early stop at a target Pearson, and the shared epochs default
    s = last_json(kanhw("stream", "feynman-I.27.6", "--transport", "soft", "--train-records",
                        "2000", "--val-records", "200", "--target-pearson", "0.5", "--json",
                        "--quiet"))
    assert s["reached_target"] is True and s["epochs"] < 30       # the recipe's 30
    assert s["architecture"] == {"sizes": [3, 7, 1], "points": [12, 22]}


def test_step_rule_choices_are_the_trainers():
    from kanhw.commands import options
    from kanhw.train import STEP_RULES
    assert set(options.STEP_RULES) == set(STEP_RULES)
