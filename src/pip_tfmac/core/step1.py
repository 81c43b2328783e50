"""Planner step 1: rewrite what the user asked for the target, before anything is resolved.

Pure: requests + target + knowledge (+ recipes) -> Plan. Refuses what cannot work on the target
before pip touches anything. The macOS arm64 rules are in macos.py; step 2 (pairing with what pip
resolved) in step2.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.macos import plan_macos_arm64
from pip_tfmac.core.plan import METAL, Action, Draft, Plan, PlanOptions, Problem, applies, format_requirement
from pip_tfmac.core.recipes import Recipe
from pip_tfmac.core.requests import Request
from pip_tfmac.core.target import Target


def touches_family(requests: Sequence[Request], knowledge: Knowledge,
                   target: Optional[Target] = None, extra_names: Sequence[str] = ()) -> bool:
    """Does any request that applies on the target name a package the knowledge is about?"""
    names = knowledge.family() | {canonicalize_name(n) for n in extra_names}
    for request in requests:
        req = request.requirement
        if req is None or canonicalize_name(req.name) not in names:
            continue
        if target is None or applies(req, target):
            return True
    return False

def plan_request(
    requests: Sequence[Request],
    target: Target,
    knowledge: Knowledge,
    options: PlanOptions = PlanOptions(),
    recipes: Sequence["Recipe"] = (),
) -> Plan:
    """Step 1: rewrite the request for the target, before anything is resolved."""
    recipe_names = [r.name for r in recipes if not r.dependency_only]
    requests, marker_actions = evaluate_markers(requests, target)
    if not touches_family(requests, knowledge, target, recipe_names):
        return Plan(target, tuple(r.line() for r in requests if not r.constraint),
                    tuple(r.line() for r in requests if r.constraint), actions=tuple(marker_actions))
    requests, recipe_draft, used = _apply_recipes(requests, target, recipes, options)
    recipe_draft.actions[:0] = marker_actions
    if target.is_macos_arm64:
        plan = plan_macos_arm64(requests, target, knowledge, options)
    else:
        plan = _plan_elsewhere(requests, target, knowledge, options)
    return replace(
        plan,
        actions=tuple(recipe_draft.actions) + plan.actions,
        warnings=tuple(recipe_draft.warnings) + plan.warnings,
        errors=tuple(recipe_draft.errors) + plan.errors,
        recipes=tuple(used),
    )

def evaluate_markers(requests: Sequence[Request], target: Target) -> tuple[list[Request], list[Action]]:
    """In a cross-target plan, evaluate each line's environment marker for the TARGET.

    pip evaluates a requirement's marker against the machine it runs on, also under --platform:
    from Linux, `tensorflow-macos==2.12.0; sys_platform == "darwin"` would be skipped. So a line
    whose marker holds on the target is handed to pip without it, and one whose marker does not
    hold is left out; each is an action that says so. A real (probed) target is pip's own machine:
    its lines are left as written.
    """
    if not target.cross or not target.markers:
        return list(requests), []
    out: list[Request] = []
    actions: list[Action] = []
    for request in requests:
        req = request.requirement
        if req is None or req.marker is None:
            out.append(request)
            continue
        holds = applies(req, target)
        to = format_requirement(replace_marker(req)) if holds else "(left out)"
        actions.append(Action(
            "marker", req.name, str(req), to,
            f"the marker `{req.marker}` is {'true' if holds else 'false'} on {target.describe}; "
            "pip would evaluate it for the machine it runs on",
            "https://packaging.python.org/en/latest/specifications/dependency-specifiers/#environment-markers",
        ))
        if holds:
            out.append(replace(request, text=to))
    return out, actions


def replace_marker(req: Requirement) -> Requirement:
    """The same requirement without its marker."""
    copy = Requirement(str(req))
    copy.marker = None
    return copy


def recipe_platform(target: Target) -> Optional[str]:
    if target.is_macos_arm64:
        return "macos-arm64"
    if target.system == "linux" and target.machine in ("x86_64", "aarch64"):
        return f"linux-{target.machine}"
    return None

def _apply_recipes(requests: Sequence[Request], target: Target, recipes: Sequence["Recipe"],
                   options: PlanOptions, prefer: Optional[dict[str, str]] = None,
                   ) -> tuple[list[Request], Draft, list[str]]:
    """Swap a recipe package for its patched build and add the TensorFlow line it runs on.

    A project may have several recipe lines (another upstream release or TensorFlow line for
    other Pythons); the first line, in the order given, that the request admits and that has a
    target line for this platform and Python is used. A requirement a line adds goes through the
    same choice (any recipe, dependency-only or not, e.g. tflite-model-maker's tensorflowjs), at
    any depth; each recipe is applied once, and a line's pin that no recipe patches (tf-keras
    ~=2.15.0) is passed on without a warning. When the user names a project that a chosen line
    also pins to another of its recipe lines (`tensorflowjs` beside the TF 2.13 Model Maker line,
    which pins tensorflowjs 4.15.0) and the user's request admits that release, the plan is made
    again with the line's choice for the user's request too, so one build of the project is asked.
    """
    prefer = prefer or {}
    by_name: dict[str, list["Recipe"]] = {}
    for recipe in recipes:
        by_name.setdefault(canonicalize_name(recipe.name), []).append(recipe)
    draft = Draft()
    out: list[Request] = []
    added: list[Request] = []
    used: list[str] = []
    platform = recipe_platform(target)
    # A line's own requirements may name a project with a recipe (a dependency whose published
    # pins or code break on that line, `dependency_only`, or one that also has a recipe of its
    # own, like tensorflowjs): they go through the same choice; what the user names never picks
    # a dependency_only recipe.
    queue = [(request, out) for request in requests]
    chosen: dict[str, list[tuple[Recipe, bool, Requirement]]] = {}  # project -> (recipe, by user, req)
    for request, into in queue:
        req = request.requirement
        candidates = [r for r in by_name.get(canonicalize_name(req.name), [])
                      if into is not out or not r.dependency_only or r.id == prefer.get(canonicalize_name(r.name))
                      ] if req is not None else []
        if req is not None and into is out and canonicalize_name(req.name) in prefer:
            candidates.sort(key=lambda r: r.id != prefer[canonicalize_name(req.name)])
        if req is None or not candidates or request.constraint or not applies(req, target):
            into.append(request)
            continue
        admitted = [r for r in candidates
                    if not req.specifier or req.specifier.contains(r.upstream_version, prereleases=True)]
        if not admitted:
            if into is not out:  # a line's own pin of another release: its choice, not the user's
                into.append(request)
                continue
            versions = ", ".join(sorted({r.upstream_version for r in candidates}))
            draft.warnings.append(
                f"{req} excludes {versions}, the release(s) the pip-tfmac recipe patches; "
                f"it is passed to pip as written")
            into.append(request)
            continue
        picked = [(r, r.target(platform, target.python_version)) for r in admitted] if platform else []
        fitting = [(r, line) for r, line in picked if line is not None]
        if not fitting:
            where = "; ".join(f"{r.name} {r.upstream_version} on {t.platform} with Python {', '.join(t.python)}"
                              for r in admitted for t in r.targets)
            draft.errors.append(Problem(
                "NoConsistentSetError",
                f"{req.name} does not install as published on {target.describe}, and its pip-tfmac recipe covers only: {where}.",
                "use one of those targets (for example a Python 3.11 virtual environment)",
            ))
            continue
        recipe, line = fitting[0]
        chosen.setdefault(canonicalize_name(recipe.name), []).append((recipe, into is out, req))
        new = format_requirement(req, name=recipe.name, specifier=SpecifierSet(f"=={recipe.version}"))
        into.append(replace(request, text=new))
        if recipe.id in used:  # the user named it too, or two lines pin it: applied once
            continue
        used.append(recipe.id)
        draft.actions.append(Action("recipe", recipe.name, str(req), new, recipe.summary, recipe.source))
        for text in line.requirements:
            extra = Requirement(text)
            if canonicalize_name(extra.name) == METAL and options.no_metal:
                continue
            draft.actions.append(Action("add", extra.name, "", text, line.reason, line.source))
            if canonicalize_name(extra.name) in by_name:
                queue.append((Request(text, origin=f"recipe {recipe.id}"), added))
            else:
                added.append(Request(text, origin=f"recipe {recipe.id}"))
        for disabled in recipe.disabled:
            draft.actions.append(Action("disable", recipe.name, disabled.module, "unavailable",
                                        f"{disabled.message} (needs {', '.join(disabled.needs)})", disabled.source))
    line_choice, conflicts = _user_requests_against_line_pins(chosen)
    if line_choice and any(prefer.get(k) != v for k, v in line_choice.items()):
        return _apply_recipes(requests, target, recipes, options, {**prefer, **line_choice})
    draft.warnings.extend(conflicts)
    return _once(added + out), draft, used


def _user_requests_against_line_pins(
    chosen: dict[str, list[tuple[Recipe, bool, Requirement]]],
) -> tuple[dict[str, str], list[str]]:
    """Where the user's request took another recipe of a project than a chosen line pins:
    project -> the line's recipe when the request admits its release (planned again with it),
    and a warning when it does not (pip will refuse the pair)."""
    choice: dict[str, str] = {}
    conflicts: list[str] = []
    for name, picks in chosen.items():
        for pinned in (r for r, by_user, _ in picks if not by_user):
            for other, req in ((r, q) for r, by_user, q in picks if by_user and r.id != pinned.id):
                if not req.specifier or req.specifier.contains(pinned.upstream_version, prereleases=True):
                    choice.setdefault(name, pinned.id)
                else:
                    conflicts.append(
                        f"{req} excludes {pinned.upstream_version}, the {pinned.name} release the "
                        f"pip-tfmac recipe line for this target pins ({pinned.requirement}); pip will "
                        f"refuse the pair: drop the version from {req.name} or use another target")
    return choice, conflicts


def _once(requests: Sequence[Request]) -> list[Request]:
    """The requests without a repeated requirement line (a recipe reached twice writes one)."""
    seen: set[tuple[str, bool]] = set()
    out: list[Request] = []
    for request in requests:
        key = (request.line(), request.constraint)
        if key not in seen:
            seen.add(key)
            out.append(request)
    return out


def _plan_elsewhere(requests: Sequence[Request], target: Target, knowledge: Knowledge,
                    options: PlanOptions) -> Plan:
    draft = Draft()
    for request in requests:
        req = request.requirement
        bucket = draft.constraints if request.constraint else draft.requirements
        if req is None or not applies(req, target):
            bucket.append(request.line())
            continue
        name = canonicalize_name(req.name)
        if name == METAL and not request.constraint:
            draft.errors.append(_metal_elsewhere(target))
            continue
        if target.rosetta and name in knowledge.family() and not request.constraint:
            draft.errors.append(rosetta_problem(target))
            continue
        rename = knowledge.rename_elsewhere(name) if target.system != "macos" else None
        if rename is not None:
            new = format_requirement(req, name=rename.becomes)
            bucket.append(request.line(new))
            draft.actions.append(Action("rename", req.name, str(req), new, rename.reason, rename.source))
            continue
        bucket.append(request.line())
    return Plan(target, tuple(draft.requirements), tuple(draft.constraints), tuple(draft.actions),
                tuple(draft.warnings), tuple(draft.errors), intercepted=True)

def _metal_elsewhere(target: Target) -> Problem:
    if target.rosetta:
        return rosetta_problem(target)
    instead = {
        "linux": "on Linux with an NVIDIA GPU use tensorflow[and-cuda]; otherwise plain tensorflow (CPU)",
        "windows": "on Windows use WSL2 with tensorflow[and-cuda] for NVIDIA GPUs, or plain tensorflow (CPU)",
        "macos": "Intel Macs have no supported Metal plugin for current TensorFlow: use plain tensorflow (CPU)",
    }.get(target.system, "use plain tensorflow (CPU)")
    return Problem(
        "UnsupportedTargetError",
        f"tensorflow-metal is the GPU plugin for Apple Silicon Macs; it has no build for {target.describe}.",
        instead + " (or remove tensorflow-metal, or give it a marker: tensorflow-metal; sys_platform == 'darwin' and platform_machine == 'arm64')",
    )

def rosetta_problem(target: Target) -> Problem:
    return Problem(
        "UnsupportedTargetError",
        f"this Python is an x86_64 build running under Rosetta on an Apple Silicon Mac ({target.interpreter or 'target'}); "
        "TensorFlow's x86_64 wheels need AVX, which Rosetta lacks, so TensorFlow would die with 'illegal instruction'.",
        "install an arm64 Python (python.org installer, Homebrew in /opt/homebrew, or `arch -arm64`), create a venv from it and run pip-tfmac there",
    )

def hash_pinned_changes(requests: Sequence[Request], plan: Plan) -> Optional[Problem]:
    """Hash-checking mode and a plan that changes requirement lines cannot go together: pip would
    check tensorflow's hashes against tensorflow-macos, and refuse the unhashed plugin line."""
    written = {r.line() for r in requests if not r.constraint}
    changed = [a for a in plan.actions if a.kind in ("rewrite", "drop-extra", "rename", "recipe", "correct")]
    added = [line for line in plan.requirements if line not in written]
    if not plan.intercepted or not added:
        return None
    said = [f"{a.from_} becomes {a.to}" for a in changed]
    rewritten = {a.to for a in changed}
    said += [f"{line} is added" for line in added if line.split(" --")[0] not in rewritten]
    return Problem(
        "BadInputError",
        f"the requirements are hash-pinned (hash-checking mode), but on {plan.target.describe} they must change "
        f"({'; '.join(said)}), and pip cannot check hashes for lines pip-tfmac writes.",
        "lock for this target instead: `pip-tfmac plan --json` with the same platform lists the requirements "
        "to hash (e.g. with pip-compile --generate-hashes), or install without --require-hashes/--hash "
        "(--no-metal keeps pip-tfmac from adding the plugin line)",
    )
