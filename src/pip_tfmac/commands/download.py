"""`pip-tfmac download -d DIR REQS`: a complete wheelhouse for the planned set.

With `--platform macos-arm64 --python-version X.Y` this builds, from any machine, every wheel a
Mac needs to install the plan offline: pip downloads the resolved set, and the wheels pip-tfmac
built (aliases, patched wheels) come along from the find-links folder. Requests outside the
TensorFlow family are plain `pip download`.
"""

from __future__ import annotations

import dataclasses

import os
import sys

from typing import Optional

from pip_tfmac.commands._common import asks_for_help
from pip_tfmac.errors import BadInputError, UsageError
from pip_tfmac.knowledge import load
from pip_tfmac.runners.passthrough import exec_pip
from pip_tfmac.runners.pipargs import parse_install, split_own
from pip_tfmac.commands.render_plan import print_plan, warnings_to_stderr
from pip_tfmac.flows.download import download
from pip_tfmac.commands.progress import StepProgress, quiet_level
from pip_tfmac.core.detect import Arrival
from pip_tfmac.flows.any_road import first_run
from pip_tfmac.flows.plan import needs_planning, prepare, resolve
from pip_tfmac.runners.interpreter import resolve_target_python

_DEST = ("-d", "--dest", "--destination-dir", "--destination-directory")


def take_dest(tokens: list[str]) -> tuple[Optional[str], list[str]]:
    """Remove pip download's -d/--dest (install has no such option) and return its value."""
    rest: list[str] = []
    dest: Optional[str] = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, eq, value = token.partition("=")
        if name in _DEST[1:] and eq:
            dest = value
        elif token in _DEST and i + 1 < len(tokens):
            dest = tokens[i + 1]
            i += 1
        elif token.startswith("-d") and len(token) > 2 and not token.startswith("--"):
            dest = token[2:]
        else:
            rest.append(token)
        i += 1
    return dest, rest


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    if asks_for_help(args[index + 1 :]):
        return exec_pip(args)
    _own, rest, _short = split_own(list(args[index + 1 :]))
    dest, without_dest = take_dest(list(args[index + 1 :]))
    as_install = [*args[:index], "install", *without_dest]
    try:
        # parsed as an install, named a download (under --backend uv a plan that ends in an
        # install leaves prebuilt sdists to uv; a download fills the wheelhouse with them)
        parsed = dataclasses.replace(parse_install(as_install, index, "install"), command="download")
    except (BadInputError, UsageError):
        if rest != list(args[index + 1 :]):
            raise
        return exec_pip(args)
    arrivals: tuple[Arrival, ...] = ()
    if not needs_planning(parsed, load()):
        if parsed.cross or os.environ.get("PIP_TFMAC_ANY_ROAD") == "0":
            return exec_pip([*args[: index + 1], *rest])
        # As for install: the user's own `pip download` under the resolver hook, plain pip unless
        # TensorFlow arrives by some road (then it stops before downloading any wheel).
        try:
            python = resolve_target_python(parsed.general)
            first = first_run([*args[: index + 1], *rest], parsed, python, load())
        except BadInputError:  # no usable target interpreter: pip's own message and exit code
            return exec_pip([*args[: index + 1], *rest])
        if not first.needs_plan:
            return first.exit_code
        arrivals = first.arrivals
        print("pip-tfmac: TensorFlow comes in through " + "; ".join(
            f"{a.name} (from {', '.join(a.parents)})" for a in arrivals) + ": planning it",
            file=sys.stderr, flush=True)
    progress = StepProgress(enabled=quiet_level(parsed.values) == 0)
    try:
        resolved = resolve(parsed, progress=progress, prepared=prepare(parsed, progress, arrivals))
    finally:
        progress.clear()
    try:
        if parsed.own.explain:
            print_plan(resolved, as_json=parsed.own.json)
        else:
            warnings_to_stderr(resolved)
        outcome = download(resolved, dest)
        if outcome.pip_exit_code is not None:
            return outcome.pip_exit_code
        print(f"Saved {len(outcome.names)} wheels for {resolved.plan.target.describe} in {outcome.where}")
        for name in outcome.names:
            print(f"  {name}")
        return 0
    finally:
        resolved.cleanup()
