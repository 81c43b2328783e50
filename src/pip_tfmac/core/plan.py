"""The planner: requests + target + knowledge -> Plan. Pure: no I/O of any kind.

Two steps, because tensorflow-metal must match the TensorFlow that pip actually resolves:

1. `plan_request` rewrites what the user asked for (names, extras, a preference for the newest
   TF that has a working GPU plugin), lists the alias wheels to build, and refuses what cannot
   work on the target (before pip touches anything);
2. `pair_with_resolution` reads pip's first resolution and pins TensorFlow, the matching
   tensorflow-metal and the companions coupled to the TF minor.

Every decision is an `Action` carrying the knowledge rule (and its source) that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from packaging.markers import InvalidMarker, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pip_tfmac.core.knowledge import Knowledge, MetalChoice, minor_of
from pip_tfmac.core.target import Target

if TYPE_CHECKING:
    from pip_tfmac.core.recipes import Recipe

PLAN_JSON_VERSION = 1
ALIAS_LABEL = "tfmac.1"  # local version label of alias wheels: visibly ours, wins ties
METAL: NormalizedName = canonicalize_name("tensorflow-metal")
TENSORFLOW: NormalizedName = canonicalize_name("tensorflow")
TENSORFLOW_MACOS: NormalizedName = canonicalize_name("tensorflow-macos")
ARM64_TF_FROM = Version("2.13")


# -- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One requirement or constraint as the user wrote it (on the command line or in a file)."""

    text: str  # the requirement string, without per-line options
    origin: str = "command line"
    constraint: bool = False
    editable: bool = False
    line_options: tuple[str, ...] = ()  # e.g. --hash=sha256:..., kept verbatim

    @property
    def requirement(self) -> Optional[Requirement]:
        if self.editable:
            return None
        try:
            return Requirement(self.text)
        except Exception:
            return None  # a path or URL: never rewritten

    def line(self, text: Optional[str] = None) -> str:
        body = self.text if text is None else text
        if self.editable:
            body = f"-e {body}"
        return " ".join([body, *self.line_options])


@dataclass(frozen=True)
class PlanOptions:
    strict: bool = False
    no_metal: bool = False
    allow_unverified_metal: bool = False


# -- outputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str  # see README "Action kinds"
    package: str
    from_: str
    to: str
    reason: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "package": self.package,
            "from": self.from_,
            "to": self.to,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class Problem:
    """An error (or, under --strict, a correction) that stops the plan before installing."""

    kind: str  # the errors.py class name that renders it
    message: str
    remedy: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message, "remedy": self.remedy}


@dataclass(frozen=True)
class AliasWheel:
    """A metadata-only wheel `name==version` that requires `target_name==target_version`."""

    name: str
    version: str
    target_name: str
    target_version: str
    reason: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "requires": f"{self.target_name}=={self.target_version}",
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class Plan:
    target: Target
    requirements: tuple[str, ...]
    constraints: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    warnings: tuple[str, ...] = ()
    errors: tuple[Problem, ...] = ()
    aliases: tuple[AliasWheel, ...] = ()
    intercepted: bool = False  # False: nothing to rewrite, the command is plain pip
    wants_gpu: bool = False
    preference: Optional[str] = None  # the constraint that prefers a metal-capable TF
    metal_requested: Optional[Request] = None
    paired: bool = False
    recipes: tuple[str, ...] = ()  # names of the recipes whose wheels must be built
    # The tensorflow-metal line step 1 already hands to pip: the user's own, or the one the
    # preference predicts. Step 2 replaces it in place, so a right guess needs no second resolve.
    metal_line: Optional[str] = None

    def without_preference(self, why: str) -> "Plan":
        """The same plan without the metal preference (when it made resolution impossible)."""
        if self.preference is None:
            return self
        return replace(
            self,
            constraints=tuple(c for c in self.constraints if c != self.preference),
            actions=tuple(a for a in self.actions if a.kind != "prefer"),
            warnings=self.warnings + (why,),
            preference=None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PLAN_JSON_VERSION,
            "target": self.target.to_json(),
            "intercepted": self.intercepted,
            "requirements": list(self.requirements),
            "constraints": list(self.constraints),
            "actions": [a.to_json() for a in self.actions],
            "aliases": [a.to_json() for a in self.aliases],
            "recipes": list(self.recipes),
            "warnings": list(self.warnings),
            "errors": [e.to_json() for e in self.errors],
        }


# -- helpers -------------------------------------------------------------------------------------


def _applies(req: Requirement, target: Target) -> bool:
    """Does this requirement's environment marker hold on the target?"""
    if req.marker is None:
        return True
    env = target.marker_env()
    if not env:
        return True
    try:
        return bool(req.marker.evaluate({**env, "extra": ""}))
    except (UndefinedEnvironmentName, InvalidMarker):
        return True


