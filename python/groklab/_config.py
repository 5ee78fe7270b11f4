"""Configs: a run's TOML document, edited by dotted keys as ``--set`` edits it."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Union

from . import _groklab

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Config", "config", "presets"]


def _literal(value: Any) -> str:
    """A Python value as a TOML literal (what ``--set key=VALUE`` would be given)."""
    if type(value).__module__ == "numpy":
        # numpy scalars and arrays (np.float64 is a float whose repr is not a number)
        return _literal(value.tolist())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(float(value))
    if isinstance(value, str):
        # TOML basic strings take JSON's escapes; DEL must be escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(str(k))} = {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write a {type(value).__name__} into a config: use bool, int, float, str, list or dict")


def _document(table: Mapping[str, Any]) -> str:
    """A dict as a TOML document (tables and arrays of tables written inline)."""
    return "".join(f"{_literal(str(k))} = {_literal(v)}\n" for k, v in table.items())


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class Config(MutableMapping):
    """A validated run config: a mapping from dotted keys (``"optim.decoder.lr"``) to values.

    Every edit is checked by the engine exactly as ``groklab train --set`` checks it, and a bad one
    raises :class:`groklab.ConfigError` (a ``ValueError``) naming the key, the value and what is
    allowed; the config is then unchanged. ``update()`` sets several keys and checks once (for
    changes that are only valid together, such as another model kind and its keys).

    >>> c = groklab.config("liu2022-toy")
    >>> c["optim.decoder.weight_decay"] = 1.0
    >>> print(c.to_toml())
    """

    def __init__(self, toml: str, source: str = "the config", overrides: list[str] | None = None):
        _groklab.validate(toml, source)
        self._toml = toml
        # what the CLI would have been given as --set, for the run's name and provenance
        self._overrides: list[str] = list(overrides or [])

    # -- reading
    def to_dict(self) -> dict[str, Any]:
        """The document as nested dicts."""
        return json.loads(_groklab.to_json(self._toml))

    def to_toml(self) -> str:
        """The document as TOML, which ``groklab train FILE.toml`` accepts."""
        return self._toml

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the TOML to a new file (an existing file is not replaced)."""
        with open(path, "x", encoding="utf-8") as f:
            f.write(self._toml)

    @property
    def name(self) -> str:
        return self.get("name", "custom")

    def __getitem__(self, key: str) -> Any:
        """The value of a dotted key; for a table (``"optim.decoder"``) a copy of its keys below
        (edit through the dotted keys, ``c["optim.decoder.lr"] = ...``)."""
        flat = _flatten(self.to_dict())
        if key in flat:
            return flat[key]
        # a table: its keys below
        sub = {k[len(key) + 1 :]: v for k, v in flat.items() if k.startswith(key + ".")}
        if sub:
            return sub
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_flatten(self.to_dict()))

    def __len__(self) -> int:
        return len(_flatten(self.to_dict()))

    # -- editing
    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        raise TypeError("config keys cannot be deleted; set them to another value")

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        """Sets several dotted keys and validates once. Keyword names may use ``__`` for ``.``."""
        items = dict(other.items() if isinstance(other, Mapping) else other)
        items.update({k.replace("__", "."): v for k, v in kwargs.items()})
        pairs = [(str(k), _literal(v)) for k, v in items.items()]
        self._toml = _groklab.set_keys(self._toml, pairs)
        self._overrides += [f"{k}={lit}" for k, lit in pairs]

    def copy(self) -> "Config":
        return Config(self._toml, overrides=self._overrides)

    def __repr__(self) -> str:
        return f"<groklab.Config {self.name!r}: {len(self)} keys>\n{self._toml}"


def config(source: Union[str, os.PathLike, Config], sets: Mapping[str, Any] | None = None, /, **overrides: Any) -> Config:
    """A run config: a preset's name, a TOML file, or a Config (copied), with overrides.

    Overrides are dotted keys as in ``--set`` (``sets={"optim.decoder.lr": 1e-3}``), or keywords
    with ``__`` for the dots (``optim__decoder__lr=1e-3``); all are applied, then validated once.
    Raises :class:`groklab.ConfigError` naming the key, the value and what is allowed.
    """
    if isinstance(source, Config):
        c = source.copy()
    elif isinstance(source, os.PathLike) or (isinstance(source, str) and source.endswith(".toml")):
        path = os.fspath(source)
        with open(path, encoding="utf-8") as f:
            c = Config(f.read(), path)
    else:
        c = Config(_groklab.preset_text(source, "run"), f"preset {source}")
    if sets or overrides:
        c.update(dict(sets or {}), **overrides)
    return c


def presets() -> "pd.DataFrame":
    """Every embedded preset as a DataFrame: name, kind (run or sweep), study, reproduces (paper
    and figure), description, runs. ``groklab.config(name)`` / ``groklab.sweep(name)`` load them."""
    import pandas as pd

    columns = ["name", "kind", "study", "reproduces", "description", "runs"]
    return pd.DataFrame(json.loads(_groklab.presets_json()), columns=columns)
