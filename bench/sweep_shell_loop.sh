#!/usr/bin/env bash
# The baseline a sweep replaces: one `groklab train` process per cell of the
# liu2022-phase-regression grid (decoder lr 10^linspace(-5,-2,16) x weight decay 0..10, 10^4
# steps, covered split, seed 58), two at a time on two cores. Prints the wall time and checks
# that every run's phase equals the sweep's row for it when a sweep directory is given.
#   bench/sweep_shell_loop.sh OUT_DIR [SWEEP_DIR]
set -euo pipefail
out=${1:?usage: bench/sweep_shell_loop.sh OUT_DIR [SWEEP_DIR]}
sweep=${2:-}
groklab=${GROKLAB:-target/release/groklab}
mkdir -p "$out"
cmds=$(python3 - "$out" "$groklab" <<'PY'
import sys
out, g = sys.argv[1], sys.argv[2]
k = 0
for i in range(16):
    lr = float(f"{10 ** (-5 + 3 * i / 15):.11e}")
    for wd in range(11):
        print(f"{g} train preset liu2022-toy --seed 58 --set train.steps=10000 --set task.split=covered "
              f"--set optim.decoder.lr={lr!r} --set optim.decoder.weight_decay={wd} --out {out}/r{k:04d} -q")
        k += 1
PY
)
start=$(date +%s.%N)
echo "$cmds" | xargs -P 2 -I{} sh -c '{}'
end=$(date +%s.%N)
python3 - "$out" "$sweep" "$start" "$end" <<'PY'
import csv, json, os, sys
out, sweep, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
runs = sorted(os.listdir(out))
print(f"shell loop: {len(runs)} runs in {t1 - t0:.1f} s ({len(runs) * 60 / (t1 - t0):.1f} runs/min)")
if sweep:
    rows = {r["run"]: r for r in csv.DictReader(open(os.path.join(sweep, "sweep.csv")))}
    same = sum(json.load(open(os.path.join(out, r, "summary.json")))["phase"] == rows[r]["phase"] for r in runs)
    print(f"phases equal to the sweep's: {same} of {len(runs)}")
PY
