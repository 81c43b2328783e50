"""Diagnose a TensorFlow environment: each finding with its fix, and the safe fixes applied.

Facts come from the probe (_probe.py in `facts` mode: machine facts and installed
distributions, without importing TensorFlow, so a broken install cannot crash the doctor) and
from `pip check`. The checks themselves are a pure function of those values and the knowledge
files (`diagnose`), so each is tested with plain values; TF <-> tensorflow-metal pairing and the
Pythons with a metal wheel come from knowledge.py, never from this module.

A fix is "safe" when it is a pip command that pip can refuse as a whole: installing a pinned
release, or reinstalling the same version. The plan is printed before anything runs, and a step
that uninstalls says so by name; a conda package, an interpreter or an environment variable is
never changed for the user, only explained.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, parse_tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pip_tfmac.core import knowledge as kn
from pip_tfmac.knowledge import load as load_knowledge
from pip_tfmac.errors import ExitCode, VerifyFailedError
from pip_tfmac.flows.verify import DEFAULT_TIMEOUT, MachineFacts, run_probe

SCHEMA = 1
ERROR = "error"
WARNING = "warning"
INFO = "info"
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
TF_PACKAGE = "tensorflow"  # the import package every TensorFlow build installs
METAL = canonicalize_name("tensorflow-metal")
KERAS = canonicalize_name("keras")
TF_KERAS = canonicalize_name("tf-keras")


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Distribution:
    """One installed distribution, as the target interpreter's importlib.metadata sees it."""

    name: str
    version: str
    wheel_tags: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    top_level: tuple[str, ...] = ()
    location: str = ""

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)

    @property
    def parsed_version(self) -> Version | None:
        try:
            return Version(self.version)
        except InvalidVersion:
            return None

    @classmethod
    def from_probe(cls, data: dict[str, Any]) -> Distribution:
        return cls(
            name=str(data["name"]),
            version=str(data.get("version", "")),
            wheel_tags=tuple(str(t) for t in data.get("wheel_tags") or ()),
            requires=tuple(str(r) for r in data.get("requires") or ()),
            top_level=tuple(str(t) for t in data.get("top_level") or ()),
            location=str(data.get("location", "")),
        )

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "wheel_tags": list(self.wheel_tags)}


@dataclass(frozen=True)
class Environment:
    python: str
    facts: MachineFacts
    distributions: tuple[Distribution, ...]

    def get(self, name: str) -> Distribution | None:
        key = canonicalize_name(name)
        for dist in self.distributions:
            if dist.key == key:
                return dist
        return None


@dataclass(frozen=True)
class FixAction:
    """pip commands (argument lists, without `pip`) that fix one finding, run in order."""

    steps: tuple[tuple[str, ...], ...]
    removes: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        return ["pip " + " ".join(step) for step in self.steps]

    def to_json(self) -> dict[str, Any]:
        return {"steps": [list(s) for s in self.steps], "removes": list(self.removes)}


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    message: str
    fix: str
    action: FixAction | None = None

    @property
    def is_problem(self) -> bool:
        return self.severity in (ERROR, WARNING)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "action": self.action.to_json() if self.action else None,
        }


@dataclass(frozen=True)
class AppliedStep:
    argv: tuple[str, ...]
    returncode: int

    def to_json(self) -> dict[str, Any]:
        return {"pip": list(self.argv), "returncode": self.returncode}


@dataclass(frozen=True)
class DoctorReport:
    python: str
    facts: MachineFacts
    findings: tuple[Finding, ...]
    before: tuple[Finding, ...] | None = None  # findings before --fix, when fixes ran
    applied: tuple[AppliedStep, ...] = ()
    show_plan: bool = False  # --fix: include the plan made from the findings before fixing

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_problem)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.DOCTOR_FINDINGS if self.problems else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": SCHEMA,
            "python": self.python,
            "ok": not self.problems,
            "exit_code": int(self.exit_code),
            "facts": self.facts.to_json(),
            "findings": [f.to_json() for f in self.findings],
        }
        if self.show_plan:
            out["plan"] = [s.to_json() for s in planned_steps(self.before or self.findings)]
        if self.before is not None:
            out["before_fix"] = [f.to_json() for f in self.before]
            out["applied"] = [s.to_json() for s in self.applied]
        return out


