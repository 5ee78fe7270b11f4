#!/usr/bin/env python3
"""PyTorch reference of groklab's sparse-parity study (`merrill2023-parity`, Merrill, Tsilivis,
Shukla 2023): the same training and the same probes at the same schedule, to compare speed.

* Task: x uniform in {-1, +1}^40, y = x0 x1 x2; 1000 training samples, 100 test samples.
* Model: f(x) = u . relu(W x + b), width 1000, no output bias, PyTorch's default init.
* Hinge loss, SGD lr 0.1, coupled weight decay 0.01 (torch.optim.SGD's weight_decay), batches of
  32 reshuffled every epoch (DataLoader without drop_last), 300 epochs, float32, one thread.
* Every epoch, before the epoch's updates (and at the end): train/test loss and accuracy, every
  neuron's incoming-weight norm, a copy of the parameters; every 10 epochs: effective sparsity
  (the smallest m whose top-m-by-norm subnetwork predicts every training sample's sign as the full
  network does, every m scanned) and the average sensitivity on the test set.
* At the end: the generalising subnetwork (final top-m), its complement and a random control;
  at every epoch their mean norms and faithfulness on train and test (float64); the memorisation
  epoch (first train accuracy > 0.98); the largest-norm neuron at memorisation and at the end.

    python3 bench/pytorch/sparse_parity.py --seeds 0,1,2,3,4 --jobs 2
prints one JSON line per seed and one with the wall time of the whole study.
"""
import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor

N, K, N_TRAIN, N_TEST, WIDTH, EPOCHS, BATCH, LR, WD, EVERY = 40, 3, 1000, 100, 1000, 300, 32, 0.1, 0.01, 10


def study(seed):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    x = torch.randint(0, 2, (N_TRAIN, N)).float() * 2 - 1
    xt = torch.randint(0, 2, (N_TEST, N)).float() * 2 - 1
    y, yt = x[:, :K].prod(dim=1), xt[:, :K].prod(dim=1)
    hidden, out = torch.nn.Linear(N, WIDTH), torch.nn.Linear(WIDTH, 1, bias=False)
    params = list(hidden.parameters()) + list(out.parameters())
    opt = torch.optim.SGD(params, lr=LR, weight_decay=WD)

    def f(inp):
        return out(torch.relu(hidden(inp))).squeeze(1)

    def contributions(w, b, u, inp):  # float64, [n, width]
        return torch.relu(inp @ w.T + b) * u

    def effective_sparsity(c, order):
        prefix = torch.cumsum(c[:, order], dim=1)
        full = torch.sign(prefix[:, -1:])
        ok = (torch.sign(prefix) == full).all(dim=0)
        return int(torch.nonzero(ok)[0]) + 1

    snapshots, rows = [], []
    x64, xt64 = x.double(), xt.double()
    for epoch in range(EPOCHS + 1):
        with torch.no_grad():
            ft, fv = f(x), f(xt)
            tl, vl = torch.relu(1 - y * ft).mean().item(), torch.relu(1 - yt * fv).mean().item()
            ta, va = (torch.sign(ft) == y).double().mean().item(), (torch.sign(fv) == yt).double().mean().item()
            w, b, u = hidden.weight.double(), hidden.bias.double(), out.weight.double()[0]
            norms = w.norm(dim=1)
            snapshots.append((w.clone(), b.clone(), u.clone(), ta, va, norms))
            row = {"epoch": epoch, "train_loss": tl, "val_loss": vl, "train_acc": ta, "val_acc": va}
            if epoch % EVERY == 0:
                order = torch.argsort(norms, descending=True)
                row["effective_sparsity"] = effective_sparsity(contributions(w, b, u, x64), order)
                z = xt64 @ w.T + b
                full = torch.sign(torch.relu(z) @ u)
                flips = 0
                for j in range(N):  # flip bit j of every test input
                    zf = z - 2 * xt64[:, j:j + 1] * w[:, j]
                    flips += (torch.sign(torch.relu(zf) @ u) != full).sum().item()
                row["sensitivity"] = flips / N_TEST
            rows.append(row)
        if epoch == EPOCHS:
            break
        for idx in torch.randperm(N_TRAIN).split(BATCH):
            loss = torch.relu(1 - y[idx] * f(x[idx])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    # the end: subnetworks over time
    w, b, u, _, _, norms = snapshots[-1]
    order = torch.argsort(norms, descending=True)
    m = effective_sparsity(contributions(w, b, u, x64), order)
    gen = order[:m]
    rest = order[m:][torch.randperm(WIDTH - m)]
    ctrl = rest[:m]
    comp_mask = torch.ones(WIDTH, dtype=torch.bool)
    comp_mask[gen] = False
    sub = []
    for w, b, u, _, _, nrm in snapshots:
        entry = [nrm[gen].mean().item(), nrm[comp_mask].mean().item(), nrm[ctrl].mean().item()]
        for inp in (x64, xt64):
            c = contributions(w, b, u, inp)
            full = torch.sign(c.sum(dim=1))
            for s in (c[:, gen].sum(dim=1), c[:, comp_mask].sum(dim=1), c[:, ctrl].sum(dim=1)):
                entry.append((torch.sign(s) == full).double().mean().item())
        sub.append(entry)
    mem = next((e for e, s in enumerate(snapshots) if s[3] > 0.98), None)
    jump = next((e for e, s in enumerate(snapshots) if s[4] >= 0.9), None)
    largest_mem = int(torch.argmax(snapshots[mem][5])) if mem is not None else None
    largest_end = int(torch.argmax(snapshots[-1][5]))
    return {
        "impl": "pytorch", "torch": torch.__version__, "seed": seed,
        "wall_seconds": time.perf_counter() - t0, "final_subnetwork_size": m,
        "memorization_epoch": mem, "test_jump_epoch": jump, "final_test_acc": rows[-1]["val_acc"],
        "largest_neuron_memorization": largest_mem, "largest_neuron_final": largest_end,
        "evaluations": len(rows), "subnetwork_rows": len(sub),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for r in pool.map(study, seeds):
            print(json.dumps(r), flush=True)
    print(json.dumps({"impl": "pytorch", "study": "merrill2023-parity", "seeds": len(seeds),
                      "jobs": args.jobs, "wall_seconds": time.perf_counter() - t0}))
