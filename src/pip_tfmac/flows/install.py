"""`install` of a planned set, as one readable sequence:

    resolve (target -> plan -> wheels -> pip dry runs; flows/plan.py) -> install -> verify
      -> self-heal (only when the plugin this install added broke `import tensorflow`)

Nothing changes before the plan resolves. The install is one pip run of the final pinned set (or
the cached fast path for an `--offline` set whose wheels are unpacked in the wheelhouse); the
verify probe then runs in the target interpreter. Rendering is the command's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pip_tfmac.core.selfheal import HealOutcome
from pip_tfmac.core.verify_report import VerifyReport
from pip_tfmac.flows.resolution import Resolved, backend_call
from pip_tfmac.flows.selfheal import heal_after_install
from pip_tfmac.flows.verify import verify
from pip_tfmac.runners import pip as pip_runner
from pip_tfmac.runners.passthrough import run_to_completion
from pip_tfmac.runners.pipargs import InstallArgs


@dataclass(frozen=True)
class InstallOutcome:
    """What an install did: pip's (or the fast path's) exit code, and the verify report."""

    pip_exit_code: int
    fast_path_count: Optional[int] = None  # wheels installed by the cached fast path, if used
    verify: Optional[VerifyReport] = None
    heal: Optional[HealOutcome] = None  # the plugin this install added broke the import


def exit_code(outcome: InstallOutcome) -> int:
    """pip's code, else the heal's (77 healed), else verify's."""
    if outcome.heal is not None:
        return int(outcome.heal.exit_code)
    if outcome.verify is not None:
        return int(outcome.verify.exit_code)
    return outcome.pip_exit_code


def install(resolved: Resolved, args: InstallArgs) -> InstallOutcome:
    fast = fast_reinstall(resolved, args) if resolved.backend is None else None
    if fast is not None:
        code = 0
    elif resolved.backend is not None:
        code = resolved.backend.install(backend_call(resolved, stdout_to_stderr=args.own.json))
    else:
        argv = pip_runner.base_argv(resolved.python, args.general) + ["install", *resolved.pip_install_args()]
        # With --json, stdout carries exactly one JSON object: pip's own output goes to stderr.
        # Interrupts let pip finish: the environment ends as planned, never half-installed.
        code = run_to_completion(argv, stdout_to_stderr=args.own.json)
    report = heal = None
    if code == 0 and not args.dry_run and should_verify(resolved, args):
        report = verify(resolved.python, require_gpu=args.own.require_gpu, timeout=args.own.verify_timeout)
        heal = heal_after_install(resolved.python, args.general, report, resolved.plan.target.installed,
                                  timeout=args.own.verify_timeout, stdout_to_stderr=args.own.json)
    return InstallOutcome(code, fast, report, heal)


def fast_reinstall(resolved: Resolved, args: InstallArgs) -> Optional[int]:
    """`--offline` with every wheel of the plan unpacked in the wheelhouse: install the exact
    resolved set with the cached fast path (bench/reinstall.py: ~0.4x pip's time). Returns the
    number of wheels installed, or None: use pip.
    """
    if (not args.own.offline or args.dry_run or args.target_dir or resolved.result is None
            or resolved.wheelhouse is None or resolved.plan.target.cross
            or any(a in args.passthrough for a in ("--user", "--prefix", "--root", "--no-deps"))):
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
    return len(names)


def should_verify(resolved: Resolved, args: InstallArgs) -> bool:
    if args.own.no_verify or args.target_dir or resolved.plan.target.cross:
        return False
    installed = {i.name.lower() for i in resolved.result.resolved()} if resolved.result else set()
    return any(n.startswith(("tensorflow", "tf-")) for n in installed)
