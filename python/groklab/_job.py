"""Driving a native job: a progress bar while it works, and Ctrl-C that stops it cleanly."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from . import _groklab


def _stop(job: "_groklab.Job") -> Optional[dict]:
    """Asks the job to stop and waits for it, whatever further Ctrl-Cs arrive meanwhile (the
    work stops after the step it is in: a moment); its outcome, or None if it failed."""
    job.interrupt()
    while True:
        try:
            if job.wait(0.1):
                break
        except KeyboardInterrupt:
            continue
    try:
        return json.loads(job.result())
    except Exception:
        return None


def drive(
    job: "_groklab.Job",
    *,
    progress: bool,
    desc: str,
    unit: str,
    on_interrupt: Callable[[Optional[dict]], None],
) -> dict:
    """Waits for ``job`` (the GIL free while it waits) with a tqdm bar on stderr (or a Jupyter
    widget) unless ``progress`` is False. On KeyboardInterrupt while it works the job is stopped
    after the step it is in, ``on_interrupt`` gets its outcome (None if it failed) and the
    interrupt goes on."""
    from tqdm.auto import tqdm

    bar = tqdm(total=job.total, initial=job.position(), desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)
    try:
        try:
            while not job.wait(0.1):
                bar.update(job.position() - bar.n)
            bar.update(job.position() - bar.n)
        except BaseException:
            # Ctrl-C (or SystemExit) while the work runs: stop it, then let the caller tidy up
            on_interrupt(_stop(job))
            raise
    finally:
        bar.close()
    # the work has ended: its own errors (a refused directory, a bad config) go up untouched
    return json.loads(job.result())
