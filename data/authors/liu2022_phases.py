"""Derives liu2022-phases.csv and liu2022-fraction.csv from the authors' own results (ejmichaud/grokking-squared @ 0229df9,
toy/results/fig3, fig4 and fig5{a,b,c,d}/*.txt), the phases with the rule of their plotting notebooks (toy/Figure5.ipynb,
toy/Figure5d_permutation.ipynb), and the toy's validation pairs of their seeds 58 and 1.

    python3 data/authors/liu2022_phases.py GIT_DIR data/authors

GIT_DIR is a clone of the repository (its .git). Needs numpy (for the splits).
"""
import subprocess
import sys

import numpy as np

git, out = sys.argv[1], sys.argv[2]


def show(path):
    out = subprocess.run(["git", f"--git-dir={git}", "show", f"HEAD:{path}"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


STEPS = 10_000


def phase(train, test, gap):
    # Figure5.ipynb: a step of steps - 1 means never reached; the masks sum to the phase index,
    # so a cell whose test accuracy is reached but train accuracy is not reads 0 (comprehension)
    # and a gap equal to the threshold reads 0 too
    never = STEPS - 1
    if train < never and test < never:
        return "grokking" if test - train > gap else "comprehension"
    if train < never and test == never:
        return "memorization"
    if train == never and test == never:
        return "confusion"
    return "comprehension"


lrs = 10 ** np.linspace(-5, -2, num=10)
rows = []
for e1 in lrs:  # fig. 5(a): embedding lr x decoder lr, gap 2e3
    for e2 in lrs:
        tr = int(show(f"toy/results/fig5a/trainstep_eta1_{e1:.5f}_eta2_{e2:.5f}.txt"))
        te = int(show(f"toy/results/fig5a/teststep_eta1_{e1:.5f}_eta2_{e2:.5f}.txt"))
        rows.append(("fig5a", e1, e2, tr, te, phase(tr, te, 2000)))
for fig in ["fig5b", "fig5c"]:  # decoder lr x weight decay 0..10, gap 1e3
    for e in lrs:
        for wd in range(11):
            tr = int(show(f"toy/results/{fig}/trainstep_eta_{e:.5f}_wd_{wd:.5f}.txt"))
            te = int(show(f"toy/results/{fig}/teststep_eta_{e:.5f}_wd_{wd:.5f}.txt"))
            rows.append((fig, e, wd, tr, te, phase(tr, te, 1000)))
for e in lrs:  # fig. 5(d): S3, decoder lr x weight decay, gap 1e3
    for wd in [0, 1, 2, 3, 5, 10, 20, 30, 50, 100, 200]:
        tr = int(show(f"toy/results/fig5d/train_eta2_{e:.5f}_wd_{wd:.1f}.txt"))
        te = int(show(f"toy/results/fig5d/test_eta2_{e:.5f}_wd_{wd:.1f}.txt"))
        rows.append(("fig5d", e, wd, tr, te, phase(tr, te, 1000)))

with open(f"{out}/liu2022-phases.csv", "w") as f:
    f.write("figure,x,y,train_step,test_step,phase\n")
    for fig, x, y, tr, te, ph in rows:
        y = y if isinstance(y, int) else f"{y:.6e}"
        f.write(f"{fig},{x:.6e},{y},{tr},{te},{ph}\n")

# fig. 3 (5,000 steps: predicted and real accuracy over all pairs) and fig. 4 (10^4 steps: the
# first step with RQI > 0.95, 9999 when never), per training-set size and seed
with open(f"{out}/liu2022-fraction.csv", "w") as f:
    f.write("train_num,seed,train_ratio,pred_acc,real_acc,rqi_step\n")
    for n in [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 54]:
        for seed in [0, 1, 2]:
            ratio = show(f"toy/results/fig3/trainfrac_num_{n}_seed_{seed}.txt")
            pred = show(f"toy/results/fig3/predacc_num_{n}_seed_{seed}.txt")
            real = show(f"toy/results/fig3/realacc_num_{n}_seed_{seed}.txt")
            rqi = int(show(f"toy/results/fig4/rqistep_num_{n}_seed_{seed}.txt"))
            f.write(f"{n},{seed},{ratio:.6f},{pred:.6f},{real:.6f},{rqi}\n")

# the toy's validation pairs (train_add.py: np.random.seed(seed), normal(19, 30), choice(55, 45))
for seed in [58, 1]:
    np.random.seed(seed)
    np.random.normal(0, 1, size=(19, 30))
    pairs = [(i, j) for i in range(10) for j in range(i, 10)]
    train = np.random.choice(55, 45, replace=False)
    val = sorted(set(range(55)) - set(train))
    print(f"# seed {seed} validation pairs: {[list(pairs[k]) for k in val]}", file=sys.stderr)
