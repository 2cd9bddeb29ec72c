"""The series progress bar (rich): frames done / total, frames per second, time left, on stderr."""

from __future__ import annotations

import sys
import time
from typing import Optional


class SeriesProgress:
    """`series [#####     ] 12/100 frames 3.1 frames/s 0:00:28` on stderr; `enabled=False` shows
    nothing (-noprogress).  Frames already done when it starts (a resumed run) count as done but
    not towards the rate.  Use as a context manager; `advance()` after each finished frame."""

    def __init__(self, total: int, done: int = 0, *, enabled: bool = True, stream=None):
        self.total, self.start_done, self.done = total, done, done
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self._bar = None
        self._t0 = time.monotonic()

    @property
    def rate(self) -> Optional[float]:
        """Frames per second made by this run so far (None before the first)."""
        made, elapsed = self.done - self.start_done, time.monotonic() - self._t0
        return made / elapsed if made > 0 and elapsed > 0 else None

    def __enter__(self) -> "SeriesProgress":
        self._t0 = time.monotonic()
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("series"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("series", total=self.total, completed=self.done, rate="")
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            rate = self.rate
            self._bar.update(self._task, completed=self.done,
                             rate="" if rate is None else f"{rate:.3g} frames/s")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
