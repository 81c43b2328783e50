"""The first pip run of an install whose request names no TensorFlow-family package.

The user's own command runs under the resolver hook (runners/pip_hook.py), once: when its
resolution brings in no package that changes the plan on this target, pip carries on and
installs, exactly as plain pip would (same output, same exit code, one resolve); when it does
(a dependency at any depth, an extra, a local project, a PEP 723 script, an `--upgrade` of an
environment that holds TensorFlow), pip stops before it downloads or installs anything, and the
arrivals are planned as if the user had named them.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Optional, Sequence

from pip_tfmac import recipes
from pip_tfmac.core.detect import Arrival, watched
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.runners.passthrough import pip_argv as user_argv_to_pip
from pip_tfmac.runners.passthrough import run_to_completion
from pip_tfmac.runners.pip import (HOOK_STOP_EXIT_CODE, HookResult, hooked_user_argv, read_hook_result,
                                   write_hook_config)
from pip_tfmac.runners.pipargs import InstallArgs
from pip_tfmac.runners.probe_target import probe
from pip_tfmac.runners import tempdirs

_TENSORFLOW_IMPORTS = ("tensorflow", "tensorflow-macos", "tensorflow-cpu", "tensorflow-intel")


@dataclass(frozen=True)
class FirstRun:
    exit_code: int
    arrivals: tuple[Arrival, ...] = ()
    installed_tensorflow: bool = False  # pip installed a TensorFlow: verify it afterwards

    @property
    def needs_plan(self) -> bool:
        return bool(self.arrivals)


def first_run(user_argv: Sequence[str], args: InstallArgs, python: str, knowledge: Knowledge) -> FirstRun:
    """`user_argv`: the user's pip command line (general options, command, arguments) without
    pip-tfmac's own options."""
    target = probe(python, sorted(knowledge.family()))
    watch = watched(knowledge, target, recipes.names())
    with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("hook")) as work:
        config, out = os.path.join(work, "config.json"), os.path.join(work, "result.json")
        write_hook_config(config, watch=sorted(watch), out=out, stop_on_watch=True)
        argv = hooked_user_argv(user_argv, config)
        if argv is None:  # a pip too old for the hook: plain pip, as before
            return FirstRun(run_to_completion(list(user_argv_to_pip(user_argv))))
        code = run_to_completion(argv, stdout_to_stderr=args.own.json)
        result = read_hook_result(out)
    if result is None:
        return FirstRun(code)
    if code == HOOK_STOP_EXIT_CODE or result.stopped:
        return FirstRun(code, arrivals_from_stop(result, frozenset(watch)))
    if result.failed:
        return FirstRun(code, arrivals_from_causes(result, frozenset(watch)))
    brought = any(i.name in _TENSORFLOW_IMPORTS and not i.installed for i in result.resolved)
    return FirstRun(code, (), brought and code == 0 and not args.dry_run)


def arrivals_from_stop(result: HookResult, watch: frozenset[str]) -> tuple[Arrival, ...]:
    """The watched distributions the stopped resolution would have installed or changed."""
    out = []
    for item in result.resolved:
        if item.name not in watch or item.requested or item.installed:
            continue
        specs = sorted({a.specifier for a in item.asked if a.specifier and a.by != "user"})
        requirement = item.name + ",".join(specs)
        parents = tuple(sorted(item.parents)) or ("a project or script",)
        out.append(Arrival(item.name, _valid(requirement) or item.name, parents))  # type: ignore[arg-type]
    return tuple(out)


def arrivals_from_causes(result: HookResult, watch: frozenset[str]) -> tuple[Arrival, ...]:
    """The watched requirements that made the resolution impossible, and who asked for them."""
    out: list[Arrival] = []
    for cause in result.causes:
        if cause.name not in watch or cause.by == "user" or any(a.name == cause.name for a in out):
            continue
        who = f"{cause.by} {cause.by_version}" if cause.by_version else cause.by
        requirement = _valid(cause.name + cause.specifier) or cause.name
        out.append(Arrival(cause.name, requirement, (who,)))  # type: ignore[arg-type]
    return tuple(out)


def _valid(text: str) -> Optional[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return str(Requirement(text))
    except InvalidRequirement:
        return None
