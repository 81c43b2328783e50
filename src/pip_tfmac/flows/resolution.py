"""pip's resolution of a plan: the requirement and constraint files handed to pip, the dry run
with its report, and what a failed or changed resolution means. Nothing here installs."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

from packaging.utils import canonicalize_name

from pip_tfmac import errors
from pip_tfmac.core.detect import Arrival
from pip_tfmac.core.explain import asks_from_pip_text, explain_unavailable
from pip_tfmac.core.plan import Plan, Problem
from pip_tfmac.runners.backend import Backend, Call
from pip_tfmac.runners.pip import PipResult, base_argv, hooked_argv, run_with_report, write_hook_config
from pip_tfmac.runners.pipargs import InstallArgs

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse


@dataclass
class Resolved:
    """A plan that pip has resolved, with the files that carry it to pip."""

    plan: Plan
    args: InstallArgs
    python: str
    workdir: str
    find_links: tuple[str, ...] = ()
    result: Optional[PipResult] = None
    built: list[str] = field(default_factory=list)
    wheelhouse: Optional["Wheelhouse"] = None
    arrivals: tuple[Arrival, ...] = ()  # family packages that came in by another road
    own_wheels_only: bool = False  # pip sees only the wheels built for this plan (flows/lock)
    backend: Optional[Backend] = None  # None: pip (runners/pip.py); else --backend uv
    # Pairs newer than the knowledge, link-checked here (flows/newer_pairs.py): one JSON
    # object each, as `link_checks` of the plan's JSON.
    link_checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def backend_name(self) -> str:
        return self.backend.name if self.backend is not None else "pip"

    @property
    def requirements_file(self) -> str:
        return os.path.join(self.workdir, "requirements.txt")

    @property
    def constraints_file(self) -> str:
        return os.path.join(self.workdir, "constraints.txt")

    def pip_install_args(self, *, requirements: bool = True) -> list[str]:
        """The arguments of `pip install` that carry out the plan (after the general options)."""
        out = [*self.args.passthrough, *self.cross_args()]
        if self.args.own.offline:
            out.append("--no-index")  # the wheelhouse (find-links) is the only source
        if requirements:
            out += ["-r", self.requirements_file]
        if self.plan.constraints:
            out += ["-c", self.constraints_file]
        for link in self.find_links:
            out += ["--find-links", link]
        return out

    def cross_args(self) -> list[str]:
        if not self.plan.target.cross:
            return []
        out: list[str] = []
        # The shorthand's tags, or the older manylinux tags a manylinux_2_N machine also runs.
        given = () if self.args.macos_shorthand else tuple(self.args.platforms)
        for tag in self.plan.target.pip_platforms:
            if tag not in given:
                out += ["--platform", tag]
        if self.args.python_version is None:
            out += ["--python-version", self.plan.target.python_version]
        if "--only-binary=:all:" not in self.args.passthrough:
            out.append("--only-binary=:all:")
        return out

    def to_json(self) -> dict[str, Any]:
        data = self.plan.to_json()
        data["backend"] = self.backend_name
        data["find_links"] = list(self.find_links)
        data["resolved"] = [i.to_json() for i in self.result.resolved()] if self.result else []
        data["pip_summary"] = self.result.summary() if self.result else ""
        data["link_checks"] = [{k: v for k, v in note.items() if k != "text"} for note in self.link_checks]
        return data

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def raise_problems(problems: Sequence[Problem]) -> None:
    if not problems:
        return
    first = problems[0]
    cls = getattr(errors, first.kind, errors.BadInputError)
    details = ""
    if len(problems) > 1:
        details = "\n".join(f"  also: {p.message}" + (f" ({p.remedy})" if p.remedy else "") for p in problems[1:])
    raise cls(first.message, first.remedy, details=details)


def hash_checking(args: InstallArgs) -> bool:
    """pip's hash-checking mode: --require-hashes anywhere, or any requirement line with --hash."""
    return (bool(getattr(args.values, "require_hashes", False))
            or any("--require-hashes" in line.split() for line in args.file_options)
            or any(r.line_options for r in args.requests if not r.constraint))


def recheck_used_wheels(resolved: Resolved, result: PipResult) -> bool:
    """Re-hash the wheelhouse wheels pip chose; True when one was damaged (and removed)."""
    wheelhouse = resolved.wheelhouse
    if wheelhouse is None or resolved.args.own.offline:
        return False
    from urllib.parse import unquote, urlparse

    folder = os.path.realpath(str(wheelhouse.find_links_dir))
    used = []
    for item in result.resolved():
        if item.url.startswith("file:"):
            path = os.path.realpath(unquote(urlparse(item.url).path))
            if os.path.dirname(path) == folder:
                used.append(os.path.basename(path))
    if not used:
        return False
    wheelhouse.prepare(used)
    return any(not wheelhouse.path_of(name).exists() for name in used)