def _format(req: Requirement, *, name: Optional[str] = None, extras: Optional[set[str]] = None,
            specifier: Optional[SpecifierSet] = None) -> str:
    out = name or req.name
    chosen = req.extras if extras is None else extras
    if chosen:
        out += "[" + ",".join(sorted(chosen)) + "]"
    spec = req.specifier if specifier is None else specifier
    if req.url:
        out += f" @ {req.url}"
        if req.marker:
            out += " "
    else:
        out += str(spec)
    if req.marker:
        out += f"; {req.marker}"
    return out


def _versions_text(versions: Sequence[Version], limit: int = 12) -> str:
    shown = [str(v) for v in versions[:limit]]
    more = len(versions) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _minors(versions: Sequence[Version]) -> list[str]:
    seen: list[str] = []
    for v in versions:
        m = minor_of(v)
        if m not in seen:
            seen.append(m)
    return seen


# -- step 1 --------------------------------------------------------------------------------------


@dataclass
class _Draft:
    """Mutable scratchpad of one planning step; frozen into a Plan at the end."""

    requirements: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    def correction(self, options: PlanOptions, action: Action, warning: str) -> None:
        """A change the user did not ask for: a warning, or an error under --strict."""
        if options.strict:
            self.errors.append(Problem("StrictError", warning, "drop --strict to let pip-tfmac correct it, or change the request as described"))
        else:
            self.actions.append(action)
            self.warnings.append(warning)


def touches_family(requests: Sequence[Request], knowledge: Knowledge,
                   target: Optional[Target] = None, extra_names: Sequence[str] = ()) -> bool:
    """Does any request that applies on the target name a package the knowledge is about?"""
    names = knowledge.family() | {canonicalize_name(n) for n in extra_names}
    for request in requests:
        req = request.requirement
        if req is None or canonicalize_name(req.name) not in names:
            continue
        if target is None or _applies(req, target):
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
    recipe_names = [r.name for r in recipes]
    if not touches_family(requests, knowledge, target, recipe_names):
        return Plan(target, tuple(r.line() for r in requests if not r.constraint),
                    tuple(r.line() for r in requests if r.constraint))
    requests, recipe_draft, used = _apply_recipes(requests, target, recipes, options)
    if target.is_macos_arm64:
        plan = _plan_macos_arm64(requests, target, knowledge, options)
    else:
        plan = _plan_elsewhere(requests, target, knowledge, options)
    return replace(
        plan,
        actions=tuple(recipe_draft.actions) + plan.actions,
        warnings=tuple(recipe_draft.warnings) + plan.warnings,
        errors=tuple(recipe_draft.errors) + plan.errors,
        recipes=tuple(used),
    )


def recipe_platform(target: Target) -> Optional[str]:
    if target.is_macos_arm64:
        return "macos-arm64"
    if target.system == "linux" and target.machine == "x86_64":
        return "linux-x86_64"
    return None


def _apply_recipes(requests: Sequence[Request], target: Target, recipes: Sequence["Recipe"],
                   options: PlanOptions) -> tuple[list[Request], _Draft, list[str]]:
    """Swap a recipe package for its patched build and add the TensorFlow line it runs on."""
    by_name = {canonicalize_name(r.name): r for r in recipes}
    draft = _Draft()
    out: list[Request] = []
    added: list[Request] = []
    used: list[str] = []
    platform = recipe_platform(target)
    for request in requests:
        req = request.requirement
        recipe = by_name.get(canonicalize_name(req.name)) if req is not None else None
        if req is None or recipe is None or request.constraint or not _applies(req, target):
            out.append(request)
            continue
        if req.specifier and not req.specifier.contains(recipe.upstream_version, prereleases=True):
            draft.warnings.append(
                f"{req} excludes {recipe.upstream_version}, the release the pip-tfmac recipe patches; "
                f"it is passed to pip as written")
            out.append(request)
            continue
        line = recipe.target(platform, target.python_version) if platform else None
        if line is None:
            where = "; ".join(f"{t.platform} with Python {', '.join(t.python)}" for t in recipe.targets)
            draft.errors.append(Problem(
                "NoConsistentSetError",
                f"{recipe.name} does not install as published on {target.describe}, and its pip-tfmac recipe covers only: {where}.",
                "use one of those targets (for example a Python 3.11 virtual environment)",
            ))
            continue
        new = _format(req, name=recipe.name, specifier=SpecifierSet(f"=={recipe.version}"))
        out.append(replace(request, text=new))
        used.append(recipe.name)
        draft.actions.append(Action("recipe", recipe.name, str(req), new, recipe.summary, recipe.source))
        for text in line.requirements:
            extra = Requirement(text)
            if canonicalize_name(extra.name) == METAL and options.no_metal:
                continue
            added.append(Request(text, origin=f"recipe {recipe.id}"))
            draft.actions.append(Action("add", extra.name, "", text, line.reason, line.source))
        for disabled in recipe.disabled:
            draft.actions.append(Action("disable", recipe.name, disabled.module, "unavailable",
                                        f"{disabled.message} (needs {', '.join(disabled.needs)})", disabled.source))
    return added + out, draft, used


