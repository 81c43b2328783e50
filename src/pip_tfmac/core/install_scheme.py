"""Where a target interpreter installs files, and what it already has: a plain value.

Why in core: the fast path (wheelhouse/) consumes it and a runner (runners/probe_scheme.py)
produces it; neither layer may import the other's code, both may import core values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TargetEnv:
    """Where a target interpreter installs files, and what it already has."""

    python: str
    version: str
    scheme: tuple[tuple[str, str], ...]  # installer scheme name -> folder
    installed: frozenset[str]  # canonical names
    cache_tag: str = ""  # e.g. cpython-311: which .pyc files this Python reads

    def scheme_dict(self) -> dict[str, str]:
        return dict(self.scheme)

    def to_json(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "version": self.version,
            "scheme": self.scheme_dict(),
            "installed": sorted(self.installed),
        }
