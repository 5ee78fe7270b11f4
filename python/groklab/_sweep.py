"""Sweeps: ``groklab.sweep`` runs one (or continues it), giving a :class:`Sweep`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

from . import _groklab
from ._config import _document, _literal
from ._display import SVG, Plots, read_csv
from ._job import drive
from ._run import Run

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Sweep", "sweep"]


class Sweep:
    """A sweep directory, as ``groklab sweep`` writes it.

    ``table`` (DataFrame of sweep.csv: one row per finished run, its axis values, phase, steps to
    the thresholds and final metrics), ``runs`` (run id -> :class:`Run`), ``definition`` (the
    stored sweep.toml), ``outcome`` (what the last call did), ``plot()`` (phase diagrams and
    heatmaps as SVG) and ``dir``.
    """

    def __init__(self, directory: Union[str, os.PathLike], outcome: Optional[dict] = None):
        self.dir = Path(directory).absolute()
        if not (self.dir / "sweep.toml").is_file():
            raise ValueError(f"{self.dir} is not a groklab sweep directory (no sweep.toml)")
        self.outcome = outcome

    @property
    def table(self) -> "pd.DataFrame":
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

    def plot(self, name: Optional[str] = None) -> "Union[Plots, SVG]":
        """The sweep's SVGs (phase diagram, steps to generalise, ...), inline in Jupyter."""
        plots = Plots.of(self.dir)
        return plots if name is None else plots[name]

    def __repr__(self) -> str:
        return f"<groklab.Sweep {self.dir}: {len(self.runs)} runs finished>"


def _source(source: Any) -> "tuple[str, str]":
    """What a sweep source is: ("dir" | "file" | "text" | "preset", the string for the engine)."""
    if isinstance(source, Mapping):
        return "text", _document(source)
    s = os.fspath(source)
    if "\n" in s:
        return "text", s
    try:
        if Path(s).is_dir():
            return "dir", s
        if Path(s).is_file() or isinstance(source, os.PathLike) or s.endswith(".toml"):
            return "file", s
    except OSError:  # a name too long for a path: not one
        pass
    return ("text" if "=" in s else "preset"), s


def sweep(
    source: Union[str, os.PathLike, Mapping[str, Any]],
    out: Union[str, os.PathLike, None] = None,
    jobs: Optional[int] = None,
    sets: Optional[Mapping[str, Any]] = None,
    progress: bool = True,
    *,
    chunk: Optional[int] = None,
) -> Sweep:
    """Runs a sweep exactly as ``groklab sweep`` does and returns it as a :class:`Sweep`.

    ``source``: a sweep preset's name, a SWEEP.toml file, the definition as TOML text or as a
    dict (``{"name": ..., "base": "liu2022-toy", "axes": [{"key": ..., "values": [...]}]}``), or
    an existing sweep directory (continued where it is, as ``groklab sweep resume DIR``).
    ``out``: the sweep directory (default ``sweeps/NAME``); given the directory of the same sweep
    it keeps the finished runs and trains the rest, as the CLI does. ``jobs``: worker threads
    (default: the cores); ``chunk``: runs trained together as one ensemble (``--chunk``).
    ``sets``: dotted keys applied to every run (``--set``). Ctrl-C stops the sweep after the step each
    worker is in, with the unfinished runs' states saved: the same call continues it.
    """
    kind, s = _source(source)
    pairs = [f"{k}={_literal(v)}" for k, v in (sets or {}).items()]
    job = _groklab.start_sweep(kind, s, pairs, None if out is None else os.fspath(out), jobs, chunk)
    done = drive(job, progress=progress, desc=Path(s).name, unit="run", on_interrupt=lambda _: None)
    return Sweep(done["dir"], done)
