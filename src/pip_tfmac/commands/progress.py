"""Progress of the steps that can take more than a second (pip's dry runs, building wheels,
probing), so that a plan never sits silent for a minute.

On a terminal, one status line rewritten in place (cleared before anything else prints);
otherwise one line a step on stderr, which a log keeps. `-q` silences it, as it does pip's bars.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class StepProgress:
    """A Progress (flows/plan.py): called with what is starting now."""

    def __init__(self, *, enabled: bool = True, stream: TextIO = sys.stderr) -> None:
        self.enabled = enabled
        self.stream = stream
        self.tty = enabled and stream.isatty()
        self.started = time.monotonic()
        self.showing = False

    def __call__(self, what: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        if self.tty:
            self.stream.write(f"\r\033[Kpip-tfmac: {what}... ({elapsed:.0f}s)")
            self.showing = True
        else:
            self.stream.write(f"pip-tfmac: {what}...\n")
        self.stream.flush()

    def clear(self) -> None:
        """Remove the status line before other output (pip's, the plan) goes to the terminal."""
        if self.showing:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.showing = False


def quiet_level(values: object) -> int:
    """pip's -q count from its parsed options (0 when absent)."""
    return int(getattr(values, "quiet", 0) or 0)
