#!/usr/bin/env python3
"""The liu2022-phase-regression grid the way the public code runs it: one PyTorch process per
configuration (bench/pytorch/toy_addition.py: decoder lr 10^linspace(-5,-2,16) x weight decay 0..10,
10^4 steps, one thread each), two processes at a time on two cores. Runs every K-th cell of the
176 and extrapolates the wall time to the whole grid; process start-up (importing torch) counts,
as it does for whoever runs the grid this way.

    python3 bench/pytorch/phase_grid.py --every 29      # 7 cells, about a minute
"""
import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--every", type=int, default=29, help="run cells 0, K, 2K, ...")
ap.add_argument("--steps", type=int, default=10000)
ap.add_argument("--jobs", type=int, default=2)
args = ap.parse_args()

cells = [(10 ** (-5 + 3 * i / 15), wd) for i in range(16) for wd in range(11)]
sample = cells[:: args.every]


def run(cell):
    lr, wd = cell
    out = subprocess.run(
        [sys.executable, "bench/pytorch/toy_addition.py", "--steps", str(args.steps), "--threads", "1",
         "--seed", "58", "--lr-dec", repr(lr), "--wd", str(wd)],
        capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


t0 = time.perf_counter()
with ThreadPoolExecutor(args.jobs) as pool:
    results = list(pool.map(run, sample))
wall = time.perf_counter() - t0
print(json.dumps({
    "impl": "pytorch, one process per cell", "cells_run": len(sample), "jobs": args.jobs,
    "steps": args.steps, "wall_seconds": wall,
    "extrapolated_seconds_176": wall * len(cells) / len(sample),
    "mean_training_steps_per_second": sum(r["steps_per_second"] for r in results) / len(results),
}))
