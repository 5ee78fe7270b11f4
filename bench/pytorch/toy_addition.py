#!/usr/bin/env python3
"""PyTorch reference benchmark for groklab's toy-addition grokking run.

Mirrors the toy model of Liu et al. 2022, "Towards understanding grokking: an
effective theory of representation learning":

* Task: non-modular addition of integers 0..p-1 (p=10). The 55 unordered pairs
  (i, j), i <= j, are labelled i+j (19 classes) and split at random (seeded)
  into --train-size training samples (default 45) and the rest for validation.
* Model: (a, b) -> Dec(E_a + E_b). E in R^{p x d}, d=1, init U[-s/2, s/2], s=1.
  Dec is an MLP d -> 200 -> 200 -> out with tanh after both hidden layers and
  PyTorch's default nn.Linear init.
* Head: "regression" (default) maps each class to a fixed random N(0,1)^30
  target, trains with MSE and predicts the nearest target (Euclidean);
  "classification" uses 19 logits and cross-entropy.
* Optimisers, stepped together on the full training batch every step:
  embeddings Adam(lr 1e-3), decoder AdamW(lr 1e-4, weight_decay=--wd).
* Train/val loss and accuracy are evaluated (under no_grad) at ~50 log-spaced
  steps, always including the last; this is part of the timed loop, as in Rust.

Timing: 10 warm-up steps on a throw-away model, then everything is re-created
from the seed and the whole training loop is timed with time.perf_counter.
One JSON line per repeat goes to stdout; human messages go to stderr.

Run from the repository root:
    python3 bench/pytorch/toy_addition.py --steps 5000 --threads 1
    python3 bench/pytorch/toy_addition.py --steps 5000 --threads 1 --repeat 3
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

P, D, INIT_SCALE, HIDDEN, TARGET_DIM = 10, 1, 1.0, 200, 30
N_CLASSES = 2 * P - 1


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def eval_steps(steps, points=50):
    """About `points` unique log-spaced integer steps in [1, steps], incl. steps."""
    if steps <= 1:
        return {1}
    lg = math.log10(steps)
    pts = {int(round(10 ** (lg * k / (points - 1)))) for k in range(points)}
    return {min(max(s, 1), steps) for s in pts} | {steps}


def build(seed, head, train_size, wd, lr_dec=1e-4):
    """Data, fixed targets, model and optimisers, all derived from `seed`."""
    torch.manual_seed(seed)
    pairs = torch.tensor([(i, j) for i in range(P) for j in range(i, P)])
    labels = pairs.sum(dim=1)
    perm = torch.randperm(len(pairs))
    tr, va = perm[:train_size], perm[train_size:]
    targets = torch.randn(N_CLASSES, TARGET_DIM) if head == "regression" else None
    out_dim = TARGET_DIM if head == "regression" else N_CLASSES
    emb = nn.Parameter((torch.rand(P, D) - 0.5) * INIT_SCALE)
    dec = nn.Sequential(
        nn.Linear(D, HIDDEN), nn.Tanh(),
        nn.Linear(HIDDEN, HIDDEN), nn.Tanh(),
        nn.Linear(HIDDEN, out_dim),
    )
    opt_emb = torch.optim.Adam([emb], lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0)
    opt_dec = torch.optim.AdamW(dec.parameters(), lr=lr_dec, betas=(0.9, 0.999), weight_decay=wd)
    return dict(train=(pairs[tr], labels[tr]), val=(pairs[va], labels[va]),
                targets=targets, emb=emb, dec=dec, opts=(opt_emb, opt_dec))


def forward_loss(m, x, y):
    out = m["dec"](m["emb"][x[:, 0]] + m["emb"][x[:, 1]])
    if m["targets"] is None:
        return out, F.cross_entropy(out, y)
    return out, F.mse_loss(out, m["targets"][y])


def loss_and_acc(m, x, y):
    out, loss = forward_loss(m, x, y)
    if m["targets"] is None:
        pred = out.argmax(dim=1)
    else:
        pred = torch.cdist(out, m["targets"]).argmin(dim=1)
    # count in Python (double) precision: float32's mean of 9/10 is 0.89999998 < 0.9
    return loss, (pred == y).sum().item() / len(y)


def train(m, steps, evals=frozenset()):
    history = []
    x, y = m["train"]
    for step in range(1, steps + 1):
        _, loss = forward_loss(m, x, y)
        for opt in m["opts"]:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in m["opts"]:
            opt.step()
        if step in evals:
            with torch.no_grad():
                tl, ta = loss_and_acc(m, *m["train"])
                vl, vacc = loss_and_acc(m, *m["val"])
            history.append((step, tl.item(), ta, vl.item(), vacc))
    return history


def first_step(history, idx, thresh=0.9):
    return next((h[0] for h in history if h[idx] >= thresh), None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--train-size", type=int, default=45)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--lr-dec", type=float, default=1e-4, help="decoder learning rate")
    ap.add_argument("--head", choices=["regression", "classification"], default="regression")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.set_default_dtype(torch.float32)
    evals = eval_steps(args.steps)

    for seed in range(args.seed, args.seed + args.repeat):
        train(build(seed, args.head, args.train_size, args.wd, args.lr_dec), 10)  # warm-up
        m = build(seed, args.head, args.train_size, args.wd, args.lr_dec)
        log(f"seed {seed}: training {args.steps} steps ({args.head}, {args.threads} thread(s))")
        t0 = time.perf_counter()
        history = train(m, args.steps, evals)
        wall = time.perf_counter() - t0
        _, tl, ta, vl, vacc = history[-1]
        print(json.dumps({
            "impl": "pytorch", "torch": torch.__version__, "threads": args.threads,
            "steps": args.steps, "seed": seed, "head": args.head,
            "wall_seconds": wall, "steps_per_second": args.steps / wall,
            "final_train_acc": ta, "final_val_acc": vacc,
            "final_train_loss": tl, "final_val_loss": vl,
            "steps_to_train_acc": first_step(history, 2),
            "steps_to_val_acc": first_step(history, 4),
        }), flush=True)


if __name__ == "__main__":
    main()
