"""`pip-tfmac install`: pip install, with the TensorFlow family planned for the target.

Requests that touch nothing pip-tfmac knows are handed to pip unchanged (exec). Otherwise the
install flow runs (flows/install.py) and this command renders its plan, verify block and JSON.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

from pip_tfmac.commands._common import asks_for_help
from pip_tfmac.commands.progress import StepProgress, quiet_level
from pip_tfmac.commands.render_plan import plan_block, print_plan, warnings_to_stderr
from pip_tfmac.commands.render_verify import render as render_verify
from pip_tfmac.commands.render_verify import render_heal
from pip_tfmac.errors import BadInputError, UsageError
from pip_tfmac.core.detect import Arrival
from pip_tfmac.flows.any_road import first_run
from pip_tfmac.flows.install import exit_code, install
from pip_tfmac.flows.lockinstall import pylock_files
from pip_tfmac.flows.target import ensure_changeable
from pip_tfmac.flows.verify import verify
from pip_tfmac.flows.plan import changes_nothing, needs_planning, prepare, resolve
from pip_tfmac.knowledge import load
from pip_tfmac.runners.interpreter import resolve_target_python
from pip_tfmac.runners.passthrough import exec_pip, run_pip_uninterrupted
from pip_tfmac.runners.pipargs import parse_install, split_own
from pip_tfmac.runners.reqfile import PipCrashingInput


def run_install(args: list[str], index: int) -> int:
    if asks_for_help(args[index + 1 :]):
        return exec_pip(args)
    locks, _without = pylock_files(list(args[index + 1 :]))
    if locks:  # PEP 751 locks: checked for the target, then installed by pip (commands/lockinstall)
        from pip_tfmac.commands.lockinstall import run_lock_install

        return run_lock_install(args, index, locks)
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
    quiet = quiet_level(parsed.values) > 0
    progress = StepProgress(enabled=not quiet)
    arrivals: tuple[Arrival, ...] = ()
    if not needs_planning(parsed, load()):
        if os.environ.get("PIP_TFMAC_ANY_ROAD") == "0":  # documented escape hatch: plain pip
            user = [*args[: index + 1], *rest]
            return exec_pip(user) if parsed.dry_run else run_pip_uninterrupted(user)
        # The user's own command, once, under the resolver hook: plain pip unless TensorFlow
        # comes in by some road, in which case pip stops before changing anything.
        try:
            python = resolve_target_python(parsed.general)
            ensure_changeable(python, parsed)  # PEP 668, read-only: 74 before pip runs
            first = first_run([*args[: index + 1], *rest], parsed, python, load())
        except BadInputError:  # no usable target interpreter: pip's own message and exit code
            return exec_pip([*args[: index + 1], *rest])
        if not first.needs_plan:
            if first.installed_tensorflow and not parsed.own.no_verify and not parsed.target_dir:
                checked = verify(python, require_gpu=parsed.own.require_gpu,
                                 timeout=parsed.own.verify_timeout)
                print(render_verify(checked))
                return int(checked.exit_code)
            return first.exit_code
        arrivals = first.arrivals
        print("pip-tfmac: TensorFlow comes in through " + "; ".join(
            f"{a.name} (from {', '.join(a.parents)})" for a in arrivals) + ": planning it for this machine",
            file=sys.stderr, flush=True)
    if not arrivals:  # (an any-road arrival was checked above)
        try:
            ensure_changeable(resolve_target_python(parsed.general), parsed)
        except BadInputError:
            pass  # no usable interpreter: prepare() says so, with its own code
    try:
        prepared = prepare(parsed, progress, arrivals)
        if changes_nothing(prepared):
            prepared.cleanup()
            progress.clear()
            user = [*args[: index + 1], *rest]
            return exec_pip(user) if parsed.dry_run else run_pip_uninterrupted(user)
        resolved = resolve(parsed, progress=progress, prepared=prepared)
    finally:
        progress.clear()
    try:
        as_json = parsed.own.json
        if (parsed.own.explain or parsed.dry_run) and not as_json:
            print_plan(resolved, as_json=False)
        elif not as_json and not quiet:
            sys.stdout.write(plan_block(resolved))
            sys.stdout.flush()
        elif not as_json:
            warnings_to_stderr(resolved)
        outcome = install(resolved, parsed)
        if outcome.fast_path_count is not None:
            print(f"Successfully installed {outcome.fast_path_count} packages from the wheelhouse (cached fast path)",
                  file=sys.stderr if as_json else sys.stdout)
        code = outcome.pip_exit_code
        report: dict[str, Any] = {"version": 1, "backend": resolved.backend_name, "plan": resolved.to_json(),
                                  "pip_exit_code": code, "verify": None}
        if outcome.verify is not None:
            report["verify"] = outcome.verify.to_json()
            if not as_json:
                print(render_verify(outcome.verify))
            code = exit_code(outcome)
        if outcome.heal is not None:
            report["heal"] = outcome.heal.to_json()
            if not as_json:
                print(render_heal(outcome.heal))
        if as_json:
            print(json.dumps(report, indent=2))
        return code
    finally:
        resolved.cleanup()


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    return run_install(args, index)
