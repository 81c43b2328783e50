"""Self-heal after an install: remove the Metal plugin this install added when it broke
`import tensorflow`, then probe again to check TensorFlow imports on the CPU.

The decision (was the plugin the cause, was it there before) is core/selfheal.py's; this module
only runs the two processes it needs: pip's uninstall (runners/pip.py's argv for the target
interpreter, run to completion so an interrupt cannot leave it half-removed) and the verify probe.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from pip_tfmac.core.selfheal import METAL, HealOutcome, decide
from pip_tfmac.core.verify_report import DEFAULT_TIMEOUT, VerifyReport
from pip_tfmac.flows.verify import verify
from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.runners.passthrough import run_to_completion


def heal_after_install(python: str, general: Sequence[str], report: VerifyReport,
                       before: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT,
                       stdout_to_stderr: bool = False) -> Optional[HealOutcome]:
    """None when the plugin did not break the import; otherwise what was done about it."""
    plan = decide(report, before)
    if plan is None:
        return None
    if not plan.remove:
        return HealOutcome(plan)  # the user's own plugin: reported, never removed
    argv = pip_runner.base_argv(python, general) + ["uninstall", "-y", METAL]
    code = run_to_completion(argv, stdout_to_stderr=stdout_to_stderr)
    after = verify(python, require_gpu=False, timeout=timeout) if code == 0 else None
    return HealOutcome(plan, code, after)
