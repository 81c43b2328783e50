"""Step 1 on macOS arm64: rename TensorFlow requests to the distribution that has arm64 wheels,
prefer a TensorFlow with a working tensorflow-metal and predict that plugin, bound what TF does
not declare, and list the alias wheels that let dependents of plain `tensorflow` share one TF.
"""

from __future__ import annotations

from typing import Optional, Sequence

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pip_tfmac.core.knowledge import VERIFIED, Knowledge, MetalChoice, minor_of
from pip_tfmac.core.metal_evidence import (best_evidence, known_metal, known_tensorflow, newer_python_note,
                                          newer_than_known)
from pip_tfmac.core.plan import (ALIAS_LABEL, METAL, TENSORFLOW, TENSORFLOW_MACOS, Action, AliasWheel, Draft, Plan,
                                 PlanOptions, Problem, applies, format_requirement, tf_minors, versions_text)
from pip_tfmac.core.requests import Request
from pip_tfmac.core.target import Target


def plan_macos_arm64(requests: Sequence[Request], target: Target, knowledge: Knowledge,
                      options: PlanOptions) -> Plan:
    py = target.python_version
    draft = Draft()
    wants_gpu = not options.no_metal
    tf_specs: list[SpecifierSet] = []  # every direct TF request's specifier
    tf_constraint_specs: list[SpecifierSet] = []  # and every TF constraint's
    macos_specs: list[SpecifierSet] = []  # TF requests that ended up as tensorflow-macos
    reverse: list[Version] = []  # tensorflow-macos requests that ended up as tensorflow
    metal_request: Optional[Request] = None
    gpu_names: list[str] = []

    for request in requests:
        req = request.requirement
        bucket = draft.constraints if request.constraint else draft.requirements
        if req is None or not applies(req, target):
            bucket.append(request.line())
            continue
        name = canonicalize_name(req.name)
        tf_name = knowledge.tf_name(name)
        if tf_name is not None:
            new_line = _rewrite_tf(request, req, tf_name.name, knowledge, py, draft, tf_specs, macos_specs, reverse)
            if new_line is not None:
                bucket.append(new_line)
            if request.constraint:
                tf_constraint_specs.append(req.specifier)
                # The bound must also hold for the name dependents use (and alias wheels carry).
                original = request.line(format_requirement(req, extras=set()))
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
                # A plugin newer than the knowledge goes to pip too: step 2 link-checks it.
                if (any(req.specifier.contains(v) for v in wheels)
                        or newer_than_known(req.specifier, known_metal(knowledge))):
                    bucket.append(request.line())  # else pip would stop on it before step 2 helps
            continue
        companion = knowledge.companion(name)
        tracked = knowledge.arm64_versions(name, py) if companion is not None else None
        if tracked is not None and not request.constraint:
            public = SpecifierSet(",".join(str(s).split("+")[0] for s in req.specifier))  # recipe build X+tfmac.N = X
            if not any(public.contains(v) for v in tracked):
                draft.errors.append(asked_by(_no_companion_build(req, py, knowledge, tracked), request))
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
    beyond = _beyond_knowledge(tf_specs + tf_constraint_specs, knowledge) if tf_specs and not candidates else None
    if beyond is None and tf_specs and not candidates and not any(p.kind == "NoConsistentSetError" for p in draft.errors):
        draft.errors.append(Problem(
            "NoConsistentSetError",
            f"the TensorFlow requests and constraints ({', '.join(str(s) or 'any' for s in tf_specs + tf_constraint_specs)}) "
            f"admit no release with a macOS arm64 wheel for Python {py}.",
            f"TensorFlow releases installable there: {versions_text(knowledge.tf_versions(py))}",
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
    if wants_gpu and metal_request is None and (candidates or beyond):
        # Past the knowledge pip picks the plugin; step 2 pins or drops it after a link check.
        metal_line = _predict_metal(candidates, preference, target, knowledge, options) if candidates else METAL
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
    aliases += reverse_aliases(reverse, knowledge)
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
                       knowledge: Knowledge, draft: Draft) -> None:
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
                py: str, draft: Draft, tf_specs: list[SpecifierSet],
                macos_specs: list[SpecifierSet], reverse: list[Version]) -> Optional[str]:
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
    beyond = None if admitted else _beyond_knowledge([req.specifier], knowledge)
    if beyond is not None:  # pip knows if the index has it; step 2 link-checks its plugin
        admitted = [beyond]
        if not request.constraint:
            draft.warnings.append(f"{req} is newer than the knowledge (its newest TensorFlow is "
                                  f"{max(known_tensorflow(knowledge))}): planned from what pip resolves; a "
                                  "tensorflow-metal pair the knowledge does not judge is link-checked from the wheels")
    if not admitted:
        if not request.constraint:
            draft.errors.append(asked_by(_no_tf_build(req, py, knowledge), request))
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
        if name == TENSORFLOW_MACOS and not request.constraint:
            # A dependent that asks for tensorflow-macos of a release whose arm64 build is
            # `tensorflow` gets a reverse alias (tensorflow-macos==X+tfmac.1 -> tensorflow==X):
            # one TensorFlow, whoever asked by which name. 2.16+ redirects on its own.
            redirect, shim = knowledge.boundary("macos_redirect"), knowledge.boundary("tensorflow_shim_on_macos")
            reverse.extend(v for v in admitted if knowledge.provided_by(v) == TENSORFLOW
                           and not redirect.holds_for(v) and not shim.holds_for(v))
    if canonicalize_name(new_name) != name or extras != set(req.extras):
        new = format_requirement(req, name=new_name, extras=extras)
        if canonicalize_name(new_name) != name:
            provider = knowledge.provider_for(admitted[0])
            draft.actions.append(Action("rewrite", req.name, str(req), new, provider.reason, provider.source))
        return request.line(new)
    return request.line()

