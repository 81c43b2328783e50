"""`pip-tfmac install`: pip install, with the TensorFlow family planned for the target.

Requests that touch nothing pip-tfmac knows are handed to pip unchanged (exec). Otherwise:
resolve (two pip dry runs; nothing changes before both succeed), install the final set with
pip, then verify TensorFlow in the target interpreter.
"""

from __future__ import annotations

from typing import Optional

from pip_tfmac.commands._common import open_wheelhouse
from pip_tfmac.errors import BadInputError, UsageError
from pip_tfmac.knowledge import load
from pip_tfmac.passthrough import exec_pip
from pip_tfmac import pip as pip_runner
from pip_tfmac.pipargs import parse_install, split_own
from pip_tfmac.report import print_plan, warnings_to_stderr
from pip_tfmac.resolve import needs_planning, resolve


def run_install(args: list[str], index: int) -> int:
    _own, rest, _shorthand = split_own(list(args[index + 1 :]))
    try:
        parsed = parse_install(args, index, "install")
    except (BadInputError, UsageError):
        if rest != list(args[index + 1 :]):
            raise  # pip-tfmac's own options were used: our message
        # Exactly pip's own message and exit code for what pip itself rejects.
        return exec_pip(args)
    if not needs_planning(parsed, load()):
        return exec_pip([*args[: index + 1], *rest])
    resolved = resolve(parsed, open_wheelhouse(parsed))
    try:
        if parsed.own.explain or parsed.dry_run:
            print_plan(resolved, as_json=parsed.own.json)
        else:
            warnings_to_stderr(resolved)
        argv = pip_runner.base_argv(resolved.python, parsed.general) + [
            "install",
            *resolved.pip_install_args(),
        ]
        code = pip_runner.run(argv, capture=False).returncode
        if code != 0 or parsed.dry_run:
            return code
        if _should_verify(resolved, parsed):
            from pip_tfmac import verify

            return verify.run_post_install(
                resolved.python,
                require_gpu=parsed.own.require_gpu,
                as_json=parsed.own.json,
                timeout=parsed.own.verify_timeout,
            )
        return 0
    finally:
        resolved.cleanup()


def _should_verify(resolved, parsed) -> bool:  # type: ignore[no-untyped-def]
    if parsed.own.no_verify or parsed.target_dir or resolved.plan.target.cross:
        return False
    installed = {i.name.lower() for i in resolved.result.resolved()} if resolved.result else set()
    return any(n.startswith(("tensorflow", "tf-")) for n in installed)


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    return run_install(args, index)
