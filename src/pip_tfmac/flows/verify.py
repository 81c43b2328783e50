"""`verify`: probe the target interpreter and interpret what it saw.
"""

from __future__ import annotations

from pip_tfmac.core.verify_interpret import interpret
from pip_tfmac.core.verify_report import DEFAULT_TIMEOUT, VerifyReport
from pip_tfmac.runners.interpreter import check_interpreter
from pip_tfmac.runners.probe_tf import run_probe


def verify(
    python: str, *, require_gpu: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> VerifyReport:
    """Probe `python` and turn whatever happened into a report (raises only for an interpreter that is no usable Python)."""
    run = run_probe(python, "verify", timeout=timeout)
    if (run.payload is None or run.payload.get("probe_error")) and not run.timed_out and not run.launch_error:
        # No report: the interpreter itself may be unusable (no Python, too old). That is bad
        # input (65/66), not a TensorFlow failure (73); a usable one gets the probe's verdict.
        check_interpreter(python)
    return interpret(python, run, require_gpu=require_gpu)
