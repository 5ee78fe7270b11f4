#!/usr/bin/env python3
"""Simulated grokking time of the linear teacher-student model against the Marchenko-Pastur theory.

For each lambda and seed, trains `levi2023-fig1-lambda0.9` with `task.lambda` set (d_in = 1000,
dout = 1, gamma = 0, eps = 1e-3, GD eta = 0.01, 300 log-spaced evaluations) and reads t_train and
t_gen (first step where train / test accuracy reaches 0.95, interpolated linearly between the
evaluations around the crossing) from metrics.csv; the theory comes from `groklab theory linear`.

    cargo build --release
    python3 bench/linear_grokking_time.py --seeds 5 --lambdas 0.3,0.5,0.7,0.9
"""
import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def crossing(steps, vals, level):
    for k, v in enumerate(vals):
        if v >= level:
            if k == 0:
                return steps[0]
            s0, s1, v0 = steps[k - 1], steps[k], vals[k - 1]
            return s0 + (level - v0) / (v - v0) * (s1 - s0)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lambdas", default="0.3,0.5,0.7,0.9")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--binary", default=str(ROOT / "target/release/groklab"))
    a = ap.parse_args()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for lam in [float(x) for x in a.lambdas.split(",")]:
            th = json.loads(subprocess.run([a.binary, "theory", "linear", "--lambda", str(lam), "--json"], check=True,
                                           capture_output=True, text=True).stdout)
            steps = int(1.4 * th["t_gen"]) + 100
            dts, trs, gens = [], [], []
            for seed in range(a.seeds):
                d = f"{tmp}/{lam}-{seed}"
                subprocess.run([a.binary, "train", "preset", "levi2023-fig1-lambda0.9", "--set", f"task.lambda={lam}",
                                "--set", f"train.steps={steps}", "--set", "eval.log_points=300", "--seed", str(seed),
                                "--out", d, "-q"], check=True, capture_output=True)
                rows = list(csv.DictReader(open(f"{d}/metrics.csv")))
                st = [float(r["step"]) for r in rows]
                tt = crossing(st, [float(r["train_acc"]) for r in rows], 0.95)
                tg = crossing(st, [float(r["val_acc"]) for r in rows], 0.95)
                trs.append(tt)
                gens.append(tg)
                dts.append(tg - tt if tt is not None and tg is not None else None)
            ok = [x for x in dts if x is not None]
            row = {"lambda": lam, "theory_t_train": th["t_train"], "theory_t_gen": th["t_gen"], "theory_delta_t": th["delta_t"],
                   "sim_delta_t_mean": statistics.mean(ok) if ok else None,
                   "sim_delta_t_sd": statistics.stdev(ok) if len(ok) > 1 else None,
                   "sim_delta_t_min": min(ok) if ok else None, "sim_delta_t_max": max(ok) if ok else None,
                   "sim_t_train_mean": statistics.mean(x for x in trs if x is not None),
                   "sim_t_gen_mean": statistics.mean(x for x in gens if x is not None) if any(g is not None for g in gens) else None,
                   "seeds": a.seeds, "reached": len(ok)}
            row["rel_diff"] = (row["sim_delta_t_mean"] - th["delta_t"]) / th["delta_t"] if ok else None
            out.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(f"{'lambda':>6} {'theory dt':>10} {'sim dt mean':>12} {'sd':>8} {'min..max':>17} {'rel diff':>9}  t_train th/sim   t_gen th/sim")
    for r in out:
        print(f"{r['lambda']:>6} {r['theory_delta_t']:>10.0f} {r['sim_delta_t_mean']:>12.0f} {r['sim_delta_t_sd']:>8.0f} "
              f"{r['sim_delta_t_min']:>8.0f}..{r['sim_delta_t_max']:<8.0f} {100 * r['rel_diff']:>8.1f}%  "
              f"{r['theory_t_train']:.0f}/{r['sim_t_train_mean']:.0f}   {r['theory_t_gen']:.0f}/{r['sim_t_gen_mean']:.0f}")


if __name__ == "__main__":
    main()
