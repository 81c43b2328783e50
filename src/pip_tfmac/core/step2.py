"""Planner step 2: pin TensorFlow as pip resolved it, add the matching tensorflow-metal, keep the
companions on its minor. Pure: plan + resolved versions + knowledge -> Plan.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Optional

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pip_tfmac.core.knowledge import LINK_CHECKED, NEVER, VERIFIED, Knowledge, minor_of
from pip_tfmac.core.plan import (TENSORFLOW, TENSORFLOW_MACOS, Action, Draft, Plan, PlanOptions, Problem,
                                 versions_text)


def resolved_tensorflow(resolved: Mapping[str, str], installed: Mapping[str, str],
                        knowledge: Knowledge) -> Optional[tuple[NormalizedName, Version]]:
    """The real TensorFlow in a resolution (aliases point at tensorflow-macos), else installed."""
    for source in (resolved, installed):
        versions = {canonicalize_name(k): Version(v) for k, v in source.items()}
        macos = versions.get(TENSORFLOW_MACOS)
        tf = versions.get(TENSORFLOW)
        if macos is not None and knowledge.provided_by(macos) == TENSORFLOW_MACOS:
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
    draft = Draft(list(plan.requirements), list(plan.constraints), list(plan.actions),
                   list(plan.warnings), list(plan.errors))
    found = resolved_tensorflow(resolved, plan.target.installed, knowledge)
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
    twin = _installed_twin(plan.target.installed, resolved, dist, knowledge)
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
                   dist: NormalizedName, knowledge: Knowledge) -> Optional[str]:
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
    if other == TENSORFLOW_MACOS and knowledge.boundary("macos_redirect").holds_for(parsed):
        return None  # a redirect to tensorflow, not a second build
    return f"{other} {version}"

def _pair_metal(plan: Plan, draft: Draft, tf_version: Version, metal_req: Optional[Requirement],
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
        refused = knowledge.refused_metal(tf_version, py)
        if unverified is not None and not options.allow_unverified_metal:
            message += (f" (tensorflow-metal {unverified.version} is an untested pair: "
                        f"{unverified.pair.evidence}; --allow-unverified-metal opts in)")
        elif refused is not None and unverified is None:
            message += (f" (tensorflow-metal {refused.version} is {refused.pair.state}: "
                        f"{refused.pair.evidence})")
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
        # Only within the best evidence there is: a pin on a link-checked plugin is corrected
        # to the verified one when TF has one (verified first), kept when TF has none.
        for other in knowledge.metal_choices(tf_version, py, allow_unverified=options.allow_unverified_metal):
            if other.pair.state != choice.pair.state:
                break
            if metal_req.specifier.contains(other.version, prereleases=True):
                choice = other
                break
    line = f"tensorflow-metal=={choice.version}"
    source = choice.pair.source
    pair_text = f"tensorflow {minor_of(tf_version)} goes with tensorflow-metal {choice.pair.metal} ({choice.pair.state})"
    if choice.pair.state == LINK_CHECKED:
        # Planned only because the request admits no verified pair: the plan names its evidence.
        pair_text = f"tensorflow {tf_version} with tensorflow-metal {choice.version}: {choice.pair.evidence}"
        draft.warnings.append(f"{pair_text}.")
    elif choice.pair.state != VERIFIED:
        draft.warnings.append(f"{pair_text}: {choice.pair.evidence}. Installed because --allow-unverified-metal was given.")
    if metal_req is None:
        draft.actions.append(Action("add", "tensorflow-metal", "", line, f"the GPU plugin: {pair_text}", source))
    elif metal_req.specifier.contains(choice.version, prereleases=True):
        draft.actions.append(Action("pin", "tensorflow-metal", str(metal_req), line, pair_text, source))
    else:
        asked = [v for v in knowledge.arm64_versions("tensorflow-metal", py) or () if metal_req.specifier.contains(v)]
        why = f"{metal_req} does not match TensorFlow {tf_version}: {pair_text}"
        known = knowledge.pair_state(tf_version, asked[0]) if asked else None
        if known is not None and known.state in NEVER:
            said = "known broken" if known.state == "broken" else known.state
            why += f"; the requested pair is {said} ({known.evidence}, {known.source})"
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

def _pair_companions(draft: Draft, resolved: Mapping[str, str], tf_version: Version, py: str,
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
                f"{companion.name} releases with macOS arm64 wheels for Python {py}: {versions_text(available)}; "
                "choose the TensorFlow minor they were built for",
            ))
            continue
        line = f"{companion.name}=={fits[0]}"
        action = Action("correct", companion.name, f"{companion.name}=={version}", line,
                        f"{companion.name} {version} is not built for TensorFlow {minor} ({companion.name}{allowed})",
                        companion.source)
        draft.correction(options, action, f"corrected {companion.name} {version} to {fits[0]} to match TensorFlow {minor}")
        draft.constraints.append(line)

def _freeze(plan: Plan, draft: Draft) -> Plan:
    return replace(
        plan,
        requirements=tuple(draft.requirements),
        constraints=tuple(draft.constraints),
        actions=tuple(draft.actions),
        warnings=tuple(draft.warnings),
        errors=tuple(draft.errors),
        paired=True,
    )
