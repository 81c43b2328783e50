"""`doctor`: gather the environment's facts (the probe in `facts` mode, which does not import
TensorFlow, so a broken install cannot crash the doctor, and `pip check`), diagnose, and apply
the safe fixes. A conda package, an interpreter or an environment variable is never changed
for the user, only explained.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Optional
from pip_tfmac.knowledge import load as load_knowledge
from pip_tfmac.errors import VerifyFailedError
from pip_tfmac.core.verify_report import DEFAULT_TIMEOUT, MachineFacts
from pip_tfmac.runners.interpreter import check_interpreter, last_line
from pip_tfmac.runners.probe_tf import run_probe
from pip_tfmac.core.doctor_model import SEVERITY_ORDER, planned_steps
from pip_tfmac.core.doctor_model import AppliedStep, Distribution, DoctorReport, Environment, Finding
from pip_tfmac.core.doctor_rules import shim_findings, diagnose
from pip_tfmac.wheelhouse.installed_link import Reader, check_installed


def gather(python: str, *, timeout: float = DEFAULT_TIMEOUT) -> Environment:
    run = run_probe(python, "facts", timeout=timeout)
    data = run.payload
    if data is None or not isinstance(data.get("facts"), dict) or data.get("probe_error"):
        if not run.timed_out and not run.launch_error:
            check_interpreter(python)  # no Python, or too old: says so in one line
        why = (
            "timed out"
            if run.timed_out
            else (run.launch_error or last_line(str((data or {}).get("probe_error") or run.stderr)))
        )
        raise VerifyFailedError(
            f"could not inspect the environment of {python}: {str(why).strip()}",
            "check that --python points at a working interpreter",
        )
    facts = MachineFacts.from_probe(data["facts"], data.get("injected") or [])
    dists = tuple(Distribution.from_probe(d) for d in data.get("distributions") or ())
    return Environment(python, facts, dists)

def pip_check(python: str, *, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, ...]:
    """`pip check` in the target; its problem lines (empty when it found none)."""
    argv = pip_command(python, ("check",))
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return (f"pip check could not run: {exc}",)
    if proc.returncode == 0:
        return ()
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
    return tuple(lines) or (f"pip check failed: {proc.stderr.strip()[-300:]}",)

def pip_command(python: str, args: Sequence[str]) -> list[str]:
    """pip acting on `python`: pip-tfmac's own pip with --python, so the target needs no pip."""
    from pip_tfmac.runners.passthrough import pip_argv

    return pip_argv(["--python", python, *args])

def with_link_check(env: Environment, reader: Optional[Reader] = None) -> Environment:
    """Add the link check of the installed plugin against the installed TensorFlow images,
    on an Apple Silicon Mac with tensorflow-metal installed (elsewhere there is nothing to load).
    `reader` is the test seam (installed_link.Reader); LIEF reads the files otherwise."""
    if not env.facts.apple_silicon or env.get("tensorflow-metal") is None:
        return env
    result = check_installed(env.facts.site_packages, reader)
    return replace(env, metal_link=result.verdict, metal_link_skipped=result.skipped)

def doctor(python: str, *, timeout: float = DEFAULT_TIMEOUT) -> DoctorReport:
    env = with_link_check(gather(python, timeout=timeout))
    findings = diagnose(env, pip_check(python, timeout=timeout), load_knowledge())
    from pip_tfmac.flows.shim import shim_status

    shim = shim_status(python, live=False)  # the files only: no extra pip start
    findings = tuple(sorted((*findings, *shim_findings(shim.state, shim.summary(), python)),
                            key=lambda f: SEVERITY_ORDER.get(f.severity, 3)))
    return DoctorReport(python, env.facts, findings)

def apply_fixes(
    python: str, findings: Sequence[Finding], *, out: Any = None
) -> tuple[AppliedStep, ...]:
    """Run the planned pip steps in order; stop at the first that fails."""
    stream = out if out is not None else sys.stderr
    applied: list[AppliedStep] = []
    for step in planned_steps(findings):
        print(f"pip-tfmac: running pip {' '.join(step.args)}", file=stream, flush=True)
        sys.stdout.flush()
        proc = _run_to(pip_command(python, step.args), stream)
        applied.append(AppliedStep(step.args, proc.returncode))
        if proc.returncode != 0:
            break
    return tuple(applied)

def _run_to(argv: list[str], stream: Any) -> subprocess.CompletedProcess[str]:
    """Run with stdout going to `stream` (stderr under --json, so stdout stays one object)."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a file descriptor
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        stream.write(proc.stdout + proc.stderr)
        return proc
    stream.flush()
    return subprocess.run(argv, stdout=stream, text=True, check=False)
