"""`pip-tfmac verify [--python PATH] [--json] [--require-gpu] [--timeout S]`.

Runs the same GPU probe that follows an install, on its own. Exit 0 when TensorFlow works
(no GPU is only a warning), 70 when --require-gpu finds no GPU in use, 73 when TensorFlow
does not import or the probe crashed.
"""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from pip_tfmac.commands import render_verify
from pip_tfmac.core import verify_report
from pip_tfmac.flows import verify
from pip_tfmac.errors import UsageError
from pip_tfmac.runners.interpreter import resolve_target_python


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad options as our UsageError (exit 64), not its own exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def parser(command: str, description: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"pip-tfmac {command}", description=description)
    p.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter or venv to check (default: "
        "the active venv, else the Python running pip-tfmac)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--timeout",
        type=float,
        default=verify_report.DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="time limit for the probe (default: %(default)s)",
    )
    return p


def parse(p: argparse.ArgumentParser, args: list[str], index: int | None) -> argparse.Namespace:
    """Options after the command word; pip's general options before it are left to the caller."""
    rest = args[(index + 1) if index is not None else 0 :]
    ns = p.parse_args(rest)
    if not math.isfinite(ns.timeout) or ns.timeout <= 0:  # argparse's float() accepts nan, inf
        raise UsageError(f"--timeout must be positive, not {ns.timeout:g}", "for example --timeout 300")
    return ns


def run(args: list[str], index: int | None) -> int:
    p = parser("verify", "Check that TensorFlow imports and runs on the GPU.")
    p.add_argument(
        "--require-gpu", action="store_true", help="exit 70 when TensorFlow does not use a GPU"
    )
    try:
        ns = parse(p, args, index)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    python = resolve_target_python(["--python", ns.python] if ns.python else args)
    report = verify.verify(python, require_gpu=ns.require_gpu, timeout=ns.timeout)
    return render_verify.emit(report, as_json=ns.json)
