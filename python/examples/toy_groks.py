"""The toy model of Liu et al. (2022) groks, its representation's quality (RQI) rising as it
does, with the effective theory beside it: how likely its training set is to determine the
generalising representation at all.

    python python/examples/toy_groks.py        (a few seconds; writes runs/liu2022-toy-seed0...)
"""

import groklab

run = groklab.train("liu2022-toy", seed=0)
s = run.summary
print(f"{s['name']} seed {s['seed']}: {s['phase']}; train accuracy >= 90% at step "
      f"{s['steps_to_train_acc']}, validation at {s['steps_to_val_acc']}")

# one row per evaluation (log-spaced steps): accuracy and RQI over training, a dozen of them
m = run.metrics.set_index("step")
print(m[["train_acc", "val_acc", "rqi", "acc_hat"]].iloc[:: max(1, len(m) // 12)].to_string())

# the effective theory (section 4): P(nullity = 2) at this training-set size
theory = groklab.theory.addition(p=10, samples=2000)
pairs = int(run.table("split")["train"].sum())
row = theory["table"].set_index("size").loc[pairs]
print(f"{pairs} of {theory['pairs']} training pairs (fraction {row['fraction']:.2f}): "
      f"P(nullity = 2) = {row['p_nullity2']:.3f}; the critical fraction is "
      f"{theory['critical_fraction']:.3f}")

try:  # a figure when matplotlib is there; run.plot() gives groklab's own SVGs in Jupyter
    import matplotlib.pyplot as plt

    ax = m[["train_acc", "val_acc", "rqi"]].plot(logx=True, title="liu2022-toy, seed 0")
    ax.figure.savefig("toy_groks.png", dpi=120)
    print("wrote toy_groks.png")
except ImportError:
    print(f"figures (SVG) in {run.dir}: {', '.join(run.plot())}")
