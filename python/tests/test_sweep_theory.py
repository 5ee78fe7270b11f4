"""Sweeps equal the CLI's; the theory equals `groklab theory`."""

import json
import subprocess

import groklab
import pandas as pd
import pytest

TINY = """name = "tiny"
description = "two training fractions x 2 seeds of the toy, 300 steps"
base = "liu2022-toy"
seeds = 2

[set]
"train.steps" = 300

[[axes]]
key = "task.train"
values = [0.5, 0.8]
"""

# the two columns that time the run, not what it computed
TIMING = ["wall_seconds", "steps_per_second"]


def test_tiny_sweep_table_equals_the_clis(cli, here):
    (here / "tiny.toml").write_text(TINY)
    subprocess.run([cli, "sweep", "tiny.toml", "--out", "cli", "--jobs", "1", "-q"], check=True, stdout=subprocess.DEVNULL)
    sw = groklab.sweep("tiny.toml", out="py", jobs=2, progress=False)
    ref = groklab.read_csv(here / "cli" / "sweep.csv")
    assert len(sw.table) == 4 and list(sw.table.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(sw.table.drop(columns=TIMING), ref.drop(columns=TIMING), check_exact=True)
    assert sorted(sw.runs) == ["r0000", "r0001", "r0002", "r0003"]
    for rid, run in sw.runs.items():
        assert (run.dir / "metrics.csv").read_bytes() == (here / "cli" / "runs" / rid / "metrics.csv").read_bytes()
    assert sw.outcome["trained"] == 4 and sw.outcome["missing"] == 0
    assert "final_val_acc" in sw.plot() and sw.plot("final_val_acc").data.startswith("<svg")
    # the same call again resumes: nothing left to train
    again = groklab.sweep("tiny.toml", out="py", progress=False)
    assert again.outcome["already_done"] == 4 and again.outcome["trained"] == 0
    # as does the directory itself, and load() opens it
    assert groklab.sweep(here / "py", progress=False).outcome["trained"] == 0
    assert isinstance(groklab.load(here / "py"), groklab.Sweep)


def test_sweep_from_text_or_a_dict_and_a_bad_definition(here):
    sw = groklab.sweep(TINY, out="t", sets={"train.steps": 100}, progress=False)
    assert set(sw.table["steps"]) == {100}
    as_dict = {"name": "tiny", "base": "liu2022-toy", "seeds": 2, "set": {"train.steps": 300},
               "axes": [{"key": "task.train", "values": [0.5, 0.8]}]}
    d = groklab.sweep(as_dict, out="d", progress=False)
    pd.testing.assert_frame_equal(d.table.drop(columns=TIMING),
                                  groklab.sweep(TINY, out="e", progress=False).table.drop(columns=TIMING))
    with pytest.raises(ValueError, match="continued where it is"):
        groklab.sweep(here / "d", out="elsewhere", progress=False)
    with pytest.raises(groklab.ConfigError, match="train.stepz"):
        groklab.sweep("liu2022-fraction", sets={"train.stepz": 1}, progress=False)
    with pytest.raises(ValueError, match="run preset"):
        groklab.sweep("liu2022-toy", progress=False)
    # a directory holding another sweep is refused, untouched
    with pytest.raises(ValueError):
        groklab.sweep("liu2022-fraction", out="t", progress=False)


def test_theory_equals_the_cli(cli):
    ours = groklab.theory.addition(p=8, samples=300, seed=2)
    theirs = json.loads(subprocess.run([cli, "theory", "addition", "--p", "8", "--samples", "300", "--seed", "2", "--json"], check=True, capture_output=True, text=True).stdout)
    assert ours["critical_fraction"] == theirs["critical_fraction"]
    assert list(ours["table"]["p_nullity2"]) == [theirs["p_nullity2"][str(s)] for s in ours["table"]["size"]]
    lin = groklab.theory.linear(0.9, dout=5, gamma=1e-4)
    ref = json.loads(subprocess.run([cli, "theory", "linear", "--lambda", "0.9", "--dout", "5", "--gamma", "1e-4", "--json"], check=True, capture_output=True, text=True).stdout)
    for k in ["t_train", "t_gen", "delta_t", "lambda", "dout", "gamma", "clock"]:
        assert lin[k] == ref[k], k
    assert list(lin["curve"].columns) == ["t", "train_loss", "gen_loss", "train_acc", "gen_acc"]
    with pytest.raises(ValueError, match="lambda"):
        groklab.theory.linear(-1.0)
    with pytest.raises(ValueError, match="`p`"):
        groklab.theory.addition(p=1)
