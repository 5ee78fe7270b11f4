#!/usr/bin/env python3
"""PyTorch reference for groklab's linear teacher-student run `levi2023-fig1-lambda0.9`: Gaussian
inputs x ~ N(0, I_1000), a linear teacher T ~ N(0, 1/(2 d_in d_out)), N = 1111 training samples
(lambda = 0.9), 10,000 fresh test samples, a linear student S0 drawn like the teacher, full-batch
gradient descent eta = 0.01 on (1/dout) mean ||S x - T x||^2 (no weight decay), float32, 40,000
steps; train and test loss and accuracy (per-sample error below eps = 1e-3) at ~150 log-spaced
steps, inside the timed loop as in groklab. One thread.

    python3 bench/pytorch/linear_gd.py --steps 40000
"""
import argparse
import json
import math
import time

import torch

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--steps", type=int, default=40000)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

D_IN, D_OUT, N, N_TEST, ETA, EPS = 1000, 1, 1111, 10000, 0.01, 1e-3
sd = 1 / math.sqrt(2 * D_IN * D_OUT)
teacher = torch.randn(D_IN, D_OUT) * sd
x, xt = torch.randn(N, D_IN), torch.randn(N_TEST, D_IN)
y, yt = x @ teacher, xt @ teacher
student = (torch.randn(D_IN, D_OUT) * sd).requires_grad_()
lg = math.log10(args.steps)
evals = {min(max(int(round(10 ** (lg * k / 149))), 1), args.steps) for k in range(150)} | {args.steps}


def loss_acc(xs, ys):
    err = ((xs @ student - ys) ** 2).mean(dim=1)
    return err.mean().item(), (err < EPS).double().mean().item()


history = []
t0 = time.perf_counter()
for step in range(1, args.steps + 1):
    loss = ((x @ student - y) ** 2).mean()
    student.grad = None
    loss.backward()
    with torch.no_grad():
        student -= ETA * student.grad
        if step in evals:
            history.append((step, *loss_acc(x, y), *loss_acc(xt, yt)))
wall = time.perf_counter() - t0
first = lambda k: next((h[0] for h in history if h[k] >= 0.95), None)
print(json.dumps({
    "impl": "pytorch", "torch": torch.__version__, "steps": args.steps, "wall_seconds": wall,
    "steps_per_second": args.steps / wall, "steps_to_train_acc": first(2), "steps_to_val_acc": first(4),
}))
