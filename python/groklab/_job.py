"""Driving a native job: a progress bar while it works, and Ctrl-C that stops it cleanly."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from . import _groklab


def drive(
    job: "_groklab.Job",
    *,
    progress: bool,
    desc: str,
    unit: str,
    on_interrupt: Callable[[Optional[dict]], None],
) -> dict:
    """Waits for ``job`` (the GIL free while it waits) with a tqdm bar on stderr (or a Jupyter
    widget) unless ``progress`` is False. On KeyboardInterrupt the job is asked to stop after the
    step it is in, ``on_interrupt`` gets its outcome (None if it failed) and the interrupt goes on."""
    from tqdm.auto import tqdm

    bar = tqdm(total=job.total, desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)
    try:
        try:
            while not job.wait(0.1):
                bar.update(job.position() - bar.n)
            bar.update(job.position() - bar.n)
        except KeyboardInterrupt:
            job.interrupt()
            outcome: Any
            try:
                outcome = json.loads(job.result())
            except Exception:
                outcome = None
            on_interrupt(outcome)
            raise
        return json.loads(job.result())
    finally:
        bar.close()
