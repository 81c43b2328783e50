"""From parsed arguments to a resolved, paired plan, before anything is installed.

    target -> plan step 1 -> build local wheels -> pip dry run -> plan step 2 -> pip dry run

Every failure here happens before pip touches the environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

from packaging.utils import canonicalize_name

from pip_tfmac import errors, recipes
from pip_tfmac.wheelhouse.build import build_local_wheels
from pip_tfmac.runners.interpreter import python_option, resolve_target_python
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.knowledge import load
from pip_tfmac.runners.pip import PipResult, base_argv, run_with_report
from pip_tfmac.runners.pipargs import InstallArgs
from pip_tfmac.core.plan import Plan, PlanOptions, Problem
from pip_tfmac.core.step1 import hash_pinned_changes, plan_request, touches_family
from pip_tfmac.core.step2 import pair_with_resolution
from pip_tfmac.core.target import Target, cross_target
from pip_tfmac.runners.probe_target import probe

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
        if self.args.macos_shorthand:
            for tag in self.plan.target.pip_platforms:
                out += ["--platform", tag]
        if self.args.python_version is None:
            out += ["--python-version", self.plan.target.python_version]
        if "--only-binary=:all:" not in self.args.passthrough:
            out.append("--only-binary=:all:")
        return out

    def to_json(self) -> dict[str, Any]:
        data = self.plan.to_json()
        data["find_links"] = list(self.find_links)
        data["resolved"] = [i.to_json() for i in self.result.resolved()] if self.result else []
        data["pip_summary"] = self.result.summary() if self.result else ""
        return data

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def determine_target(args: InstallArgs, knowledge: Knowledge) -> tuple[Target, str]:
    if getattr(args.values, "python", None) and python_option(args.general) is None:
        raise errors.UsageError(
            f"--python {args.values.python} must be placed before the command word, as pip requires.",
            f"pip-tfmac --python {args.values.python} {args.command} ...",
        )
    python = resolve_target_python(args.general)
    if args.macos_shorthand and args.platforms:
        raise errors.UsageError(
            "--platform macos-arm64 cannot be combined with other --platform tags "
            f"({', '.join(args.platforms)}): a plan is for one machine.",
            "drop either --platform macos-arm64 or the other --platform options",
        )
    if args.cross:
        platforms = ["macos-arm64"] if args.macos_shorthand else list(args.platforms)
        if not platforms:
            raise errors.UsageError(
                "--python-version without --platform does not say which machine to plan for.",
                "add --platform macos-arm64 (or pip's own platform tags)",
            )
        version = args.python_version
        if version is None:
            version = probe(python).python_version
        return cross_target(platforms, version, args.own.macos_version), python
    if args.own.macos_version:
        raise errors.UsageError("--macos-version only applies to --platform macos-arm64.",
                                "add --platform macos-arm64, or drop --macos-version")
    return probe(python, sorted(knowledge.family())), python


def plan_options(args: InstallArgs) -> PlanOptions:
    return PlanOptions(strict=args.own.strict, no_metal=args.own.no_metal,
                       allow_unverified_metal=args.own.allow_unverified_metal)


def needs_planning(args: InstallArgs, knowledge: Knowledge) -> bool:
    return touches_family(args.requests, knowledge, extra_names=recipes.names()) or args.macos_shorthand


def raise_problems(problems: Sequence[Problem]) -> None:
    if not problems:
        return
    first = problems[0]
    cls = getattr(errors, first.kind, errors.BadInputError)
    details = ""
    if len(problems) > 1:
        details = "\n".join(f"  also: {p.message}" + (f" ({p.remedy})" if p.remedy else "") for p in problems[1:])
    raise cls(first.message, first.remedy, details=details)


def open_wheelhouse(args: InstallArgs) -> "Wheelhouse":
    """The wheelhouse a plan builds into and pip finds wheels in (--find-links)."""
    from pip_tfmac.wheelhouse.store import Wheelhouse

    return Wheelhouse.from_options(args.own.cache_dir, args.own.no_cache)


def resolve(args: InstallArgs, *, with_wheelhouse: bool = True) -> Resolved:
    """Plan, build what the plan needs, and let pip resolve it twice (see module doc)."""
    knowledge = load()
    target, python = determine_target(args, knowledge)
    options = plan_options(args)
    plan = plan_request(args.requests, target, knowledge, options, recipes.load_all())
    raise_problems(plan.errors)
    if _hash_checking(args):
        raise_problems([p for p in (hash_pinned_changes(args.requests, plan),) if p is not None])
    resolved = Resolved(plan, args, python, tempfile.mkdtemp(prefix="pip-tfmac-"))
    try:
        if with_wheelhouse and (plan.intercepted or args.own.offline):
            wheelhouse = resolved.wheelhouse = open_wheelhouse(args)
            resolved.built = build_local_wheels(plan, wheelhouse, python, args)
            # The wheels built for this plan are re-hashed before pip sees them (all of them when
            # offline); a damaged one is removed, never used. Fetched wheels pip picks are checked
            # after the dry run (_recheck_used_wheels) rather than re-hashing gigabytes each run.
            names = None if args.own.offline else [os.path.basename(b) for b in resolved.built]
            resolved.find_links = (str(wheelhouse.prepare(names)),)
        result = _dry_run(resolved)
        if not plan.intercepted:
            if not result.ok:
                raise _resolution_error(result, plan, offline=args.own.offline)
            resolved.result = result
            return resolved
        if not result.ok and plan.preference is not None:
            plan = plan.without_preference(
                f"the preference for a TensorFlow with a working tensorflow-metal ({plan.preference}) "
                "conflicts with the rest of the request; planning without it (TensorFlow may run on the CPU)"
            )
            resolved.plan = plan
            result = _dry_run(resolved)
        if not result.ok:
            raise _resolution_error(result, plan, offline=args.own.offline)
        versions: dict[str, str] = {canonicalize_name(i.name): i.version for i in result.resolved()}
        paired = pair_with_resolution(plan, versions, knowledge, options)
        raise_problems(paired.errors)
        resolved.plan = paired
        if _changes_resolution(plan, paired, versions):
            result = _dry_run(resolved)
            if not result.ok:
                raise _resolution_error(result, paired, offline=args.own.offline)
        if _recheck_used_wheels(resolved, result):
            result = _dry_run(resolved)  # a damaged wheel was removed: let pip choose again
            if not result.ok:
                raise _resolution_error(result, resolved.plan, offline=args.own.offline)
        resolved.result = result
        return resolved
    except BaseException:
        resolved.cleanup()
        raise


def _hash_checking(args: InstallArgs) -> bool:
    """pip's hash-checking mode: --require-hashes anywhere, or any requirement line with --hash."""
    return (bool(getattr(args.values, "require_hashes", False))
            or any("--require-hashes" in line.split() for line in args.file_options)
            or any(r.line_options for r in args.requests if not r.constraint))


