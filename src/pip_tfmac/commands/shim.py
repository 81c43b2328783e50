"""`pip-tfmac shim enable|disable|status [--python PATH] [--json]` (issue 16).

The target is chosen as for every command (`--python`, else $VIRTUAL_ENV, else our own Python).
Exit codes: 0 done (status: on or off), 71 `status` found a stale hook (a problem found, as
for doctor), 64 usage, 65 no interpreter at --python, 74 the environment cannot be changed
(not writable; an externally managed system Python, PEP 668).
"""

from __future__ import annotations

import argparse
import json
from typing import NoReturn

from pip_tfmac.errors import ExitCode, UsageError
from pip_tfmac.flows import shim

ACTIONS = ("enable", "disable", "status")


class ShimParser(argparse.ArgumentParser):
    """argparse that reports bad options as our UsageError (exit 64), not its own exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    p = ShimParser(
        prog="pip-tfmac shim",
        description="Route every pip of one environment (bin/pip, python -m pip, Jupyter's "
        "%pip) through pip-tfmac's plan. PIP_TFMAC_SHIM=0 bypasses it for one command.",
    )
    p.add_argument("action", choices=ACTIONS, help="enable, disable, or show the hook")
    p.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter or venv (default: the active venv, else pip-tfmac's Python)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return p


def render(action: str, result: shim.ShimStatus) -> str:
    lines = []
    env = result.site_packages
    if action == "enable":
        verb = "enabled" if result.changed else "already enabled (nothing changed)"
        lines.append(f"pip-tfmac shim {verb} for {result.python}")
    elif action == "disable":
        verb = "disabled: every file of the hook removed" if result.changed else "was not enabled"
        lines.append(f"pip-tfmac shim {verb} ({result.python})")
    else:
        lines.append(f"pip-tfmac shim: {result.state} ({result.python})")
    if result.hooks:
        lines.append("  hooks: " + ", ".join(result.hooks))
        lines.append(
            "  install and download go through pip-tfmac's plan; every other pip "
            "command is plain pip"
        )
    if result.pip_version:
        lines.append(f"  pip {result.pip_version}")
    if result.files:
        lines.append("  files: " + ", ".join(result.files))
    elif result.state == "off":
        lines.append(f"  no hook in {env}")
    if result.command:
        lines.append(
            "  without pip_tfmac in that environment, it runs: " + " ".join(result.command)
        )
    for note in result.notes:
        lines.append(f"  note: {note}")
    for problem in result.problems:
        lines.append(f"  problem: {problem}")
    if result.state == "on":
        lines.append(
            "  bypass once: PIP_TFMAC_SHIM=0 pip install ...; remove: pip-tfmac shim "
            f"disable --python {result.python}"
        )
    return "\n".join(lines)


def run(args: list[str], index: int | None) -> int:
    rest = args[(index + 1) if index is not None else 0 :]
    try:
        ns = build_parser().parse_args(rest)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    python = shim.target_python(ns.python, args)
    action = {"enable": shim.enable, "disable": shim.disable, "status": shim.status}[ns.action]
    result = action(python)
    if ns.json:
        print(json.dumps({"version": 1, "action": ns.action, "shim": result.to_json()}, indent=2))
    else:
        print(render(ns.action, result))
    if result.state == "stale":
        return int(ExitCode.DOCTOR_FINDINGS)
    return 0