def _plan_elsewhere(requests: Sequence[Request], target: Target, knowledge: Knowledge,
                    options: PlanOptions) -> Plan:
    draft = _Draft()
    for request in requests:
        req = request.requirement
        bucket = draft.constraints if request.constraint else draft.requirements
        if req is None or not _applies(req, target):
            bucket.append(request.line())
            continue
        name = canonicalize_name(req.name)
        if name == METAL and not request.constraint:
            draft.errors.append(_metal_elsewhere(target))
            continue
        if target.rosetta and name in knowledge.family() and not request.constraint:
            draft.errors.append(_rosetta_problem(target))
            continue
        rename = knowledge.rename_elsewhere(name) if target.system != "macos" else None
        if rename is not None:
            new = _format(req, name=rename.becomes)
            bucket.append(request.line(new))
            draft.actions.append(Action("rename", req.name, str(req), new, rename.reason, rename.source))
            continue
        bucket.append(request.line())
    return Plan(target, tuple(draft.requirements), tuple(draft.constraints), tuple(draft.actions),
                tuple(draft.warnings), tuple(draft.errors), intercepted=True)


def _metal_elsewhere(target: Target) -> Problem:
    if target.rosetta:
        return _rosetta_problem(target)
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


def _rosetta_problem(target: Target) -> Problem:
    return Problem(
        "UnsupportedTargetError",
        f"this Python is an x86_64 build running under Rosetta on an Apple Silicon Mac ({target.interpreter or 'target'}); "
        "TensorFlow's x86_64 wheels need AVX, which Rosetta lacks, so TensorFlow would die with 'illegal instruction'.",
        "install an arm64 Python (python.org installer, Homebrew in /opt/homebrew, or `arch -arm64`), create a venv from it and run pip-tfmac there",
    )