# --------------------------------------------------------------------------------------------
# Gathering


def gather(python: str, *, timeout: float = DEFAULT_TIMEOUT) -> Environment:
    run = run_probe(python, "facts", timeout=timeout)
    data = run.payload
    if data is None or not isinstance(data.get("facts"), dict) or data.get("probe_error"):
        why = (
            "timed out"
            if run.timed_out
            else (run.launch_error or (data or {}).get("probe_error") or run.stderr[-500:])
        )
        raise VerifyFailedError(
            f"could not inspect the environment of {python}: {str(why).strip()}",
            "check that --python points at a working interpreter",
        )
    facts = MachineFacts.from_probe(data["facts"], data.get("injected") or [])
    dists = tuple(Distribution.from_probe(d) for d in data.get("distributions") or ())
    return Environment(python, facts, dists)


def pip_check(python: str, *, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, ...]:
    """`pip check` in the target; its problem lines (empty when it found none)."""
    argv = pip_command(python, ("check",))
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return (f"pip check could not run: {exc}",)
    if proc.returncode == 0:
        return ()
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
    return tuple(lines) or (f"pip check failed: {proc.stderr.strip()[-300:]}",)


def pip_command(python: str, args: Sequence[str]) -> list[str]:
    """pip acting on `python`: pip-tfmac's own pip with --python, so the target needs no pip."""
    from pip_tfmac.runners.passthrough import pip_argv

    return pip_argv(["--python", python, *args])


# --------------------------------------------------------------------------------------------
# The checks (pure)


def diagnose(
    env: Environment, pip_check_lines: Sequence[str] = (), knowledge: kn.Knowledge | None = None
) -> tuple[Finding, ...]:
    k = knowledge if knowledge is not None else load_knowledge()
    findings: list[Finding] = []
    findings += _rosetta(env)
    findings += _tensorflow_builds(env, k)
    tf = _tensorflow_version(env)
    findings += _metal(env, k, tf)
    findings += _foreign_wheels(env)
    findings += _conda(env, tf)
    findings += _keras(env, k, tf)
    findings += _pip_check(env, pip_check_lines, findings)
    findings.sort(key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))
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
    pair = k.metal_state(tf, metal_version) if tf and metal_version else None
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
                f"`pip install tensorflow-metal=={choice.version}` (verified with TF {tf})"
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
    state = pair.state if pair else None
    if state == kn.VERIFIED:
        return out
    if state == kn.UNVERIFIED:
        severity, why = WARNING, "a pair nobody has published a test of"
    elif state == kn.BROKEN:
        severity, why = ERROR, f"known broken: {pair.evidence}" if pair else "known broken"
    else:
        severity, why = ERROR, "not a pair tensorflow-metal was built for"
    if choice is not None and choice.version != metal_version:
        fix = f"`pip install tensorflow-metal=={choice.version}` (verified with TF {tf})"
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


# -- wheel tags --------------------------------------------------------------------------------

_MAC_PLATFORM = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")
_MAC_ARCHES = {
    "arm64": {"arm64", "universal2"},
    "x86_64": {"x86_64", "intel", "universal", "universal2", "fat64", "fat3"},
}
_LINUX_ARCHES = ("x86_64", "aarch64", "i686", "ppc64le", "s390x", "armv7l", "riscv64")


def tag_matches(tag: Tag, facts: MachineFacts) -> bool:
    """Could this interpreter use a wheel with this tag? OS, CPU and CPython ABI, not libc.

    Deliberately coarser than pip's full tag list: it answers "x86_64 wheel in an arm64
    env" and "cp310 extension in a 3.11 env" without guessing the glibc of another machine.
    """
    return _interpreter_matches(tag, facts) and _platform_matches(tag.platform, facts)


def _interpreter_matches(tag: Tag, facts: MachineFacts) -> bool:
    ours = "".join(facts.python_version.split(".")[:2])
    if tag.interpreter.startswith("cp") and facts.implementation == "cpython":
        if tag.abi.startswith("cp"):
            return tag.interpreter == f"cp{ours}"
        if tag.abi in ("abi3", "none"):
            return _digits_le(tag.interpreter[2:], ours)
    if tag.interpreter.startswith("py"):
        return tag.interpreter[2:3] == ours[:1]
    return True  # another implementation's tag: not ours to judge


