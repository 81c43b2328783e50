"""`pip-tfmac plan [install options] REQS`: print the plan; install nothing."""

from __future__ import annotations

from typing import Optional

from pip_tfmac.runners.pipargs import parse_install
from pip_tfmac.commands.render_plan import print_plan
from pip_tfmac.commands.progress import StepProgress, quiet_level
from pip_tfmac.flows.plan import resolve


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    parsed = parse_install(args, index, "install")
    progress = StepProgress(enabled=quiet_level(parsed.values) == 0)
    try:
        resolved = resolve(parsed, progress=progress)
    finally:
        progress.clear()
    try:
        print_plan(resolved, as_json=parsed.own.json)
        return 0
    finally:
        resolved.cleanup()