def _plan_macos_arm64(requests: Sequence[Request], target: Target, knowledge: Knowledge,
                      options: PlanOptions) -> Plan:
    py = target.python_version
    draft = _Draft()
    wants_gpu = not options.no_metal
    tf_specs: list[SpecifierSet] = []  # every direct TF request's specifier
    tf_constraint_specs: list[SpecifierSet] = []  # and every TF constraint's
    macos_specs: list[SpecifierSet] = []  # TF requests that ended up as tensorflow-macos
    metal_request: Optional[Request] = None
    gpu_names: list[str] = []

    for request in requests:
        req = request.requirement
        bucket = draft.constraints if request.constraint else draft.requirements
        if req is None or not _applies(req, target):
            bucket.append(request.line())
            continue
        name = canonicalize_name(req.name)
        tf_name = knowledge.tf_name(name)
        if tf_name is not None:
            new_line = _rewrite_tf(request, req, tf_name.name, knowledge, py, draft, tf_specs, macos_specs)
            if new_line is not None:
                bucket.append(new_line)
            if request.constraint:
                tf_constraint_specs.append(req.specifier)
                # The bound must also hold for the name dependents use (and alias wheels carry).
                original = request.line(_format(req, extras=set()))
                if new_line != original and canonicalize_name(req.name) == TENSORFLOW:
                    bucket.append(original)
            if not request.constraint:
                gpu_names.append(req.name)
                if not tf_name.gpu:
                    wants_gpu = False
                    draft.actions.append(Action("keep", req.name, str(req), "no tensorflow-metal",
                                                tf_name.note, tf_name.source))
            continue
        if name == METAL:
            if request.constraint:
                bucket.append(request.line())
            else:
                metal_request = request  # checked in step 2, once TF is known
                wheels = knowledge.arm64_versions(METAL, py) or ()
                if any(req.specifier.contains(v) for v in wheels):
                    bucket.append(request.line())  # else pip would stop on it before step 2 helps
            continue
        companion = knowledge.companion(name)
        tracked = knowledge.arm64_versions(name, py) if companion is not None else None
        if tracked is not None and not request.constraint:
            if not any(req.specifier.contains(v) for v in tracked):
                draft.errors.append(_no_companion_build(req, py, knowledge, tracked))
                continue
        bucket.append(request.line())

    if metal_request is not None and options.no_metal:
        draft.errors.append(Problem("UsageError", "tensorflow-metal was requested together with --no-metal.",
                                    "drop one of the two"))
    metal_possible = _metal_possible(target, knowledge, draft, metal_request, wants_gpu, options)
    wants_gpu = wants_gpu and metal_possible

    # The candidate TF releases for this Python, narrowed by every direct request.
    candidates = [v for v in knowledge.tf_versions(py)
                  if all(s.contains(v) for s in tf_specs + tf_constraint_specs)]
    if tf_specs and not candidates and not any(p.kind == "NoConsistentSetError" for p in draft.errors):
        draft.errors.append(Problem(
            "NoConsistentSetError",
            f"the TensorFlow requests and constraints ({', '.join(str(s) or 'any' for s in tf_specs + tf_constraint_specs)}) "
            f"admit no release with a macOS arm64 wheel for Python {py}.",
            f"TensorFlow releases installable there: {_versions_text(knowledge.tf_versions(py))}",
        ))

    preference: Optional[str] = None
    if wants_gpu and candidates:
        preference = _prefer_metal_capable(candidates, target, knowledge, options, draft, metal_request)
        cpu_only = any(a.kind == "cpu-only" for a in draft.actions) or any(
            p.kind == "StrictError" for p in draft.errors)
        if cpu_only and metal_request is None:
            wants_gpu = False  # said once, here: step 2 must not say it again

    metal_line = metal_request.line() if metal_request is not None else None
    if metal_line is not None and metal_line not in draft.requirements:
        metal_line = None
    if wants_gpu and metal_request is None and candidates:
        metal_line = _predict_metal(candidates, preference, target, knowledge, options)
        if metal_line is not None:
            draft.requirements.append(metal_line)

    if macos_specs:
        # Anything that requires plain `tensorflow` must get the alias of this very release,
        # never a second, real tensorflow.
        for spec in macos_specs:
            line = f"tensorflow{spec}" if str(spec) else "tensorflow<2.13"
            draft.constraints.append(line)
    _undeclared_bounds(candidates, preference, knowledge, draft)
    aliases = _aliases(candidates if tf_specs or tf_constraint_specs else list(knowledge.tf_versions(py)), knowledge)
    if aliases:
        draft.actions.append(Action(
            "alias", "tensorflow", "tensorflow (required by dependents)",
            "local alias wheels " + ", ".join(a.version for a in aliases),
            aliases[0].reason, aliases[0].source,
        ))
    return Plan(
        target, tuple(draft.requirements), tuple(draft.constraints), tuple(draft.actions),
        tuple(draft.warnings), tuple(draft.errors), tuple(aliases), intercepted=True,
        wants_gpu=wants_gpu, preference=preference, metal_requested=metal_request,
        metal_line=metal_line,
    )


def _admitted(candidates: Sequence[Version], preference: Optional[str]) -> list[Version]:
    """The candidates the metal preference (a `tensorflow<X.Y` cap) leaves in play."""
    cap = SpecifierSet(preference[len("tensorflow"):]) if preference else SpecifierSet()
    return [v for v in candidates if cap.contains(v)]


def _undeclared_bounds(candidates: Sequence[Version], preference: Optional[str],
                       knowledge: Knowledge, draft: _Draft) -> None:
    """Add a bound TF does not declare (numpy<2 before 2.16) already in step 1 when every
    admissible TF needs it: pip then resolves the right numpy the first time, and step 2 has
    nothing to change (no second resolve)."""
    admitted = _admitted(candidates, preference)
    if not admitted:
        return
    for bound in knowledge.undeclared:
        if bound.constraint in draft.constraints:
            continue
        if all(bound.tensorflow.contains(v, prereleases=True) for v in admitted):
            draft.constraints.append(bound.constraint)
            draft.actions.append(Action("bound", Requirement(bound.constraint).name, "",
                                        bound.constraint, bound.reason, bound.source))


def _predict_metal(candidates: Sequence[Version], preference: Optional[str], target: Target,
                   knowledge: Knowledge, options: PlanOptions) -> Optional[str]:
    """The tensorflow-metal step 2 will most likely pair: the one of the newest TF the request
    (and the preference) admits. Only a guess: step 2 checks it against what pip resolved."""
    admitted = _admitted(candidates, preference)
    if not admitted:
        return None
    choice = knowledge.metal_choice(admitted[0], target.python_version,
                                    allow_unverified=options.allow_unverified_metal)
    if choice is None or (target.macos_version and target.macos_version < choice.pair.min_macos):
        return None
    return f"tensorflow-metal=={choice.version}"


