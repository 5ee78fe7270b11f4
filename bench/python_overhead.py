"""The overhead of `groklab.train` against the binary on the same run (issue 19).

    python bench/python_overhead.py [PRESET] [REPEATS]      (default liu2022-toy, 7)

Alternates, REPEATS times: the binary (`groklab train preset P -q`, a process), `groklab.train`
in this process (progress off, and on), and a fresh `python -c "import groklab; groklab.train(..)"`
process. Prints the median wall time of each and the engine's own training time (summary.json
wall_seconds), so that what is spent outside training shows. Run from the repository's root
after `cargo build --release` and `pip install ./python`.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import groklab

preset = sys.argv[1] if len(sys.argv) > 1 else "liu2022-toy"
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 7
binary = str(Path("target/release/groklab").resolve())
times = {k: [] for k in ["binary", "python (in process)", "python (in process, bar)", "python (new process)"]}
engine = {k: [] for k in times}
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for i in range(repeats):
        for kind in times:
            out = tmp / f"{kind.replace(' ', '_')}-{i}"
            t = time.perf_counter()
            if kind == "binary":
                subprocess.run([binary, "train", "preset", preset, "-q", "--out", str(out)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            elif kind == "python (new process)":
                code = f"import groklab; groklab.train({preset!r}, out={str(out)!r}, progress=False)"
                subprocess.run([sys.executable, "-c", code], check=True)
            else:
                groklab.train(preset, out=out, progress=kind.endswith("bar)"))
            times[kind].append(time.perf_counter() - t)
            engine[kind].append(json.loads((out / "summary.json").read_text())["wall_seconds"])
base = statistics.median(times["binary"])
print(f"{preset}, {repeats} alternating repeats, medians:")
for kind, ts in times.items():
    m = statistics.median(ts)
    print(f"  {kind:<28} {m:8.3f} s wall  (x{m / base:.3f} of the binary)  engine's training {statistics.median(engine[kind]):.3f} s")
