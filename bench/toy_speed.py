#!/usr/bin/env python3
"""Side-by-side speed of groklab and the PyTorch reference on the liu2022-toy setup.

Runs the two implementations alternately (so machine noise hits both alike), --rounds times each,
single-threaded, 5,000 full-batch steps with evaluation at log-spaced steps, and prints the median
steps per second of each and their ratio. Each implementation times its own training loop (model
construction and process start are excluded on both sides).

    cargo build --release
    python3 bench/toy_speed.py --rounds 7            # needs `pip install torch`
    python3 bench/toy_speed.py --rounds 7 --head classification
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def groklab(binary, head, seed, out):
    preset = "liu2022-toy" if head == "regression" else "liu2022-toy-classification"
    r = subprocess.run([binary, "train", "preset", preset, "--seed", str(seed), "--out", out, "-q", "--json"],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)["steps_per_second"]


def pytorch(head, seed):
    r = subprocess.run([sys.executable, str(ROOT / "bench/pytorch/toy_addition.py"), "--steps", "5000", "--threads", "1",
                        "--head", head, "--seed", str(seed)], check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["steps_per_second"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--head", choices=["regression", "classification"], default="regression")
    ap.add_argument("--binary", default=str(ROOT / "target/release/groklab"))
    a = ap.parse_args()
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.rounds):
            ours.append(groklab(a.binary, a.head, k, f"{tmp}/run{k}"))
            theirs.append(pytorch(a.head, k))
            print(f"round {k}: groklab {ours[-1]:.0f} steps/s, pytorch {theirs[-1]:.0f} steps/s", file=sys.stderr)
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(json.dumps({"setup": f"liu2022-toy ({a.head}), 5000 steps, 1 thread", "rounds": a.rounds,
                      "groklab_steps_per_second": round(mo, 1), "pytorch_steps_per_second": round(mt, 1),
                      "ratio": round(mo / mt, 2), "groklab_all": [round(x) for x in ours],
                      "pytorch_all": [round(x) for x in theirs]}))


if __name__ == "__main__":
    main()
