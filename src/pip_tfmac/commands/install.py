"""`pip-tfmac install`: pip install, with the TensorFlow family planned for the target.

Requests that touch nothing pip-tfmac knows are handed to pip unchanged (exec). Otherwise:
resolve (two pip dry runs; nothing changes before both succeed), install the final set with
pip, then verify TensorFlow in the target interpreter.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

from pip_tfmac.commands._common import asks_for_help, open_wheelhouse
from pip_tfmac.errors import BadInputError, UsageError
from pip_tfmac.knowledge import load
from pip_tfmac.runners.passthrough import exec_pip, run_pip_uninterrupted
from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.runners.pipargs import InstallArgs, PipCrashingInput, parse_install, split_own
from pip_tfmac.commands.render_plan import print_plan, warnings_to_stderr
from pip_tfmac.flows.plan import Resolved, needs_planning, resolve


def run_install(args: list[str], index: int) -> int:
    if asks_for_help(args[index + 1 :]):
        return exec_pip(args)
    _own, rest, _shorthand = split_own(list(args[index + 1 :]))
    try:
        parsed = parse_install(args, index, "install")
    except PipCrashingInput:
        raise  # some pip releases answer this input with a traceback: our message instead
    except (BadInputError, UsageError):
        if rest != list(args[index + 1 :]):
            raise  # pip-tfmac's own options were used: our message
        # Exactly pip's own message and exit code for what pip itself rejects.
        return exec_pip(args)
    if not needs_planning(parsed, load()):
        if parsed.dry_run:
            return exec_pip([*args[: index + 1], *rest])
        return run_pip_uninterrupted([*args[: index + 1], *rest])
    resolved = resolve(parsed, open_wheelhouse(parsed))
    try:
        return _install(resolved, parsed)
    finally:
        resolved.cleanup()


def _install(resolved: Resolved, parsed: InstallArgs) -> int:
    as_json = parsed.own.json
    if (parsed.own.explain or parsed.dry_run) and not as_json:
        print_plan(resolved, as_json=False)
    elif not as_json:
        warnings_to_stderr(resolved)
    code = _fast_reinstall(resolved, parsed)
    if code is None:
        argv = pip_runner.base_argv(resolved.python, parsed.general) + ["install", *resolved.pip_install_args()]
        # With --json, stdout carries exactly one JSON object: pip's own output goes to stderr.
        code = pip_runner.run(argv, capture=False, stdout_to_stderr=as_json).returncode
    report: dict[str, Any] = {"version": 1, "plan": resolved.to_json(), "pip_exit_code": code, "verify": None}
    if code == 0 and not parsed.dry_run and _should_verify(resolved, parsed):
        from pip_tfmac.flows import verify

        result = verify.verify(resolved.python, require_gpu=parsed.own.require_gpu,
                               timeout=parsed.own.verify_timeout)
        report["verify"] = result.to_json()
        if not as_json:
            print(verify.render(result))
        code = int(result.exit_code)
    if as_json:
        print(json.dumps(report, indent=2))
    return code


def _fast_reinstall(resolved: Resolved, parsed: InstallArgs) -> Optional[int]:
    """`--offline` with every wheel of the plan unpacked in the wheelhouse: install the exact
    resolved set with the cached fast path (bench/reinstall.py: ~0.4x pip's time). None: use pip.
    """
    if (not parsed.own.offline or parsed.dry_run or parsed.target_dir or resolved.result is None
            or resolved.wheelhouse is None or resolved.plan.target.cross
            or any(a in parsed.passthrough for a in ("--user", "--prefix", "--root", "--no-deps"))):
        return None
    from pip_tfmac.wheelhouse import fastinstall

    names = [item.filename for item in resolved.result.resolved()]
    try:
        target = fastinstall.probe_target(resolved.python)
        if not names or not fastinstall.trees_ready(resolved.wheelhouse, names, target):
            return None
        requested = [item.name for item in resolved.result.resolved() if item.requested]
        fastinstall.install_from_wheelhouse(resolved.wheelhouse, names, resolved.python, requested=requested)
    except fastinstall.FastInstallUnavailable:
        return None
    print(f"Successfully installed {len(names)} packages from the wheelhouse (cached fast path)",
          file=sys.stderr if parsed.own.json else sys.stdout)
    return 0


def _should_verify(resolved: Resolved, parsed: InstallArgs) -> bool:
    if parsed.own.no_verify or parsed.target_dir or resolved.plan.target.cross:
        return False
    installed = {i.name.lower() for i in resolved.result.resolved()} if resolved.result else set()
    return any(n.startswith(("tensorflow", "tf-")) for n in installed)


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    return run_install(args, index)