def changes_resolution(before: Plan, after: Plan, versions: dict[str, str]) -> bool:
    """Only pins of what pip already chose need no second resolve (a constraint added, or a
    requirement line replaced by the pin of the release pip resolved for it: the unpinned
    plugin line of a plan past the knowledge, once its pair is link-checked)."""
    if len(after.requirements) != len(before.requirements):
        return True
    for old, new in zip(before.requirements, after.requirements):
        if old != new and not _pins_resolved(old, new, versions):
            return True
    for line in after.constraints[len(before.constraints):]:
        name, sep, version = line.partition("==")
        if not sep or versions.get(canonicalize_name(name)) != version:
            return True
    return after.constraints[: len(before.constraints)] != before.constraints


def _pins_resolved(old: str, new: str, versions: dict[str, str]) -> bool:
    """Is `new` the pin `name==X` of the package `old` names, X being what pip resolved?"""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        before, after = Requirement(old), Requirement(new)
    except InvalidRequirement:
        return False
    name = canonicalize_name(after.name)
    pins = [s.version for s in after.specifier if s.operator == "=="]
    return (canonicalize_name(before.name) == name and before.extras == after.extras
            and before.marker is None and after.marker is None
            and before.url is None and len(pins) == 1 and len(after.specifier) == 1
            and versions.get(name) == pins[0] and before.specifier.contains(pins[0], prereleases=True))


def write_files(resolved: Resolved) -> None:
    plan = resolved.plan
    with open(resolved.requirements_file, "w", encoding="utf-8") as handle:
        for line in resolved.args.file_options:
            handle.write(line + "\n")
        for line in plan.requirements:
            handle.write(line + "\n")
    with open(resolved.constraints_file, "w", encoding="utf-8") as handle:
        for line in plan.constraints:
            handle.write(line + "\n")


def backend_call(resolved: Resolved, *, stdout_to_stderr: bool = False) -> Call:
    """The plan's files and the user's options, for a backend other than pip's own path."""
    args = resolved.args
    return Call(python=resolved.python, general=args.general, passthrough=args.passthrough,
                requirements_file=resolved.requirements_file,
                constraints_file=resolved.constraints_file if resolved.plan.constraints else None,
                find_links=resolved.find_links, target=resolved.plan.target, offline=args.own.offline,
                values=args.values, stdout_to_stderr=stdout_to_stderr)


def dry_run(resolved: Resolved) -> PipResult:
    write_files(resolved)
    if resolved.backend is not None:
        return resolved.backend.dry_run(backend_call(resolved))
    target = resolved.plan.target
    if target.cross and target.markers:
        # pip reads every dependency's markers for the machine it runs on, even with --platform:
        # under the hook they take the target's values (basic-pitch's Darwin branch, say).
        config = os.path.join(resolved.workdir, "hook.json")
        write_hook_config(config, watch=(), out=os.path.join(resolved.workdir, "hook-result.json"),
                          stop_on_watch=False, markers=target.markers)
        argv = hooked_argv(resolved.python, resolved.args.general, config) + ["install", "--dry-run"]
    else:
        argv = base_argv(resolved.python, resolved.args.general) + ["install", "--dry-run"]
    argv += resolved.pip_install_args()
    if resolved.plan.target.cross and resolved.args.target_dir is None:
        argv += ["--target", os.path.join(resolved.workdir, "scratch-target")]
    return run_with_report(argv)


def resolution_error(result: PipResult, plan: Plan, *, offline: bool = False, tool: str = "pip") -> errors.TfmacError:
    if "externally-managed-environment" in result.stderr:
        return errors.EnvironmentError_(
            f"the target Python ({plan.target.interpreter}) is externally managed (PEP 668): "
            "pip refuses to install into it, so nothing was installed.",
            "create a virtual environment (python3 -m venv .venv) and run pip-tfmac there",
        )
    if offline:
        return errors.ResolutionError(
            f"--offline: the wheelhouse does not hold every wheel the plan for {plan.target.describe} needs; nothing was installed.",
            "fill it first, with the network, by running the same request as `pip-tfmac download` (same --platform/--python-version)",
            details=result.summary(),
        )
    from pip_tfmac.knowledge import load

    explained = explain_unavailable(asks_from_pip_text(result.stderr), plan.target, load())
    if explained is not None:
        return errors.NoConsistentSetError(explained.message + " Nothing was installed.", explained.remedy,
                                           details=result.summary())
    return errors.ResolutionError(
        f"{tool} cannot resolve the planned set for {plan.target.describe}; nothing was installed.",
        f"read {tool}'s message above; `pip-tfmac plan --json` shows what was asked of pip",
        details=result.summary(),
    )
