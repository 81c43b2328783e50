"""doctor's checks: a pure function of the environment's facts, `pip check` and the knowledge.

TF <-> tensorflow-metal pairing, the Pythons with a metal wheel and every version boundary come
from the knowledge files, never from this module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from pip_tfmac.core import knowledge as kn
from pip_tfmac.core.doctor_link import link_finding
from pip_tfmac.core.doctor_model import Distribution, ERROR, Environment, Finding, FixAction, INFO, KERAS, SEVERITY_ORDER, TF_KERAS, TF_PACKAGE, WARNING
from pip_tfmac.core.wheel_tags import foreign_wheels


def diagnose(
    env: Environment, pip_check_lines: Sequence[str], knowledge: kn.Knowledge
) -> tuple[Finding, ...]:
    k = knowledge
    findings: list[Finding] = []
    findings += _rosetta(env)
    findings += _tensorflow_builds(env, k)
    tf = _tensorflow_version(env)
    findings += _metal(env, k, tf)
    findings += foreign_wheels(env)
    findings += _conda(env, k, tf)
    findings += _keras(env, k, tf)
    findings += _pip_check(env, pip_check_lines, findings)
    findings.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    return tuple(findings)

def _rosetta(env: Environment) -> list[Finding]:
    f = env.facts
    if not (f.is_macos and f.rosetta):
        return []
    return [
        Finding(
            "rosetta",
            ERROR,
            f"this Python ({f.executable}) is x86_64 and runs under Rosetta on an Apple Silicon "
            "Mac (sysctl.proc_translated = 1): it installs x86_64 wheels, TensorFlow's x86_64 "
            "build needs AVX instructions Rosetta lacks, and the Metal plugin is arm64-only",
            "install an arm64 Python (the python.org universal2 installer, Homebrew in "
            "/opt/homebrew, or arm64 Miniforge), create a new venv with it, and run "
            "`pip-tfmac install tensorflow` there; `python -c 'import platform; "
            "print(platform.machine())'` must print arm64",
        )
    ]

def _tensorflow_owners(env: Environment) -> list[Distribution]:
    return [d for d in env.distributions if TF_PACKAGE in d.top_level]

def _tensorflow_version(env: Environment) -> Version | None:
    """The version of the TensorFlow that `import tensorflow` finds (its files' owner)."""
    owners = _tensorflow_owners(env)
    versions = [v for v in (d.parsed_version for d in owners) if v is not None]
    return max(versions) if versions else None

def _tensorflow_builds(env: Environment, k: kn.Knowledge) -> list[Finding]:
    owners = _tensorflow_owners(env)
    if len({d.key for d in owners}) < 2:
        return []
    names = ", ".join(f"{d.name} {d.version}" for d in owners)
    version = _tensorflow_version(env)
    assert version is not None
    keep = "tensorflow"
    if env.facts.is_macos and env.facts.machine == "arm64":
        try:
            keep = k.provider_for(version).distribution
        except LookupError:
            keep = "tensorflow"
    removed = tuple(sorted({d.name for d in owners}))
    steps = (("uninstall", "-y", *removed), ("install", f"{keep}=={version}"))
    return [
        Finding(
            "mixed-tensorflow",
            ERROR,
            f"{len(owners)} distributions install the same `tensorflow` package here ({names}): "
            "whichever was installed last overwrote the other's files, so the result is "
            "neither",
            f"uninstall {' and '.join(removed)}, then install {keep}=={version} alone "
            f"(`pip-tfmac install {keep}=={version}`)",
            FixAction(steps, removes=removed),
        )
    ]

def _metal(env: Environment, k: kn.Knowledge, tf: Version | None) -> list[Finding]:
    f = env.facts
    metal = env.get("tensorflow-metal")
    out: list[Finding] = []
    if not f.apple_silicon:
        return out
    metal_version = metal.parsed_version if metal else None
    python = f.python_minor
    # macOS too old for the plugin: the pair's own minimum, else the lowest any pair needs.
    pair = k.pair_state(tf, metal_version) if tf and metal_version else None
    if pair is not None:
        needed = pair.min_macos
    else:
        pairs = k.metal_pairs_for(tf) if tf else k.metal_pairs
        needed = min((p.min_macos for p in pairs), default=(0, 0))
    if f.macos_version and needed > (0, 0) and (tf or metal):
        current = kn.parse_macos(f.macos_version)
        if current < needed:
            out.append(
                Finding(
                    "macos-too-old",
                    ERROR if metal else WARNING,
                    f"macOS {f.macos_version} is older than the {needed[0]}.{needed[1]} the "
                    "TensorFlow Metal plugin needs: TensorFlow can only use the CPU here",
                    f"update macOS to {needed[0]}.{needed[1]} or later"
                    + (" (until then `pip uninstall tensorflow-metal`)" if metal else ""),
                )
            )
    if f.rosetta:
        return out  # everything below needs an arm64 interpreter; the rosetta finding says so
    if (tf or metal) and python not in k.metal_wheel_pythons():
        supported = sorted(k.metal_wheel_pythons(), key=lambda v: tuple(map(int, v.split("."))))
        out.append(
            Finding(
                "python-without-metal",
                WARNING,
                f"no tensorflow-metal release has a wheel for Python {python}: TensorFlow will "
                "run on the CPU only",
                f"for the GPU, create a venv with Python {supported[-1] if supported else '3.11'} "
                "and `pip-tfmac install tensorflow` there",
            )
        )
        return out
    if metal is not None and tf is None:
        out.append(
            Finding(
                "metal-without-tensorflow",
                WARNING,
                f"tensorflow-metal {metal.version} is installed but TensorFlow is not",
                "`pip-tfmac install tensorflow` (it pairs TensorFlow with the plugin), or "
                "`pip uninstall tensorflow-metal`",
            )
        )
        return out
    if tf is None:
        return out
    choice = k.metal_choice(tf, python)
    if metal is None:
        gpu_build = any(
            (k.tf_name(d.name) is None or k.tf_name(d.name).gpu)  # type: ignore[union-attr]
            for d in _tensorflow_owners(env)
        )
        if not gpu_build:
            return out  # tensorflow-cpu: the user asked for no GPU
        out.append(
            Finding(
                "metal-missing",
                WARNING,
                f"TensorFlow {tf} is installed without the Metal plugin: it runs on the CPU only",
                f"`pip install tensorflow-metal=={choice.version}` ({choice.pair.state} with TF {tf})"
                if choice
                else f"no tensorflow-metal is verified with TF {tf} for Python {python}; "
                "`pip-tfmac install --allow-unverified-metal tensorflow-metal` tries an untested "
                "one",
                FixAction((("install", f"tensorflow-metal=={choice.version}"),))
                if choice
                else None,
            )
        )
        return out
    if metal_version is None:
        return out
    linked = link_finding(env, tf, metal, choice)  # the installed files' own verdict first
    if linked is not None:
        return out + [linked]
    state = pair.state if pair else None
    if state == kn.VERIFIED:
        return out
    if state == kn.LINK_CHECKED and choice is not None and choice.version == metal_version:
        # The best evidence there is for this TF: said, not a problem (exit code unchanged).
        assert pair is not None
        return out + [Finding("metal-pairing", INFO,
                              f"tensorflow-metal {metal.version} with TensorFlow {tf}: {pair.evidence}",
                              "nothing to do; `pip-tfmac verify` runs it on this Mac")]
    if state == kn.UNVERIFIED:
        severity, why = WARNING, "a pair nobody has published a test of"
    elif state == kn.LINK_CHECKED:
        severity, why = WARNING, "only link-checked, and a verified plugin exists"
    elif state == kn.BROKEN:
        severity, why = ERROR, f"known broken: {pair.evidence}" if pair else "known broken"
    elif state == kn.LINK_BROKEN:
        severity, why = ERROR, f"link-broken: {pair.evidence}" if pair else "link-broken"
    else:
        severity, why = ERROR, "not a pair tensorflow-metal was built for"
    if choice is not None and choice.version != metal_version:
        fix = f"`pip install tensorflow-metal=={choice.version}` ({choice.pair.state} with TF {tf})"
        action = FixAction((("install", f"tensorflow-metal=={choice.version}"),))
    elif choice is not None:
        return out
    else:
        fix = (
            f"no tensorflow-metal is verified with TensorFlow {tf} on Python {python}: install a "
            "TensorFlow version with a verified plugin (`pip-tfmac plan tensorflow` shows it), "
            "or `pip uninstall tensorflow-metal` to run on the CPU"
        )
        action = None
    source = f" (source: {pair.source})" if pair and pair.source else ""
    out.append(
        Finding(
            "metal-pairing",
            severity,
            f"tensorflow-metal {metal.version} with TensorFlow {tf}: {why}{source}",
            fix,
            action,
        )
    )
    return out

def _conda(env: Environment, k: kn.Knowledge, tf: Version | None) -> list[Finding]:
    f = env.facts
    if not (f.conda and "tensorflow-deps" in f.conda_packages):
        return []
    return [
        Finding(
            "conda-tensorflow-deps",
            ERROR if tf is not None and k.boundary("conda_deps_obsolete").holds_for(tf) else WARNING,
            "this conda environment carries Apple's tensorflow-deps, which pins conda builds of "
            "numpy, grpcio and h5py for TensorFlow 2.5-2.12 (Apple's old conda instructions); "
            "pip-installed TensorFlow 2.13 and later expects newer ones",
            "`conda remove tensorflow-deps`, then `pip-tfmac install tensorflow`; or start from "
            "a fresh venv (pip-tfmac does not change conda packages for you)",
        )
    ]

def _requirements(dist: Distribution) -> list[Requirement]:
    out = []
    for text in dist.requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue  # an optional extra: not a need of the installed set
        out.append(req)
    return out

def _keras(env: Environment, k: kn.Knowledge, tf: Version | None) -> list[Finding]:
    keras = env.get("keras")
    keras_version = keras.parsed_version if keras else None
    if tf is None or not k.boundary("keras3_default").holds_for(tf) or keras_version is None or keras_version.major < 3:
        return []
    needers = []
    for dist in env.distributions:
        for req in _requirements(dist):
            name = canonicalize_name(req.name)
            if name == TF_KERAS or (
                name == KERAS and not req.specifier.contains(keras_version, prereleases=True)
            ):
                needers.append(dist.name)
                break
    if not needers:
        return []
    who = ", ".join(sorted(set(needers)))
    tf_keras = env.get("tf-keras")
    companion = k.companion("tf-keras")
    wanted = companion.allowed_for(kn.minor_of(tf)) if companion else None
    if tf_keras is None:
        spec = f"tf-keras{wanted}" if wanted else "tf-keras"
        return [
            Finding(
                "keras3-needs-tf-keras",
                ERROR,
                f"TensorFlow {tf} makes Keras 3 (keras {keras_version}) its tf.keras, but {who} "
                "needs Keras 2, which is the tf-keras package, and tf-keras is not installed",
                f"`pip install '{spec}'` and set TF_USE_LEGACY_KERAS=1 where that code runs",
                FixAction((("install", spec),)),
            )
        ]
    legacy = (env.facts.getenv("TF_USE_LEGACY_KERAS") or "").strip().lower()
    if legacy in ("1", "true", "yes"):
        return []
    return [
        Finding(
            "keras3-needs-tf-keras",
            WARNING,
            f"{who} needs Keras 2 (tf-keras {tf_keras.version} is installed), but with "
            f"TensorFlow {tf} tf.keras is Keras 3 unless TF_USE_LEGACY_KERAS=1 is set",
            "set TF_USE_LEGACY_KERAS=1 before TensorFlow is imported (e.g. `export "
            "TF_USE_LEGACY_KERAS=1` in the venv's bin/activate)",
        )
    ]

_HAS_REQUIREMENT = re.compile(r"^(\S+) (\S+) has requirement (.+), but you have (\S+) (\S+)\.?$")

_REQUIRES_MISSING = re.compile(r"^(\S+) (\S+) requires (.+), which is not installed\.?$")

_NOT_SUPPORTED = re.compile(r"^(\S+) (\S+) is not supported on this platform")

def _pip_check(env: Environment, lines: Sequence[str], earlier: list[Finding]) -> list[Finding]:
    covered_dists = {
        canonicalize_name(f.message.split(" ", 1)[0]) for f in earlier if f.id == "foreign-wheel"
    }
    tf_keras_handled = any(f.id == "keras3-needs-tf-keras" and f.action for f in earlier)
    out: list[Finding] = []
    for line in lines:
        action = None
        fix = "resolve the conflict, e.g. `pip-tfmac install` the required version"
        m = _HAS_REQUIREMENT.match(line) or _REQUIRES_MISSING.match(line)
        if m:
            req_text = m.group(3)
            try:
                req = Requirement(req_text)
            except InvalidRequirement:
                req = None
            if req is not None:
                if tf_keras_handled and canonicalize_name(req.name) == TF_KERAS:
                    continue
                spec = f"{req.name}{req.specifier}"
                fix = f"`pip install '{spec}'` ({m.group(1)} {m.group(2)} needs it)"
                action = FixAction((("install", spec),))
        else:
            ns = _NOT_SUPPORTED.match(line)
            if ns and canonicalize_name(ns.group(1)) in covered_dists:
                continue
            if ns:
                fix = f"reinstall {ns.group(1)} for this interpreter"
        out.append(Finding("pip-check", ERROR, f"pip check: {line}", fix, action))
    return out


def shim_findings(state: str, summary: str, python: str) -> list[Finding]:
    """The per-environment hook (`pip-tfmac shim`): on is worth knowing (pip's installs there are
    planned), stale is a problem (pip upgraded under it, pip-tfmac moved or removed)."""
    if state == "on":
        return [Finding("shim", INFO, summary, "")]
    if state == "stale":
        return [Finding("shim", WARNING, summary,
                        f"`pip-tfmac shim enable --python {python}` repairs it; "
                        f"`pip-tfmac shim disable --python {python}` removes it")]
    return []
