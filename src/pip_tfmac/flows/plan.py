"""From parsed arguments to a resolved, paired plan, before anything is installed:

    target -> plan step 1 -> local wheels -> pip dry run -> plan step 2 -> (second dry run)

Every failure here happens before pip touches the environment.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Callable

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pip_tfmac import recipes
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.detect import Arrival, arrivals_in_failure, arrivals_in_resolution, named_in, watched
from pip_tfmac.core.detect import Resolved as Dist
from pip_tfmac.core.explain import asks_from_pip_text
from pip_tfmac.core.plan import Plan, PlanOptions
from pip_tfmac.core.requests import Request
from pip_tfmac.core.target import Target
from pip_tfmac.runners.pip import PipResult
from pip_tfmac.core.step1 import hash_pinned_changes, plan_request, touches_family
from pip_tfmac.core.step2 import pair_with_resolution
from pip_tfmac.flows.resolution import (Resolved, changes_resolution, dry_run, hash_checking, raise_problems,
                                        recheck_used_wheels, resolution_error)
from pip_tfmac.flows.newer_pairs import link_check_newer
from pip_tfmac.flows.target import determine_target
from pip_tfmac.knowledge import load
from pip_tfmac.runners.pipargs import InstallArgs
from pip_tfmac.runners import tempdirs

if TYPE_CHECKING:
    from pip_tfmac.runners.backend import Backend
    from pip_tfmac.wheelhouse.store import Wheelhouse

Progress = Callable[[str], None]


def quiet(_what: str) -> None:
    """A Progress that says nothing."""


def plan_options(args: InstallArgs) -> PlanOptions:
    return PlanOptions(strict=args.own.strict, no_metal=args.own.no_metal,
                       allow_unverified_metal=args.own.allow_unverified_metal)


def needs_planning(args: InstallArgs, knowledge: Knowledge) -> bool:
    return touches_family(args.requests, knowledge, extra_names=recipes.names()) or args.macos_shorthand


def open_wheelhouse(args: InstallArgs) -> "Wheelhouse":
    """The wheelhouse a plan builds into and pip finds wheels in (--find-links)."""
    from pip_tfmac.wheelhouse.store import Wheelhouse

    return Wheelhouse.from_options(args.own.cache_dir, args.own.no_cache)


def prepare(args: InstallArgs, progress: Progress = quiet, arrivals: tuple[Arrival, ...] = ()) -> Resolved:
    """Target and plan step 1 (no pip run yet): refuses what cannot work before anything runs.
    `arrivals` are family packages a resolution brought in by another road: planned as if named."""
    knowledge = load()
    progress("inspecting the target interpreter" if not args.cross else "planning for the target")
    target, python = determine_target(args, knowledge)
    backend = choose_backend(args)
    resolved = Resolved(_plan(args, target, arrivals), args, python, tempfile.mkdtemp(prefix=tempdirs.prefix("plan")),
                        arrivals=arrivals, backend=backend)
    return resolved


def choose_backend(args: InstallArgs) -> "Backend | None":
    """--backend uv / PIP_TFMAC_BACKEND=uv: uv, found and checked before anything runs; else pip
    (None: the pip path of runners/pip.py, unchanged)."""
    if args.own.backend != "uv":
        return None
    from pip_tfmac.runners.backend import uv_backend

    return uv_backend()


def _plan(args: InstallArgs, target: Target, arrivals: tuple[Arrival, ...]) -> Plan:
    requests = (*[a.request() for a in arrivals], *args.requests)
    plan = plan_request(requests, target, load(), plan_options(args), recipes.load_all())
    raise_problems(plan.errors)
    if hash_checking(args):
        raise_problems([p for p in (hash_pinned_changes(args.requests, plan),) if p is not None])
    return plan


def arrivals_of(resolved: Resolved, result: PipResult) -> tuple[Arrival, ...]:
    """Family packages this resolution (or its failure) brings in that the plan did not name."""
    watch = watched(load(), resolved.plan.target, recipes.names())
    # What the request names, what came in before, and what the plan itself added (the plugin
    # it predicted, an alias): none of those is news.
    planned = [Request(line.split(" --")[0]) for line in (*resolved.plan.requirements, *resolved.plan.constraints)]
    named = named_in([*resolved.args.requests, *planned]) | {a.name for a in resolved.arrivals}
    # A stand-in of a recipe line in use (e.g. tensorflow-addons on TF 2.16+) is that line's own.
    named |= {s.name for rid in resolved.plan.recipes for s in recipes.by_id(rid).standins}
    if result.ok:
        items = [Dist(i.name, i.version, i.requires) for i in result.resolved()]
        found = arrivals_in_resolution(items, watch, named)
    else:
        found = arrivals_in_failure(asks_from_pip_text(result.stderr), watch, named)
    # By name: pip and uv report a resolution in different orders, and the plan must not differ.
    return tuple(sorted(found, key=lambda a: a.name))


def changes_nothing(prepared: Resolved) -> bool:
    """A plan for this very machine that changes no line, adds nothing and builds nothing: the
    user's own command goes to pip unchanged (same output, same exit code)."""
    plan, args = prepared.plan, prepared.args
    own = args.own
    if plan.target.is_macos_arm64 and plan.wants_gpu and plan.metal_line is None:
        return False  # a plugin to pair after pip resolves (a TensorFlow newer than the knowledge)
    return (not plan.target.cross and not plan.actions and not plan.aliases and not plan.recipes
            and not plan.constraints[len([r for r in args.requests if r.constraint]):]
            and plan.requirements == tuple(r.line() for r in args.requests if not r.constraint)
            and not (own.json or own.explain or own.offline or own.strict) and prepared.backend is None)


