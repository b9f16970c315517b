"""Progress lines on stderr, the one format of every command: work done, percent, elapsed and remaining minutes."""

import sys
import time


class Progress:
    """A progress line on stderr: ``label: done/total unit (percent %), x min elapsed, ~y min left``.

    On a terminal one line is redrawn (``\\r``) at most every 0.5 s; in a
    log a new line is written at most every 10 s.  The last step always
    shows.

    Parameters
    ----------
    total : int
        Steps in all (may be set later by a call, see :meth:`__call__`).
    label : str
        What the line starts with (the command or the phase).
    enabled : bool, default True
    stream : file, default sys.stderr
    unit : str, default "units"
        What a step is, in the line.
    """

    def __init__(self, total, label, enabled=True, stream=None, unit="units"):
        self.total, self.label, self.enabled, self.unit = total, label, enabled, unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.perf_counter()
        self.shown = -1.0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self):
        """One more step done."""
        self.done += 1
        if not self.enabled or self.total == 0:
            return
        elapsed = time.perf_counter() - self.started
        if self.done < self.total and elapsed - self.shown < (0.5 if self.tty else 10.0):
            return
        self.shown = elapsed
        remaining = elapsed / self.done * (self.total - self.done)
        line = (f"{self.label}: {self.done}/{self.total} {self.unit} ({100 * self.done / self.total:.0f} %), "
                f"{elapsed / 60:.1f} min elapsed, ~{remaining / 60:.1f} min left")
        end = "\n" if (not self.tty or self.done == self.total) else ""
        print(("\r" if self.tty else "") + line, end=end, file=self.stream, flush=True)

    def __call__(self, done, total, seconds=None):
        """A ``progress(done, total, seconds)`` callback (:func:`pisvm.svm.train.train_model`): step to ``done``."""
        self.total = total
        while self.done < done:
            self.step()
