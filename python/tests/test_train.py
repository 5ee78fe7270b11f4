"""Runs: the package's run is the CLI's run, bit for bit; its tables, parameters and plots."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import groklab
import pandas as pd
import pytest

STEPS = 400


def cli_run(cli, out, *args):
    subprocess.run([cli, "train", "preset", *args, "--out", str(out), "-q"], check=True, stdout=subprocess.DEVNULL)
    return Path(out)


def test_train_equals_the_cli(cli, here):
    c = groklab.config("liu2022-toy", {"train.steps": STEPS, "optim.decoder.weight_decay": 0.5})
    run = groklab.train(c, seed=3, out=here / "py", progress=False)
    ref = cli_run(cli, here / "cli", "liu2022-toy", "--set", f"train.steps={STEPS}", "--set", "optim.decoder.weight_decay=0.5", "--seed", "3")
    # the metrics, bit for bit, and every other table too
    for name in ["metrics", "embeddings", "split", "targets"]:
        assert (run.dir / f"{name}.csv").read_bytes() == (ref / f"{name}.csv").read_bytes(), name
    # the DataFrame is metrics.csv: its columns, one row per line, the same values
    df = run.metrics
    with open(ref / "metrics.csv") as f:
        header = f.readline().strip().split(",")
        lines = f.read().splitlines()
    assert list(df.columns) == header
    assert len(df) == len(lines)
    pd.testing.assert_frame_equal(df, groklab.read_csv(ref / "metrics.csv"), check_exact=True)
    for k in ["phase", "steps", "steps_to_train_acc", "steps_to_val_acc", "final", "status"]:
        assert run.summary[k] == json.loads((ref / "summary.json").read_text())[k], k
    # the parameters are the checkpoint's
    ours, theirs = run.params, groklab.read_safetensors(ref / "checkpoint.safetensors")
    assert list(ours) == list(theirs)
    for name in ours:
        assert (ours[name] == theirs[name]).all(), name
    assert run.config.to_dict()["train"]["steps"] == STEPS
    assert "accuracy" in run.plot() and run.plot("accuracy").data.startswith("<svg")
    # load() opens the same directory the same way
    again = groklab.load(run.dir)
    assert again.summary == run.summary
    pd.testing.assert_frame_equal(again.metrics, df)


def test_default_directory_is_the_clis_name(here):
    a = groklab.train(groklab.config("liu2022-toy", {"train.steps": 50}), seed=1, progress=False)
    b = groklab.train(groklab.config("liu2022-toy", {"train.steps": 50}), seed=1, progress=False)
    assert a.dir == here / "runs/liu2022-toy-seed1-train.steps=50"
    # a run never replaces another
    assert b.dir == here / "runs/liu2022-toy-seed1-train.steps=50-2"
    # directories are absolute: a notebook's %cd does not lose them
    os.chdir("runs")
    assert len(a.metrics) > 0


def test_params_have_transformerlens_names_and_shapes(here):
    c = groklab.config("nanda2023-add113", {"train.steps": 20})
    run = groklab.train(c, out=here / "t", progress=False)
    p = run.params
    d_model, n_heads, d_head, d_mlp, vocab = 128, 4, 32, 512, 114
    assert p["embed.W_E"].shape == (vocab, d_model)
    assert p["pos_embed.W_pos"].shape == (3, d_model)
    for w in ["W_Q", "W_K", "W_V"]:
        assert p[f"blocks.0.attn.{w}"].shape == (n_heads, d_model, d_head)
    assert p["blocks.0.attn.W_O"].shape == (n_heads, d_head, d_model)
    assert p["blocks.0.mlp.W_in"].shape == (d_model, d_mlp)
    assert p["blocks.0.mlp.W_out"].shape == (d_mlp, d_model)
    assert p["unembed.W_U"].shape == (d_model, vocab)
    assert "fourier" in run.tables()
    assert run.table("fourier").shape[0] > 0
    with pytest.raises(KeyError, match="no nope.csv"):
        run.table("nope")


@pytest.mark.parametrize("given_out", [False, True])
def test_keyboard_interrupt_leaves_no_run_directory(here, given_out):
    c = groklab.config("liu2022-toy", {"train.steps": 10_000_000})
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    out = here / "stopped" if given_out else None
    with pytest.raises(KeyboardInterrupt):
        groklab.train(c, out=out, progress=False)
    timer.cancel()
    assert not (here / "stopped").exists()
    assert not Path("runs").exists() or list(Path("runs").iterdir()) == []


def test_interrupt_keeps_a_users_empty_directory(here):
    (here / "mine").mkdir()
    c = groklab.config("liu2022-toy", {"train.steps": 10_000_000})
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        groklab.train(c, out=here / "mine", progress=False)
    assert (here / "mine").is_dir() and list((here / "mine").iterdir()) == []


def test_an_occupied_directory_is_refused(here):
    (here / "full").mkdir()
    (here / "full" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="full"):
        groklab.train(groklab.config("liu2022-toy", {"train.steps": 10}), out=here / "full", progress=False)
    assert [p.name for p in (here / "full").iterdir()] == ["notes.txt"]


def test_train_releases_the_gil(here):
    # another Python thread keeps counting while a run trains
    counts = []
    stop = threading.Event()

    def count():
        n = 0
        while not stop.is_set():
            n += 1
        counts.append(n)

    t = threading.Thread(target=count)
    t.start()
    groklab.train(groklab.config("liu2022-toy", {"train.steps": 3000}), progress=False, out=here / "g")
    stop.set()
    t.join()
    assert counts[0] > 1000


def test_nothing_on_stdout(here, capfd):
    groklab.train(groklab.config("liu2022-toy", {"train.steps": 100}), out=here / "q", progress=True)
    out, err = capfd.readouterr()
    assert out == ""


def test_a_run_the_cli_interrupted_continues_from_python(cli, here):
    # the CLI stops a run on SIGINT with its state saved; groklab.train(DIR) continues it and
    # ends where an uninterrupted run ends, bit for bit
    args = ["liu2022-toy", "--set", "train.steps=30000"]
    p = subprocess.Popen([cli, "train", "preset", *args, "--out", "stopped", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (here / "stopped" / "metrics.csv").exists() and p.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    assert p.wait() == 130
    run = groklab.train(here / "stopped", progress=False)
    assert run.summary["status"] == "finished" and run.summary["steps"] == 30000
    ref = cli_run(cli, here / "whole", *args)
    assert (run.dir / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    with pytest.raises(ValueError, match="no unfinished run"):
        groklab.train(here / "whole", progress=False)
