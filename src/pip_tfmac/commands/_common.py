"""Helpers shared by the commands that plan (install, download, plan)."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Protocol, TypeVar


class Report(Protocol):
    """What verify and doctor hand the renderer: a JSON form and an exit code."""

    @property
    def exit_code(self) -> Any: ...

    def to_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Report)


def emit_report(report: R, render: Callable[[R], str], *, as_json: bool) -> int:
    """Print a report as JSON (one object on stdout) or as text; return its exit code."""
    print(json.dumps(report.to_json(), indent=2) if as_json else render(report))
    sys.stdout.flush()
    return int(report.exit_code)


def asks_for_help(words: list[str]) -> bool:
    """`install --help` / `download -h`: pip's own help text, exactly as pip prints it."""
    return any(w in ("-h", "--help") for w in words)
