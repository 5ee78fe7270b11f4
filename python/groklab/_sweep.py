"""Sweeps: ``groklab.sweep`` runs one (or continues it), giving a :class:`Sweep`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from . import _groklab
from ._config import _literal
from ._display import Plots, read_csv
from ._job import drive
from ._run import Run

__all__ = ["Sweep", "sweep"]


class Sweep:
    """A sweep directory, as ``groklab sweep`` writes it.

    ``table`` (DataFrame of sweep.csv: one row per finished run, its axis values, phase, steps to
    the thresholds and final metrics), ``runs`` (run id -> :class:`Run`), ``definition`` (the
    stored sweep.toml), ``outcome`` (what the last call did), ``plot()`` (phase diagrams and
    heatmaps as SVG) and ``dir``.
    """

    def __init__(self, directory: Union[str, os.PathLike], outcome: Optional[dict] = None):
        self.dir = Path(directory)
        if not (self.dir / "sweep.toml").is_file():
            raise ValueError(f"{self.dir} is not a groklab sweep directory (no sweep.toml)")
        self.outcome = outcome

    @property
    def table(self):
        """sweep.csv as a DataFrame, values exactly as written."""

        return read_csv(self.dir / "sweep.csv")

    @property
    def runs(self) -> dict[str, Run]:
        """Every finished run by id (``r0000``, ...)."""
        runs = self.dir / "runs"
        return {p.name: Run(p) for p in sorted(runs.iterdir()) if (p / "summary.json").is_file()} if runs.is_dir() else {}

    @property
    def definition(self) -> str:
        return (self.dir / "sweep.toml").read_text(encoding="utf-8")

    def plot(self, name: Optional[str] = None):
        """The sweep's SVGs (phase diagram, steps to generalise, ...), inline in Jupyter."""
        plots = Plots.of(self.dir)
        return plots if name is None else plots[name]

    def __repr__(self) -> str:
        return f"<groklab.Sweep {self.dir}: {len(self.runs)} runs finished>"


def sweep(
    source: Union[str, os.PathLike],
    out: Union[str, os.PathLike, None] = None,
    jobs: Optional[int] = None,
    sets: Optional[Mapping[str, Any]] = None,
    progress: bool = True,
) -> Sweep:
    """Runs a sweep exactly as ``groklab sweep`` does and returns it as a :class:`Sweep`.

    ``source``: a sweep preset's name, a SWEEP.toml file, TOML text, or an existing sweep
    directory (continued, as ``groklab sweep resume DIR``). ``out``: the sweep directory (default
    ``runs/sweep-NAME``); given the directory of the same sweep it keeps the finished runs and
    trains the rest, as the CLI does. ``jobs``: worker threads (default: the cores). ``sets``:
    dotted keys applied to every run (``--set``). Ctrl-C stops the sweep after the step each
    worker is in, with the unfinished runs' states saved: the same call continues it.
    """
    s = os.fspath(source)
    if Path(s, "sweep.toml").is_file():
        kind = "dir"
    elif s.endswith(".toml"):
        kind = "file"
    elif "\n" in s or "=" in s:
        kind = "text"
    else:
        kind = "preset"
    pairs = [f"{k}={_literal(v)}" for k, v in (sets or {}).items()]
    job = _groklab.start_sweep(kind, s, pairs, None if out is None else os.fspath(out), jobs)
    done = drive(job, progress=progress, desc=Path(s).name, unit="run", on_interrupt=lambda _: None)
    return Sweep(done["dir"], done)