def _rewrite_tf(request: Request, req: Requirement, name: NormalizedName, knowledge: Knowledge,
                py: str, draft: _Draft, tf_specs: list[SpecifierSet],
                macos_specs: list[SpecifierSet]) -> Optional[str]:
    """Rename a TF request to the distribution that exists on macOS arm64; drop CUDA extras."""
    extras = set(req.extras)
    for extra in sorted(req.extras):
        rule = knowledge.dropped_extra(req.name, extra)
        if rule is not None:
            extras.discard(extra)
            draft.actions.append(Action("drop-extra", req.name, f"{req.name}[{extra}]", req.name,
                                        rule.reason, rule.source))
    admitted = [v for v in knowledge.tf_versions(py) if req.specifier.contains(v)]
    if not request.constraint:
        tf_specs.append(req.specifier)
    if not admitted:
        if not request.constraint:
            draft.errors.append(_no_tf_build(req, py, knowledge))
            return None
        return request.line()  # pip applies it as written: nothing on arm64 can satisfy it
    providers = {knowledge.provider_for(v).distribution for v in admitted}
    new_name: str = req.name
    if providers == {TENSORFLOW_MACOS}:
        new_name = TENSORFLOW_MACOS
        if not request.constraint:
            macos_specs.append(req.specifier)
    elif name != TENSORFLOW:
        new_name = TENSORFLOW
    if canonicalize_name(new_name) != name or extras != set(req.extras):
        new = _format(req, name=new_name, extras=extras)
        if canonicalize_name(new_name) != name:
            provider = knowledge.provider_for(admitted[0])
            draft.actions.append(Action("rewrite", req.name, str(req), new, provider.reason, provider.source))
        return request.line(new)
    return request.line()


def _no_tf_build(req: Requirement, py: str, knowledge: Knowledge) -> Problem:
    here = knowledge.tf_versions(py)
    elsewhere = [
        other for other in ("3.9", "3.10", "3.11", "3.12", "3.13")
        if other != py and any(req.specifier.contains(v) for v in knowledge.tf_versions(other))
    ]
    remedy = f"TensorFlow releases with macOS arm64 wheels for Python {py}: {_versions_text(here)}"
    if elsewhere:
        remedy += f"; {req} itself exists for Python {', '.join(elsewhere)}"
    return Problem(
        "NoConsistentSetError",
        f"{req} has no macOS arm64 build for Python {py}.",
        remedy,
    )


def _no_companion_build(req: Requirement, py: str, knowledge: Knowledge,
                        available: Sequence[Version]) -> Problem:
    every = sorted({v for p in knowledge.tracked_pythons(req.name)
                    for v in knowledge.arm64_versions(req.name, p) or ()}, reverse=True)
    first = min(every) if every else None
    message = f"{req.name} has no macOS arm64 wheel matching {req} for Python {py}"
    if first is not None:
        message += f"; its macOS arm64 wheels start at {first}"
    remedy = (
        f"{req.name} releases with macOS arm64 wheels for Python {py}: {_versions_text(available)}"
        if available else f"{req.name} has no macOS arm64 wheel for Python {py} at all"
    )
    companion = knowledge.companion(req.name)
    if companion is not None and companion.same_minor and available:
        minors = _minors(available)
        remedy += f"; each goes with the same TensorFlow minor, e.g. {req.name}=={minors[-1]}.* with tensorflow=={minors[-1]}.*"
    return Problem("NoConsistentSetError", message + ".", remedy)


def _metal_possible(target: Target, knowledge: Knowledge, draft: _Draft,
                    metal_request: Optional[Request], wants_gpu: bool, options: PlanOptions) -> bool:
    """Can this target run tensorflow-metal at all? Refuse an explicit request if not."""
    if not wants_gpu and metal_request is None:
        return False
    py = target.python_version
    problem: Optional[Problem] = None
    if py not in knowledge.metal_wheel_pythons():
        supported = ", ".join(knowledge.metal_wheel_pythons())
        problem = Problem(
            "UnsupportedTargetError",
            f"tensorflow-metal has no build for Python {py} (it exists for Python {supported}).",
            f"create the environment with Python {knowledge.metal_wheel_pythons()[-1]} or earlier for the GPU, or drop tensorflow-metal for a CPU-only TensorFlow",
        )
    elif target.macos_version is not None:
        oldest = min(p.min_macos for p in knowledge.metal_pairs)
        if target.macos_version < oldest:
            problem = Problem(
                "UnsupportedTargetError",
                "tensorflow-metal needs macOS %d.%d or later; this target is macOS %d.%d." % (oldest + target.macos_version),
                "update macOS, or drop tensorflow-metal for a CPU-only TensorFlow",
            )
    if problem is None:
        return True
    if metal_request is not None:
        draft.errors.append(problem)
    elif wants_gpu:
        draft.warnings.append(problem.message + " TensorFlow will run on the CPU.")
    return False


