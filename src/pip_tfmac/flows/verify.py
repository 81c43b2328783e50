"""`verify`: probe the target interpreter and interpret what it saw.
"""

from __future__ import annotations

from pip_tfmac.core.verify_interpret import interpret
from pip_tfmac.core.verify_report import DEFAULT_TIMEOUT, VerifyReport
from pip_tfmac.runners.probe_tf import run_probe


def verify(
    python: str, *, require_gpu: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> VerifyReport:
    """Probe `python` and turn whatever happened into a report (never raises for a bad env)."""
    run = run_probe(python, "verify", timeout=timeout)
    return interpret(python, run, require_gpu=require_gpu)