def _beyond_knowledge(specs: Sequence[SpecifierSet], knowledge: Knowledge) -> Optional[Version]:
    """A TensorFlow release all `specs` admit that is newer than any the knowledge lists."""
    combined = SpecifierSet()
    for spec in specs:
        combined &= spec
    return newer_than_known(combined, known_tensorflow(knowledge))

def asked_by(problem: Problem, request: Request) -> Problem:
    """Name who asked, when a dependent (not the user) did: the user never wrote that line."""
    if not request.origin.startswith("dependency of "):
        return problem
    who = request.origin[len("dependency of "):]
    message = problem.message.rstrip(".") + f" (asked by {who})."
    return Problem(problem.kind, message, problem.remedy + f"; or choose a release of {who.split()[0]} that allows them")


def _no_tf_build(req: Requirement, py: str, knowledge: Knowledge) -> Problem:
    here = knowledge.tf_versions(py)
    elsewhere = [
        other for other in knowledge.tf_pythons()
        if other != py and any(req.specifier.contains(v) for v in knowledge.tf_versions(other))
    ]
    remedy = f"TensorFlow releases with macOS arm64 wheels for Python {py}: {versions_text(here)}"
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
        f"{req.name} releases with macOS arm64 wheels for Python {py}: {versions_text(available)}"
        if available else f"{req.name} has no macOS arm64 wheel for Python {py} at all"
    )
    companion = knowledge.companion(req.name)
    if companion is not None and companion.same_minor and available:
        minors = tf_minors(available)
        remedy += f"; each goes with the same TensorFlow minor, e.g. {req.name}=={minors[-1]}.* with tensorflow=={minors[-1]}.*"
    return Problem("NoConsistentSetError", message + ".", remedy)

def _metal_possible(target: Target, knowledge: Knowledge, draft: Draft,
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
    # What the link verdicts say about this Python (empty unless the Python lacks a plugin).
    note = newer_python_note(knowledge, py) if py not in knowledge.metal_wheel_pythons() else ""
    if metal_request is not None:
        draft.errors.append(Problem(problem.kind, problem.message + note, problem.remedy))
    elif wants_gpu:
        draft.warnings.append(problem.message + " TensorFlow will run on the CPU." + note)
    return False

def _prefer_metal_capable(candidates: Sequence[Version], target: Target, knowledge: Knowledge,
                          options: PlanOptions, draft: Draft,
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
    usable = best_evidence(usable, capable)
    newest = candidates[0]
    if not usable:
        message = (
            f"no TensorFlow admitted by the request has a tensorflow-metal plugin that works for Python {py} "
            f"(admitted: {', '.join(tf_minors(candidates))}); TensorFlow will run on the CPU."
        )
        refused = knowledge.refused_metal(candidates[0], py)
        if refused is not None:
            message += (f" tensorflow-metal {refused.version} with TensorFlow {candidates[0]} is "
                        f"{refused.pair.state}: {refused.pair.evidence}.")
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
    if choice.pair.state != VERIFIED:
        reason += f" (evidence: {choice.pair.evidence})"
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

def reverse_aliases(versions: Sequence[Version], knowledge: Knowledge) -> list[AliasWheel]:
    """tensorflow-macos==X+tfmac.1 requiring tensorflow==X, for dependents that name the old
    distribution of a release whose arm64 (and Linux) build is `tensorflow`."""
    provider = knowledge.provider_for(max(versions)) if versions else None
    return [AliasWheel(
        name="tensorflow-macos", version=f"{v}+{ALIAS_LABEL}", target_name="tensorflow", target_version=str(v),
        reason=("packages that require tensorflow-macos get a metadata-only alias that requires tensorflow of the "
                "same release, instead of a second TensorFlow: " + provider.reason) if provider else "",
        source=provider.source if provider else "",
    ) for v in sorted(set(versions))]


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