def _prefer_metal_capable(candidates: Sequence[Version], target: Target, knowledge: Knowledge,
                          options: PlanOptions, draft: _Draft,
                          metal_request: Optional[Request]) -> Optional[str]:
    """Cap TF at the newest minor that has a working tensorflow-metal, when the request allows."""
    py = target.python_version

    def capable(v: Version) -> Optional[MetalChoice]:
        choice = knowledge.metal_choice(v, py, allow_unverified=options.allow_unverified_metal)
        if choice and target.macos_version and target.macos_version < choice.pair.min_macos:
            return None
        return choice

    # A pinned metal request picks the TF minor it was built for, where TF allows it.
    wanted_metal: Optional[SpecifierSet] = None
    if metal_request is not None and metal_request.requirement is not None:
        wanted_metal = metal_request.requirement.specifier or None
    usable = [v for v in candidates if capable(v)]
    if wanted_metal is not None:
        matching = [
            v for v in usable
            if any(wanted_metal.contains(c.version, True)
                   for c in knowledge.metal_choices(v, py, allow_unverified=options.allow_unverified_metal))
        ]
        if matching:
            usable = matching
    newest = candidates[0]
    if not usable:
        message = (
            f"no TensorFlow admitted by the request has a tensorflow-metal plugin that works for Python {py} "
            f"(admitted: {', '.join(_minors(candidates))}); TensorFlow will run on the CPU."
        )
        unverified = [v for v in candidates if knowledge.metal_choice(v, py, allow_unverified=True)]
        if unverified and not options.allow_unverified_metal:
            message += (" An untested pair exists (" + minor_of(unverified[0]) + " with tensorflow-metal "
                        + str(knowledge.metal_choice(unverified[0], py, allow_unverified=True).version)  # type: ignore[union-attr]
                        + "): --allow-unverified-metal opts in.")
        if metal_request is not None:
            draft.errors.append(Problem("NoConsistentSetError", message.replace("; TensorFlow will run on the CPU.", "."),
                                        "choose a TensorFlow with a verified plugin (see `pip-tfmac plan --json` actions), or drop tensorflow-metal"))
        else:
            draft.correction(options, Action("cpu-only", "tensorflow", "GPU", "CPU", message, knowledge.metal_source), message)
        return None
    best = usable[0]
    if minor_of(best) == minor_of(newest):
        return None
    cap_minor = Version(minor_of(best))
    next_minor = f"{cap_minor.major}.{cap_minor.minor + 1}"
    line = f"tensorflow<{next_minor}"
    choice = capable(best)
    assert choice is not None
    reason = (
        f"TensorFlow {minor_of(newest)} has no tensorflow-metal known to work; {minor_of(best)} is the newest with one "
        f"(tensorflow-metal {choice.version}, {choice.pair.state}), so the plan prefers it and the GPU is used; "
        "--no-metal plans the newest TensorFlow for the CPU instead"
    )
    if wanted_metal is not None and minor_of(best) != minor_of(newest):
        reason = f"the requested tensorflow-metal{wanted_metal} is built for TensorFlow {minor_of(best)}"
    draft.constraints.append(line)
    draft.actions.append(Action("prefer", "tensorflow", f"tensorflow {minor_of(newest)} (newest)", line, reason,
                                choice.pair.source))
    # Both bounds matter: the cap wins only among releases the request admits.
    lower = f"tensorflow>={minor_of(best)}" if wanted_metal is not None else None
    if lower:
        draft.constraints.append(lower)
    return line


def _aliases(candidates: Sequence[Version], knowledge: Knowledge) -> list[AliasWheel]:
    out = []
    for version in sorted(candidates):
        provider = knowledge.provider_for(version)
        if provider.distribution != TENSORFLOW_MACOS:
            continue
        out.append(AliasWheel(
            name="tensorflow", version=f"{version}+{ALIAS_LABEL}", target_name="tensorflow-macos",
            target_version=str(version),
            reason=("packages that require plain tensorflow get a metadata-only alias that requires "
                    "tensorflow-macos of the same release, instead of a second TensorFlow: " + provider.reason),
            source=provider.source,
        ))
    return out


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


# -- step 2 --------------------------------------------------------------------------------------


def resolved_tensorflow(resolved: Mapping[str, str], installed: Mapping[str, str]) -> Optional[tuple[NormalizedName, Version]]:
    """The real TensorFlow in a resolution (aliases point at tensorflow-macos), else installed."""
    for source in (resolved, installed):
        versions = {canonicalize_name(k): Version(v) for k, v in source.items()}
        macos = versions.get(TENSORFLOW_MACOS)
        tf = versions.get(TENSORFLOW)
        if macos is not None and macos < ARM64_TF_FROM:
            return TENSORFLOW_MACOS, macos
        if tf is not None and not (tf.local or "").startswith("tfmac"):
            return TENSORFLOW, tf
        if macos is not None:
            return TENSORFLOW_MACOS, macos
    return None


