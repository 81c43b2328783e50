"""Progress of the steps that can take more than a second (pip's dry runs, building wheels,
probing), so that a plan never sits silent for a minute.

A step is shown only once it has run for a second (SHOW_AFTER): quick steps and quick failures
stay silent, so an error is still the one message. On a terminal, one status line rewritten in
place (cleared before anything else prints); otherwise one line a step on stderr, which a log
keeps. `-q` silences it, as it does pip's bars.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


SHOW_AFTER = 1.0  # seconds


class StepProgress:
    """A Progress (flows/plan.py): called with what is starting now."""

    def __init__(self, *, enabled: bool = True, stream: TextIO = sys.stderr) -> None:
        self.enabled = enabled
        self.stream = stream
        self.tty = enabled and stream.isatty()
        self.started = time.monotonic()
        self.showing = False
        self.lock = threading.Lock()
        self.timer: "threading.Timer | None" = None

    def __call__(self, what: str) -> None:
        """`what` starts now: shown if it is still running SHOW_AFTER seconds later."""
        if not self.enabled:
            return
        with self.lock:
            self._cancel()
            self.timer = threading.Timer(SHOW_AFTER, self._show, (what,))
            self.timer.daemon = True
            self.timer.start()

    def _cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _show(self, what: str) -> None:
        with self.lock:
            self.timer = None
            self._write(what)

    def _write(self, what: str) -> None:
        elapsed = time.monotonic() - self.started
        if self.tty:
            self.stream.write(f"\r\033[Kpip-tfmac: {what}... ({elapsed:.0f}s)")
            self.showing = True
        else:
            self.stream.write(f"pip-tfmac: {what}...\n")
        self.stream.flush()

    def clear(self) -> None:
        """Remove the status line before other output (pip's, the plan) goes to the terminal."""
        with self.lock:
            self._cancel()
            self._erase()

    def _erase(self) -> None:
        if self.showing:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.showing = False


def quiet_level(values: object) -> int:
    """pip's -q count from its parsed options (0 when absent)."""
    return int(getattr(values, "quiet", 0) or 0)