def resolve(args: InstallArgs, *, with_wheelhouse: bool = True, progress: Progress = quiet,
            prepared: "Resolved | None" = None, own_wheels_only: bool = False) -> Resolved:
    """Plan, build what the plan needs, and let pip resolve it (see module doc).

    `own_wheels_only`: pip sees only the wheels built for this plan, not the whole wheelhouse
    (a lock of several targets: a Mac's alias wheel must not serve a Linux target)."""
    resolved = prepared if prepared is not None else prepare(args, progress)
    resolved.own_wheels_only = own_wheels_only
    try:
        return _resolve(resolved, with_wheelhouse, progress)
    except BaseException:
        resolved.cleanup()
        raise


def _build(resolved: Resolved, progress: Progress) -> None:
    """Build the local wheels of the plan (aliases, recipes) and hand the wheelhouse to pip."""
    args = resolved.args
    progress("building the local wheels the plan needs")
    from pip_tfmac.wheelhouse.build import build_local_wheels  # only a plan with local wheels

    wheelhouse = resolved.wheelhouse = resolved.wheelhouse or open_wheelhouse(args)
    resolved.built = build_local_wheels(resolved.plan, wheelhouse, resolved.python, args)
    # The wheels built for this plan are re-hashed before pip sees them (all of them when
    # offline); a damaged one is removed, never used. Fetched wheels pip picks are checked
    # after the dry run (recheck_used_wheels) rather than re-hashing gigabytes each run.
    names = None if args.own.offline else [os.path.basename(b) for b in resolved.built]
    folder = wheelhouse.prepare(names)
    if resolved.own_wheels_only and names is not None:
        resolved.find_links = (own_wheels_view(resolved),)
    else:
        resolved.find_links = (plan_wheels_view(resolved, str(folder)),)


def wants_wheelhouse(resolved: Resolved) -> bool:
    """pip is always handed the wheelhouse; uv only when the plan builds wheels there (aliases,
    recipes) or may use nothing else (--offline): uv keeps its own cache of what it fetched."""
    plan, args = resolved.plan, resolved.args
    return (resolved.backend is None or args.own.offline or bool(plan.aliases or plan.recipes)
            or args.command not in ("install", "plan"))  # download fills the wheelhouse


def own_wheels_view(resolved: Resolved) -> str:
    """A find-links folder holding only the wheels built for this plan (copies, in the workdir)."""
    import shutil

    view = os.path.join(resolved.workdir, "built-wheels")
    os.makedirs(view, exist_ok=True)
    for path in resolved.built:
        shutil.copyfile(path, os.path.join(view, os.path.basename(path)))
    return view