def pair_with_resolution(
    plan: Plan,
    resolved: Mapping[str, str],
    knowledge: Knowledge,
    options: PlanOptions = PlanOptions(),
) -> Plan:
    """Step 2: pin TF as pip resolved it, add the matching metal, keep companions on its minor."""
    if not plan.target.is_macos_arm64 or not plan.intercepted:
        return replace(plan, paired=True)
    py = plan.target.python_version
    draft = _Draft(list(plan.requirements), list(plan.constraints), list(plan.actions),
                   list(plan.warnings), list(plan.errors))
    found = resolved_tensorflow(resolved, plan.target.installed)
    metal_req = plan.metal_requested.requirement if plan.metal_requested else None
    if found is None and metal_req is None and plan.metal_line in draft.requirements:
        draft.requirements.remove(plan.metal_line)  # a predicted plugin, but no TensorFlow
    if found is None:
        if metal_req is not None:
            draft.errors.append(Problem(
                "NoConsistentSetError",
                "tensorflow-metal was requested, but no TensorFlow is being installed or is installed in the target.",
                "add tensorflow to the request (pip-tfmac pairs the plugin with it)",
            ))
        return _freeze(plan, draft)
    dist, tf_version = found
    twin = _installed_twin(plan.target.installed, resolved, dist)
    if twin is not None:
        draft.errors.append(Problem(
            "NoConsistentSetError",
            f"{twin} is installed in the target and this plan installs {dist} {tf_version}: two TensorFlow "
            "distributions in one environment overwrite each other's modules.",
            f"uninstall {twin.split()[0]} first, or request {twin.split()[0]} instead of {dist}",
        ))
    pin = f"{dist}=={tf_version}"
    if pin not in draft.constraints:
        draft.constraints.append(pin)
        draft.actions.append(Action("pin", dist, f"{dist} (resolved)", pin,
                                    "pinned to the release pip resolved, so tensorflow-metal and companions match it",
                                    "pip --dry-run --report"))
    for bound in knowledge.undeclared:
        if bound.constraint in draft.constraints:
            continue  # step 1 already bound it
        if bound.tensorflow.contains(tf_version, prereleases=True):
            req = Requirement(bound.constraint)
            have = {canonicalize_name(k): v for k, v in resolved.items()}.get(canonicalize_name(req.name))
            if have is not None and not req.specifier.contains(have, prereleases=True):
                draft.constraints.append(bound.constraint)
                draft.actions.append(Action("pin", req.name, f"{req.name}=={have}", bound.constraint,
                                            bound.reason, bound.source))
    if plan.wants_gpu or metal_req is not None:
        _pair_metal(plan, draft, tf_version, metal_req, knowledge, options)
    _pair_companions(draft, resolved, tf_version, py, knowledge, options)
    return _freeze(plan, draft)


def _installed_twin(installed: Mapping[str, str], resolved: Mapping[str, str],
                   dist: NormalizedName) -> Optional[str]:
    """An installed real TensorFlow under the other name that this resolution leaves in place."""
    other = TENSORFLOW if dist == TENSORFLOW_MACOS else TENSORFLOW_MACOS
    if other in {canonicalize_name(k) for k in resolved}:
        return None  # pip replaces it as part of this plan
    version = {canonicalize_name(k): v for k, v in installed.items()}.get(other)
    if version is None:
        return None
    parsed = Version(version)
    if (parsed.local or "").startswith("tfmac"):
        return None  # our own alias
    if other == TENSORFLOW_MACOS and parsed >= Version("2.16"):
        return None  # tensorflow-macos 2.16 only redirects to tensorflow
    return f"{other} {version}"