def _digits_le(theirs: str, ours: str) -> bool:
    if not theirs.isdigit():
        return True
    if len(theirs) == 1:
        return theirs == ours[:1]
    return (int(theirs[0]), int(theirs[1:])) <= (int(ours[0]), int(ours[1:]))


def _platform_matches(platform: str, facts: MachineFacts) -> bool:
    if platform == "any":
        return True
    machine = facts.machine.lower()
    mac = _MAC_PLATFORM.match(platform)
    if mac:
        if not facts.is_macos:
            return False
        if mac.group(3) not in _MAC_ARCHES.get(machine, {machine}):
            return False
        if facts.macos_version:
            wanted = (int(mac.group(1)), int(mac.group(2)))
            current = kn.parse_macos(facts.macos_version)
            if wanted[0] >= 11:  # from macOS 11 on, only the major counts
                return wanted[0] <= current[0]
            return wanted <= current
        return True
    if platform.startswith(("manylinux", "musllinux", "linux_")):
        if not facts.sys_platform.startswith("linux"):
            return False
        arch = next((a for a in _LINUX_ARCHES if platform.endswith(a)), None)
        return arch is None or arch == {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if platform.startswith("win"):
        return facts.sys_platform == "win32"
    return True  # a platform we do not know: no verdict


def _foreign_wheels(env: Environment) -> list[Finding]:
    out: list[Finding] = []
    for dist in env.distributions:
        tags: list[Tag] = []
        for text in dist.wheel_tags:
            try:
                tags.extend(parse_tag(text))
            except ValueError:
                continue
        if not tags or any(tag_matches(t, env.facts) for t in tags):
            continue
        f = env.facts
        here = f"{f.sys_platform} {f.machine}, Python {f.python_minor}"
        if f.rosetta:
            fix = "this follows from the Rosetta finding: recreate the environment with an arm64 Python"
            action = None
        else:
            fix = (
                "reinstall it for this interpreter: `pip install --force-reinstall --no-deps "
                f"{dist.name}=={dist.version}`"
            )
            action = FixAction(
                (("install", "--force-reinstall", "--no-deps", f"{dist.name}=={dist.version}"),)
            )
        out.append(
            Finding(
                "foreign-wheel",
                ERROR,
                f"{dist.name} {dist.version} was installed from a wheel for "
                f"{', '.join(sorted(set(dist.wheel_tags)))}, which this interpreter ({here}) "
                "cannot use",
                fix,
                action,
            )
        )
    return out


def _conda(env: Environment, tf: Version | None) -> list[Finding]:
    f = env.facts
    if not (f.conda and "tensorflow-deps" in f.conda_packages):
        return []
    return [
        Finding(
            "conda-tensorflow-deps",
            ERROR if tf is not None and tf >= Version("2.13") else WARNING,
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
    if tf is None or tf < Version("2.16") or keras_version is None or keras_version.major < 3:
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


# --------------------------------------------------------------------------------------------
# Running, fixing, rendering


def doctor(python: str, *, timeout: float = DEFAULT_TIMEOUT) -> DoctorReport:
    env = gather(python, timeout=timeout)
    findings = diagnose(env, pip_check(python, timeout=timeout))
    return DoctorReport(python, env.facts, findings)


def plan_fixes(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.is_problem and f.action is not None)


@dataclass(frozen=True)
class PlannedStep:
    """One pip command of the --fix plan, with the findings it answers and what it removes."""

    args: tuple[str, ...]
    finding_ids: tuple[str, ...]
    removes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "pip": list(self.args),
            "for": list(self.finding_ids),
            "removes": list(self.removes),
        }


def planned_steps(findings: Sequence[Finding]) -> tuple[PlannedStep, ...]:
    """The fixes as few pip runs as possible: removals first, then one run per option set.

    Installing together lets pip resolve all the pins at once (and refuse them as a whole);
    removals go first because the mixed-tensorflow fix reinstalls after uninstalling.
    """
    removals: list[tuple[tuple[str, ...], str, tuple[str, ...]]] = []
    installs: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
    for finding in plan_fixes(findings):
        assert finding.action is not None
        for step in finding.action.steps:
            if step[0] == "uninstall":
                removals.append((step, finding.id, finding.action.removes))
                continue
            options = tuple(a for a in step if a.startswith("-"))
            reqs = [a for a in step[1:] if not a.startswith("-")]
            key = (step[0], *options)
            got_reqs, ids = installs.setdefault(key, ([], []))
            got_reqs.extend(r for r in reqs if r not in got_reqs)
            if finding.id not in ids:
                ids.append(finding.id)
    steps = [PlannedStep(step, (fid,), removes) for step, fid, removes in removals]
    # Same-version reinstalls (--force-reinstall) before installs that may change versions.
    ordered = sorted(installs.items(), key=lambda item: "--force-reinstall" not in item[0])
    steps += [PlannedStep((*key, *reqs), tuple(ids)) for key, (reqs, ids) in ordered]
    return tuple(steps)


def render_plan(findings: Sequence[Finding]) -> str:
    steps = planned_steps(findings)
    if not steps:
        return "Nothing pip-tfmac can fix safely; the fixes above are for you to apply."
    lines = ["Plan (pip-tfmac --fix runs these, in order):"]
    for n, step in enumerate(steps, 1):
        lines.append(f"  {n}. pip {shlex.join(step.args)}   [{', '.join(step.finding_ids)}]")
        for removed in step.removes:
            again = next((i for i, s in enumerate(steps, 1) if i > n and _installs(s, removed)), 0)
            lines.append(
                f"     this REMOVES {removed}"
                + (f" (step {again} installs it again)" if again else " (not reinstalled)")
            )
    return "\n".join(lines)


def _installs(step: PlannedStep, name: str) -> bool:
    if step.args[0] != "install":
        return False
    for arg in step.args[1:]:
        try:
            if canonicalize_name(Requirement(arg).name) == canonicalize_name(name):
                return True
        except InvalidRequirement:
            continue
    return False


def apply_fixes(
    python: str, findings: Sequence[Finding], *, out: Any = None
) -> tuple[AppliedStep, ...]:
    """Run the planned pip steps in order; stop at the first that fails."""
    stream = out if out is not None else sys.stderr
    applied: list[AppliedStep] = []
    for step in planned_steps(findings):
        print(f"pip-tfmac: running pip {' '.join(step.args)}", file=stream, flush=True)
        sys.stdout.flush()
        proc = _run_to(pip_command(python, step.args), stream)
        applied.append(AppliedStep(step.args, proc.returncode))
        if proc.returncode != 0:
            break
    return tuple(applied)


def _run_to(argv: list[str], stream: Any) -> subprocess.CompletedProcess[str]:
    """Run with stdout going to `stream` (stderr under --json, so stdout stays one object)."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a file descriptor
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        stream.write(proc.stdout + proc.stderr)
        return proc
    stream.flush()
    return subprocess.run(argv, stdout=stream, text=True, check=False)


def render(report: DoctorReport) -> str:
    f = report.facts
    where = f"{f.sys_platform} {f.machine}, Python {f.python_version}"
    if f.macos_version:
        where += f", macOS {f.macos_version}"
    if f.rosetta:
        where += " (Rosetta)"
    if f.injected:
        where += f" [injected: {', '.join(f.injected)}]"
    lines = [f"pip-tfmac doctor: {report.python} ({where})"]
    if report.before is not None:
        fixed = len([b for b in report.before if b.is_problem]) - len(report.problems)
        failed = [s for s in report.applied if s.returncode != 0]
        lines.append(
            f"  applied {len(report.applied)} pip step(s)"
            + (f", {len(failed)} failed" if failed else "")
            + f"; {max(fixed, 0)} problem(s) fewer"
        )
    for finding in report.findings:
        lines.append(f"  {finding.severity.upper():<8} {finding.id}: {finding.message}")
        if finding.fix:
            auto = "  [--fix applies this]" if finding.action and report.before is None else ""
            lines.append(f"  {'':<8} fix: {finding.fix}{auto}")
    if not report.problems:
        lines.append("No problems found.")
    else:
        lines.append(f"{len(report.problems)} problem(s) found.")
    return "\n".join(lines)


def emit(report: DoctorReport, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render(report))
    sys.stdout.flush()
    return int(report.exit_code)
