"""The examples run, and say what they are for."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    "script, expect",
    [
        ("toy_groks.py", ["liu2022-toy seed 0:", "rqi", "P(nullity = 2)", "critical fraction"]),
        ("phase_diagram.py", ["30 runs in", "optim.decoder.weight_decay"]),
    ],
)
def test_example_runs(here, script, expect):
    done = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, cwd=here)
    assert done.returncode == 0, done.stderr
    for e in expect:
        assert e in done.stdout, (e, done.stdout)
