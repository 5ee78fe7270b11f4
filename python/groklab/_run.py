"""Runs: ``groklab.train`` makes one, ``groklab.load`` opens one; both give a :class:`Run`."""

from __future__ import annotations

import json
import os
import shutil
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from . import _groklab
from ._config import Config, config
from ._display import SVG, Plots, read_csv
from ._job import drive

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ._sweep import Sweep

__all__ = ["Run", "load", "read_safetensors", "train"]

# safetensors dtype names -> numpy's (bfloat16 has none)
_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}


def read_safetensors(path: Union[str, os.PathLike]) -> "dict[str, np.ndarray]":
    """A safetensors file (groklab's checkpoints, or any without bfloat16) as name -> numpy
    array, in the file's order."""
    import numpy as np

    out = {}
    for name, dtype, shape, data in _groklab.read_safetensors(os.fspath(path)):
        if dtype.upper() not in _DTYPES:
            raise _groklab.GroklabError(f"{path}: {name} has dtype {dtype}, which groklab does not write")
        out[name] = np.frombuffer(data, dtype=_DTYPES[dtype.upper()]).reshape(shape).copy()
    return out


class Run:
    """A run directory, as ``groklab train`` writes it.

    ``summary`` (dict, summary.json), ``metrics`` (DataFrame of metrics.csv: one row per
    evaluation), ``table(name)`` (any other CSV: ``"fourier"``, ``"embeddings"``, ``"split"``...),
    ``params`` (numpy arrays under TransformerLens names, from checkpoint.safetensors),
    ``config`` (the :class:`Config` it ran), ``plot()`` (its SVGs) and ``dir``.
    """

    def __init__(self, directory: Union[str, os.PathLike]):
        # absolute: a notebook's %cd must not lose the run
        self.dir = Path(directory).absolute()
        if not (self.dir / "summary.json").is_file():
            raise ValueError(f"{self.dir} is not a groklab run directory (no summary.json)")

    @cached_property
    def summary(self) -> dict:
        """summary.json: phase, steps to the accuracy thresholds, final metrics, provenance."""
        return json.loads((self.dir / "summary.json").read_text(encoding="utf-8"))

    @property
    def metrics(self) -> "pd.DataFrame":
        """metrics.csv as a DataFrame, values exactly as written (round-trip float parsing)."""
        return self.table("metrics")

    def tables(self) -> list[str]:
        """The names of the run's CSV tables."""
        return sorted(p.stem for p in self.dir.glob("*.csv"))

    def table(self, name: str) -> "pd.DataFrame":
        """``name``.csv of the run as a DataFrame (``run.tables()`` lists them)."""

        path = self.dir / f"{name}.csv"
        if not path.is_file():
            raise KeyError(f"{name!r}: this run has no {name}.csv; it has {', '.join(self.tables())}")
        return read_csv(path)

    @property
    def params(self) -> "dict[str, np.ndarray]":
        """The final parameters (checkpoint.safetensors) as numpy arrays, TransformerLens names."""
        return read_safetensors(self.dir / "checkpoint.safetensors")

    @property
    def init_params(self) -> "dict[str, np.ndarray]":
        """The initial parameters (init.safetensors)."""
        return read_safetensors(self.dir / "init.safetensors")

    @property
    def config(self) -> Config:
        """The config the run was made from (config.toml)."""
        return config(self.dir / "config.toml")

    def plot(self, name: Optional[str] = None) -> "Union[Plots, SVG]":
        """The run's SVGs (accuracy, loss, and those of its probes), inline in Jupyter; one by name."""
        plots = Plots.of(self.dir)
        return plots if name is None else plots[name]

    def __repr__(self) -> str:
        s = self.summary
        return f"<groklab.Run {s.get('name')} seed {s.get('seed')}: {s.get('phase')}, {s.get('steps')} steps, {self.dir}>"


def load(directory: Union[str, os.PathLike]) -> "Union[Run, Sweep]":
    """Opens a run directory (a :class:`Run`) or a sweep directory (a :class:`groklab.Sweep`)."""
    d = Path(directory)
    if (d / "sweep.toml").is_file():
        from ._sweep import Sweep

        return Sweep(d)
    return Run(d)


def _discard(path: Path, existed: bool) -> None:
    """Removes what an interrupted run wrote: the directory, or its contents when it was given
    empty by the user (their directory stays)."""
    if not path.exists():
        return
    if existed:
        for child in path.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    else:
        shutil.rmtree(path)


def train(
    source: Union[str, os.PathLike, Config],
    seed: Optional[int] = None,
    out: Union[str, os.PathLike, None] = None,
    progress: bool = True,
    *,
    root: Union[str, os.PathLike] = "runs",
) -> Run:
    """Trains one run, exactly as ``groklab train`` does, and returns it as a :class:`Run`.

    ``source``: a preset name, a TOML file, or a :class:`Config`; or the directory of an
    unfinished run (stopped by the CLI's Ctrl-C or SIGTERM, or killed), which is continued from
    its saved state as ``groklab train --resume DIR`` does. ``seed`` overrides the config's.
    ``out``: the run directory (absent or empty); by default a new one under ``root`` named as the
    CLI names it (preset, seed, overrides; ``-2``, ``-3``... when taken). ``progress``: a bar on
    stderr, or a widget in Jupyter. Training runs off the GIL; Ctrl-C (KeyboardInterrupt) stops it
    after the step it is in and removes the unfinished run directory before the interrupt goes on
    (a resumed run is kept instead, its state saved again, as the CLI keeps it).
    """
    if isinstance(source, os.PathLike) or (isinstance(source, str) and Path(source, "config.toml").is_file()):
        if Path(source).is_dir():
            return _resume(Path(source), seed, out, progress)
    c = config(source)
    text = c.to_toml()
    if seed is not None:
        # checked as the config's own key (a ConfigError naming `seed`), not as a --set override
        seeded = c.copy()
        seeded["seed"] = seed
        text = seeded.to_toml()
    out_path = None if out is None else Path(out)
    existed = out_path is not None and out_path.exists()
    job = _groklab.start_train(text, None if out_path is None else os.fspath(out_path), os.fspath(root), c._overrides)

    def on_interrupt(outcome: Optional[dict[str, Any]]) -> None:
        if outcome is None:
            # the work failed: remove only a directory this call created, never a user's files
            if out_path is not None and not existed:
                _discard(out_path, False)
        elif outcome["summary"].get("status") != "finished":
            # a run that finished as the interrupt came stays
            _discard(Path(outcome["dir"]), existed and Path(outcome["dir"]) == out_path)

    name = c.name if seed is None else f"{c.name} seed {seed}"
    done = drive(job, progress=progress, desc=name, unit="step", on_interrupt=on_interrupt)
    return Run(done["dir"])


def _resume(directory: Path, seed: Optional[int], out: Any, progress: bool) -> Run:
    if seed is not None or out is not None:
        raise ValueError(f"{directory}: a resumed run keeps its seed and directory; give neither `seed` nor `out`")
    job = _groklab.start_resume(os.fspath(directory))
    # interrupted again, the run stays unfinished with its state saved, as before this call
    done = drive(job, progress=progress, desc=directory.name, unit="step", on_interrupt=lambda _: None)
    return Run(done["dir"])
