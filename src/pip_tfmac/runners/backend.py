"""The resolver/installer seam: pip (the default) or uv (`--backend uv`, `PIP_TFMAC_BACKEND=uv`).

flows/ choose a backend by name; the pip backend is the existing path (runners/pip.py with
`--report`, the resolver hook for cross targets), the uv backend is runners/uv.py. Both take one
`Call` (the plan's files and the user's pip-spelled options) and give back pip's shapes: a
`PipResult` whose `resolved()` pairs plan step 2, and an install exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol

from pip_tfmac.core.target import Target
from pip_tfmac.runners.pip import PipResult

PIP = "pip"
UV = "uv"
BACKENDS = (PIP, UV)


@dataclass(frozen=True)
class Call:
    """One resolve or install of a planned set, independent of the tool that runs it."""

    python: str  # the target interpreter
    general: tuple[str, ...]  # pip's general options (before the command word)
    passthrough: tuple[str, ...]  # the user's other pip options, verbatim
    requirements_file: str
    constraints_file: Optional[str]
    find_links: tuple[str, ...]  # the wheelhouse
    target: Target
    offline: bool = False
    values: Any = None  # pip's parsed options (config files and PIP_* merged)
    stdout_to_stderr: bool = False


class Backend(Protocol):
    name: str

    def dry_run(self, call: Call) -> PipResult: ...

    def install(self, call: Call) -> int: ...


def uv_backend() -> Backend:
    """The uv backend; raises EnvironmentError_ when no usable uv is found."""
    from pip_tfmac.runners import uv

    return uv.UvBackend(uv.find_uv())