def _recheck_used_wheels(resolved: Resolved, result: PipResult) -> bool:
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


def _changes_resolution(before: Plan, after: Plan, versions: dict[str, str]) -> bool:
    """Only pins of what pip already chose need no second resolve."""
    if after.requirements != before.requirements:
        return True
    for line in after.constraints[len(before.constraints):]:
        name, sep, version = line.partition("==")
        if not sep or versions.get(canonicalize_name(name)) != version:
            return True
    return after.constraints[: len(before.constraints)] != before.constraints


def _write_files(resolved: Resolved) -> None:
    plan = resolved.plan
    with open(resolved.requirements_file, "w", encoding="utf-8") as handle:
        for line in resolved.args.file_options:
            handle.write(line + "\n")
        for line in plan.requirements:
            handle.write(line + "\n")
    with open(resolved.constraints_file, "w", encoding="utf-8") as handle:
        for line in plan.constraints:
            handle.write(line + "\n")


def _dry_run(resolved: Resolved) -> PipResult:
    _write_files(resolved)
    argv = base_argv(resolved.python, resolved.args.general) + ["install", "--dry-run"]
    argv += resolved.pip_install_args()
    if resolved.plan.target.cross and resolved.args.target_dir is None:
        argv += ["--target", os.path.join(resolved.workdir, "scratch-target")]
    return run_with_report(argv)


def _resolution_error(result: PipResult, plan: Plan, *, offline: bool = False) -> errors.TfmacError:
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
    return errors.ResolutionError(
        f"pip cannot resolve the planned set for {plan.target.describe}; nothing was installed.",
        "read pip's message above; `pip-tfmac plan --json` shows what was asked of pip",
        details=result.summary(),
    )
