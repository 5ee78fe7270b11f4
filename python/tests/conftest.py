"""Shared fixtures: the CLI binary the package is compared with, and a scratch directory."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    """The groklab binary built from the same tree (`cargo build --release`, or GROKLAB_BIN)."""
    path = Path(os.environ.get("GROKLAB_BIN", ROOT / "target" / "release" / "groklab"))
    if not path.is_file():
        pytest.fail(f"no groklab binary at {path}: run `cargo build --release` first or set GROKLAB_BIN")
    return str(path)


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A fresh working directory (default run and sweep directories go under it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
