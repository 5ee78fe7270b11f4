"""groklab: a laboratory for grokking, from Python.

The same engine as the ``groklab`` binary (Rust, through PyO3): train a preset or your own
config, sweep hyperparameters into phase diagrams, put the theory beside it, and read every
result as pandas DataFrames, numpy arrays and inline SVGs.

>>> import groklab
>>> run = groklab.train("liu2022-toy", seed=0)
>>> run.metrics[["step", "train_acc", "val_acc", "rqi"]].tail()
>>> groklab.theory.addition(p=10)["critical_fraction"]

Main entries: :func:`presets`, :func:`config`, :func:`train`, :func:`load`, :func:`sweep`,
:mod:`groklab.theory`. Errors in a config raise :class:`ConfigError` (a ``ValueError``) naming
the key, the value and what is allowed.
"""

from . import theory
from ._config import Config, config, presets
from ._display import SVG, Plots, read_csv
from ._groklab import ConfigError, GroklabError, __version__
from ._run import Run, load, read_safetensors, train
from ._sweep import Sweep, sweep

__all__ = [
    "Config",
    "ConfigError",
    "GroklabError",
    "Plots",
    "Run",
    "SVG",
    "Sweep",
    "__version__",
    "config",
    "load",
    "presets",
    "read_csv",
    "read_safetensors",
    "sweep",
    "theory",
    "train",
]
