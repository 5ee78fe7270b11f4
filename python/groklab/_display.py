"""The SVGs groklab draws, shown inline by IPython (no plotting library involved)."""

from __future__ import annotations

import html
from pathlib import Path


def read_csv(path):
    """A groklab CSV as a DataFrame, every float exactly as written (pandas before 3.0 parses
    floats to within an ulp unless asked for round trips)."""
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")


class SVG:
    """One SVG file; Jupyter displays it inline, ``.data`` is its text, ``.path`` where it is."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.data = self.path.read_text(encoding="utf-8")

    def _repr_svg_(self) -> str:
        return self.data

    def __repr__(self) -> str:
        return f"<groklab.SVG {self.path}>"


class Plots(dict):
    """Name -> :class:`SVG`; Jupyter displays all of them, each under its name."""

    def _repr_html_(self) -> str:
        return "".join(
            f"<figure style='display:inline-block;margin:4px'>{svg.data}"
            f"<figcaption>{html.escape(name)}</figcaption></figure>"
            for name, svg in self.items()
        )

    @classmethod
    def of(cls, directory: Path) -> "Plots":
        return cls((p.stem, SVG(p)) for p in sorted(Path(directory).glob("*.svg")))
