#!/usr/bin/env python3
"""Replays a groklab toy-addition run in PyTorch from the same starting point, and compares.

Reads the run directory's `split.csv`, `targets.csv` (regression head), `init.safetensors` (the
initial parameters) and `config.toml`'s step count, trains the same model with the same optimisers
in PyTorch (float32, one thread; `toy_addition.py`'s model and loop), evaluates at the run's
evaluation steps, and prints per-step train loss of both and the relative difference. The two
start from identical weights, so they agree closely until float32 rounding differences (different
summation orders) grow through training.

    groklab train preset liu2022-toy --out runs/toy
    python3 bench/pytorch/replay_toy.py runs/toy
"""
import argparse
import csv
import json
import sys
import tomllib
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from toy_addition import loss_and_acc, train  # noqa: E402


def build_from_run(run):
    rows = list(csv.DictReader(open(run / "split.csv")))
    pairs = torch.tensor([(int(r["a"]), int(r["b"])) for r in rows])
    labels = torch.tensor([int(r["label"]) for r in rows])
    is_train = torch.tensor([r["train"] == "1" for r in rows])
    targets = None
    if (run / "targets.csv").exists():
        t = list(csv.reader(open(run / "targets.csv")))[1:]
        targets = torch.tensor([[float(x) for x in r[1:]] for r in t], dtype=torch.float32)
    init = load_file(str(run / "init.safetensors"))
    emb = nn.Parameter(init["embed.W_E"].clone())
    layers = []
    l = 0
    while f"decoder.{l}.W" in init:
        w = init[f"decoder.{l}.W"]  # groklab stores [d_in, d_out]; PyTorch's Linear holds [d_out, d_in]
        lin = nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(w.T)
            lin.bias.copy_(init[f"decoder.{l}.b"])
        layers.append(lin)
        l += 1
    mods = []
    for k, lin in enumerate(layers):
        mods.append(lin)
        if k + 1 < len(layers):
            mods.append(nn.Tanh())
    dec = nn.Sequential(*mods)
    g = tomllib.loads((run / "config.toml").read_text())["optim"]
    e, d = g["embed"], g["decoder"]
    assert e["optimizer"] == "adam" and d["optimizer"] == "adamw", "replays the preset's optimiser choice only"
    opt_emb = torch.optim.Adam([emb], lr=e["lr"], betas=tuple(e["betas"]), eps=e["eps"], weight_decay=e["weight_decay"])
    opt_dec = torch.optim.AdamW(dec.parameters(), lr=d["lr"], betas=tuple(d["betas"]), eps=d["eps"],
                                weight_decay=d["weight_decay"])
    return dict(train=(pairs[is_train], labels[is_train]), val=(pairs[~is_train], labels[~is_train]),
                targets=targets, emb=emb, dec=dec, opts=(opt_emb, opt_dec))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(1)
    ours = list(csv.DictReader(open(a.run / "metrics.csv")))
    steps = [int(r["step"]) for r in ours if int(r["step"]) > 0]
    m = build_from_run(a.run)
    with torch.no_grad():
        l0, _ = loss_and_acc(m, *m["train"])
    hist = train(m, max(steps), frozenset(steps))
    theirs = {h[0]: h for h in hist}
    print(f"{'step':>6} {'groklab train_loss':>19} {'pytorch train_loss':>19} {'rel diff':>9} {'acc g/p':>9}")
    out = []
    for r in ours:
        s = int(r["step"])
        g = float(r["train_loss"])
        p = l0.item() if s == 0 else theirs[s][1]
        pa = None if s == 0 else theirs[s][2]
        rel = abs(g - p) / max(abs(p), 1e-30)
        out.append({"step": s, "groklab": g, "pytorch": p, "rel": rel})
        print(f"{s:>6} {g:>19.8g} {p:>19.8g} {rel:>9.2e} {float(r['train_acc']):.2f}/{'-' if pa is None else f'{pa:.2f}'}")
    first_big = next((o["step"] for o in out if o["rel"] > 1e-3), None)
    print(json.dumps({"run": str(a.run), "max_rel_first_100_steps": max(o["rel"] for o in out if o["step"] <= 100),
                      "first_step_rel_above_1e-3": first_big}))


if __name__ == "__main__":
    main()