def foreign_builds(folder: str, built: list[str]) -> set[str]:
    """Wheels pip-tfmac built (local label +tfmac...) for other plans: a stand-in or a recipe
    line's wheel outranks the release it stands for (0.23.0+tfmac.1 > 0.23.0), so a plan must
    not see those it did not ask for (e.g. the Python 3.12 line's tensorflow-addons stand-in
    when the Python 3.11 line needs the real tensorflow-addons)."""
    mine = {os.path.basename(path) for path in built}
    out = set()
    for entry in os.listdir(folder):
        if not entry.endswith(".whl") or entry in mine:
            continue
        try:
            version = parse_wheel_filename(entry)[1]
        except InvalidWheelFilename:
            continue
        if (version.local or "").startswith("tfmac"):
            out.add(entry)
    return out


def plan_wheels_view(resolved: Resolved, folder: str) -> str:
    """The wheelhouse as this plan may see it: the folder itself, or, when it holds builds of
    other plans, a kept view of links to every wheel but those (wheelhouse/views.py)."""
    hidden = foreign_builds(folder, resolved.built)
    if not hidden or resolved.wheelhouse is None:
        return folder
    from pip_tfmac.wheelhouse.views import view_without

    return str(view_without(resolved.wheelhouse, hidden))


def _resolve(resolved: Resolved, with_wheelhouse: bool, progress: Progress) -> Resolved:
    args, plan = resolved.args, resolved.plan
    knowledge = load()
    if with_wheelhouse and (plan.intercepted or args.own.offline) and wants_wheelhouse(resolved):
        _build(resolved, progress)
    progress(f"resolving the plan with {resolved.backend_name} (dry run)")
    result = dry_run(resolved)
    arrivals = arrivals_of(resolved, result)
    if arrivals:
        # TensorFlow came in by another road: plan it as if it had been named, then resolve again.
        progress("TensorFlow comes in through " + "; ".join(
            f"{a.name} (from {', '.join(a.parents) or 'a project'})" for a in arrivals) + ": planning it again")
        resolved.arrivals += arrivals
        plan = resolved.plan = _plan(args, plan.target, resolved.arrivals)
        if with_wheelhouse and wants_wheelhouse(resolved):
            _build(resolved, progress)
        result = dry_run(resolved)
    if not plan.intercepted:
        if not result.ok:
            raise resolution_error(result, plan, offline=args.own.offline, tool=resolved.backend_name)
        resolved.result = result
        return resolved
    if not result.ok and plan.preference is not None:
        plan = plan.without_preference(
            f"the preference for a TensorFlow with a working tensorflow-metal ({plan.preference}) "
            "conflicts with the rest of the request; planning without it (TensorFlow may run on the CPU)"
        )
        resolved.plan = plan
        progress("resolving again without the tensorflow-metal preference")
        result = dry_run(resolved)
    if not result.ok:
        raise resolution_error(result, plan, offline=args.own.offline, tool=resolved.backend_name)
    versions: dict[str, str] = {canonicalize_name(i.name): i.version for i in result.resolved()}
    # A pair the knowledge does not judge (a newer release) is link-checked from the wheels.
    plan, knowledge = link_check_newer(resolved, result, versions, knowledge, progress)
    paired = pair_with_resolution(plan, versions, knowledge, plan_options(args))
    raise_problems(paired.errors)
    resolved.plan = paired
    if changes_resolution(plan, paired, versions):
        progress(f"resolving the paired set with {resolved.backend_name} (second dry run)")
        result = dry_run(resolved)
        if not result.ok:
            raise resolution_error(result, paired, offline=args.own.offline, tool=resolved.backend_name)
    if recheck_used_wheels(resolved, result):
        progress("a damaged wheelhouse wheel was removed: resolving again")
        result = dry_run(resolved)
        if not result.ok:
            raise resolution_error(result, resolved.plan, offline=args.own.offline, tool=resolved.backend_name)
    resolved.result = result
    return resolved
