#!/usr/bin/env python3
"""Training-fraction sweep of the toy addition model beside the effective theory's critical fraction.

For each training fraction and seed, trains `liu2022-toy` with `task.train` set to that fraction
and records validation accuracy and RQI after the budget; then runs `groklab theory addition` for
P(nullity = 2) at the same sizes. Prints a table (medians over seeds) and writes CSV.
(A shell loop until `groklab sweep` exists.)

    cargo build --release
    python3 bench/toy_fraction_sweep.py --seeds 3 --steps 10000 --csv fraction_sweep.csv
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fractions", default="0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--csv", default=None)
    ap.add_argument("--binary", default=str(ROOT / "target/release/groklab"))
    a = ap.parse_args()
    theory = json.loads(subprocess.run([a.binary, "theory", "addition", "--p", "10", "--samples", "10000", "--json"],
                                       check=True, capture_output=True, text=True).stdout)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in [float(x) for x in a.fractions.split(",")]:
            for seed in range(a.seeds):
                r = subprocess.run([a.binary, "train", "preset", "liu2022-toy", "--set", f"task.train={f}", "--set",
                                    f"train.steps={a.steps}", "--seed", str(seed), "--out", f"{tmp}/{f}-{seed}", "-q",
                                    "--json"], check=True, capture_output=True, text=True)
                s = json.loads(r.stdout)
                size = round(f * 55)
                rows.append({"fraction": f, "train_size": size, "seed": seed, "val_acc": s["final"]["val_acc"],
                             "rqi": s["final"]["rqi"], "phase": s["phase"], "steps_to_val_acc": s["steps_to_val_acc"],
                             "p_nullity2": theory["p_nullity2"][str(size)]})
                print(f"fraction {f} seed {seed}: val acc {s['final']['val_acc']:.2f}, RQI {s['final']['rqi']:.2f}, "
                      f"{s['phase']}", file=sys.stderr)
    if a.csv:
        with open(a.csv, "w") as fh:
            fh.write(",".join(rows[0].keys()) + "\n")
            for r in rows:
                fh.write(",".join("" if v is None else str(v) for v in r.values()) + "\n")
    print(f"critical fraction (theory, P(nullity=2) = 1/2): {theory['critical_fraction']:.3f}")
    print(f"{'fraction':>8} {'size':>4} {'P(null=2)':>9} {'median val acc':>14} {'median RQI':>10}  phases")
    for f in sorted({r["fraction"] for r in rows}):
        rs = [r for r in rows if r["fraction"] == f]
        print(f"{f:>8.2f} {rs[0]['train_size']:>4} {rs[0]['p_nullity2']:>9.3f} "
              f"{statistics.median(r['val_acc'] for r in rs):>14.2f} {statistics.median(r['rqi'] for r in rs):>10.2f}  "
              + " ".join(r["phase"] for r in rs))


if __name__ == "__main__":
    main()
