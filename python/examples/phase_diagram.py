"""A phase diagram of the toy model (Liu et al. 2022, fig. 5 style): decoder learning rate x
weight decay, each cell a run classified as comprehension, grokking, memorisation or confusion,
drawn from the sweep's table with pandas.

    python python/examples/phase_diagram.py    (30 runs, under a minute on 2 cores)
"""

import groklab

sweep = groklab.sweep("liu2022-phase-regression-quick")
table = sweep.table
print(f"{len(table)} runs in {sweep.dir}; phases: {table['phase'].value_counts().to_dict()}")

# rows: weight decay, columns: decoder learning rate, cells: the phase's first letter
grid = table.pivot_table(index="optim.decoder.weight_decay", columns="optim.decoder.lr",
                         values="phase", aggfunc="first")
print(grid.apply(lambda col: col.str[0].str.upper()).sort_index(ascending=False)
      .rename(columns=lambda lr: f"{lr:.0e}").to_string())

# steps to generalise where a run did, as a number grid
steps = table.pivot_table(index="optim.decoder.weight_decay", columns="optim.decoder.lr",
                          values="steps_to_val_acc", aggfunc="median")
print(steps.round(-1).sort_index(ascending=False).rename(columns=lambda lr: f"{lr:.0e}").to_string())

try:  # a heatmap when matplotlib is there; sweep.plot() gives groklab's own SVGs in Jupyter
    import matplotlib.pyplot as plt

    codes = {"comprehension": 0, "grokking": 1, "memorization": 2, "memorisation": 2, "confusion": 3}
    fig, ax = plt.subplots()
    ax.imshow(grid.replace(codes).astype(float).values, origin="lower", cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(grid.columns)), [f"{v:.0e}" for v in grid.columns], rotation=90)
    ax.set_yticks(range(len(grid.index)), grid.index)
    ax.set_xlabel("decoder lr")
    ax.set_ylabel("weight decay")
    fig.tight_layout()
    fig.savefig("phase_diagram.png", dpi=120)
    print("wrote phase_diagram.png")
except ImportError:
    print(f"figures (SVG) in {sweep.dir}: {', '.join(sweep.plot())}")