def _pair_metal(plan: Plan, draft: _Draft, tf_version: Version, metal_req: Optional[Requirement],
                knowledge: Knowledge, options: PlanOptions) -> None:
    py = plan.target.python_version
    choice = knowledge.metal_choice(tf_version, py, allow_unverified=options.allow_unverified_metal)
    macos = plan.target.macos_version
    if choice is not None and macos is not None and macos < choice.pair.min_macos:
        draft.warnings.append(
            f"tensorflow-metal {choice.version} needs macOS %d.%d; the target is %d.%d: TensorFlow will run on the CPU."
            % (choice.pair.min_macos + macos))
        choice = None
    if choice is None:
        message = f"TensorFlow {tf_version} has no tensorflow-metal that works for Python {py}"
        unverified = knowledge.metal_choice(tf_version, py, allow_unverified=True)
        if unverified is not None and not options.allow_unverified_metal:
            message += (f" (tensorflow-metal {unverified.version} is an untested pair: "
                        f"{unverified.pair.evidence}; --allow-unverified-metal opts in)")
        if metal_req is not None:
            draft.errors.append(Problem("NoConsistentSetError", message + ".",
                                        "pin a TensorFlow that has a plugin (for example tensorflow==2.18.*), or drop tensorflow-metal"))
            return
        if plan.metal_line in draft.requirements:
            draft.requirements.remove(plan.metal_line)  # the predicted plugin does not fit
        if not any(a.kind == "cpu-only" for a in draft.actions):
            draft.correction(options, Action("cpu-only", "tensorflow", "GPU", "CPU", message, knowledge.metal_source),
                             message + "; TensorFlow will run on the CPU.")
        return
    if metal_req is not None:
        # A pin inside the right series (0.5.0 for TF 2.9) is the user's choice: keep it.
        for other in knowledge.metal_choices(tf_version, py, allow_unverified=options.allow_unverified_metal):
            if metal_req.specifier.contains(other.version, prereleases=True):
                choice = other
                break
    line = f"tensorflow-metal=={choice.version}"
    source = choice.pair.source
    pair_text = f"tensorflow {minor_of(tf_version)} goes with tensorflow-metal {choice.pair.metal} ({choice.pair.state})"
    if choice.pair.state != "verified":
        draft.warnings.append(f"{pair_text}: {choice.pair.evidence}. Installed because --allow-unverified-metal was given.")
    if metal_req is None:
        draft.actions.append(Action("add", "tensorflow-metal", "", line, f"the GPU plugin: {pair_text}", source))
    elif metal_req.specifier.contains(choice.version, prereleases=True):
        draft.actions.append(Action("pin", "tensorflow-metal", str(metal_req), line, pair_text, source))
    else:
        asked = [v for v in knowledge.arm64_versions("tensorflow-metal", py) or () if metal_req.specifier.contains(v)]
        known = knowledge.metal_state(tf_version, asked[0]) if asked else None
        why = f"{metal_req} does not match TensorFlow {tf_version}: {pair_text}"
        if known is not None and known.state == "broken":
            why += f"; the requested pair is known broken ({known.evidence}, {known.source})"
        elif asked:
            built_for = [p for p in knowledge.metal_pairs if p.metal.contains(asked[0]) and p.state == "verified"]
            if built_for:
                why += f"; {asked[0]} is built for TensorFlow {built_for[0].tensorflow}"
        action = Action("correct", "tensorflow-metal", str(metal_req), line, why, source)
        draft.correction(options, action, f"corrected {metal_req} to {line}: {why}")
        if options.strict:
            return
    if plan.metal_line in draft.requirements:
        draft.requirements[draft.requirements.index(plan.metal_line)] = line
    else:
        draft.requirements.append(line)


def _pair_companions(draft: _Draft, resolved: Mapping[str, str], tf_version: Version, py: str,
                     knowledge: Knowledge, options: PlanOptions) -> None:
    minor = minor_of(tf_version)
    for name, version_text in sorted(resolved.items()):
        companion = knowledge.companion(name)
        if companion is None:
            continue
        allowed = companion.allowed_for(minor)
        if allowed is None:
            continue
        version = Version(version_text)
        if allowed.contains(version, prereleases=True):
            continue
        available = knowledge.arm64_versions(name, py)
        if available is None:
            continue
        fits = [v for v in available if allowed.contains(v)]
        if not fits:
            draft.errors.append(Problem(
                "NoConsistentSetError",
                f"{companion.name} for TensorFlow {minor} ({companion.name}{allowed}) has no macOS arm64 wheel for Python {py}.",
                f"{companion.name} releases with macOS arm64 wheels for Python {py}: {_versions_text(available)}; "
                "choose the TensorFlow minor they were built for",
            ))
            continue
        line = f"{companion.name}=={fits[0]}"
        action = Action("correct", companion.name, f"{companion.name}=={version}", line,
                        f"{companion.name} {version} is not built for TensorFlow {minor} ({companion.name}{allowed})",
                        companion.source)
        draft.correction(options, action, f"corrected {companion.name} {version} to {fits[0]} to match TensorFlow {minor}")
        draft.constraints.append(line)


def _freeze(plan: Plan, draft: _Draft) -> Plan:
    return replace(
        plan,
        requirements=tuple(draft.requirements),
        constraints=tuple(draft.constraints),
        actions=tuple(draft.actions),
        warnings=tuple(draft.warnings),
        errors=tuple(draft.errors),
        paired=True,
    )

