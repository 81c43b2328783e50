"""doctor's values: the environment as the probe saw it, findings with their fixes, the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from collections.abc import Sequence
from packaging.requirements import InvalidRequirement, Requirement
from pip_tfmac.core.errors import ExitCode
from pip_tfmac.core.verify_report import MachineFacts
from pip_tfmac.core.linkcheck import LinkVerdict


SCHEMA = 1

ERROR = "error"

WARNING = "warning"

INFO = "info"

SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}

TF_PACKAGE = "tensorflow"  # the import package every TensorFlow build installs

METAL = canonicalize_name("tensorflow-metal")

KERAS = canonicalize_name("keras")

TF_KERAS = canonicalize_name("tf-keras")

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
    # The link check of the installed plugin against the installed TensorFlow images
    # (flows/doctor gathers it): None when not run, with `metal_link_skipped` saying why.
    metal_link: LinkVerdict | None = None
    metal_link_skipped: str = ""

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


# -- the --fix plan: as few pip runs as possible; a step that uninstalls names what it removes


def plan_fixes(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.is_problem and f.action is not None)

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

def installs(step: PlannedStep, name: str) -> bool:
    if step.args[0] != "install":
        return False
    for arg in step.args[1:]:
        try:
            if canonicalize_name(Requirement(arg).name) == canonicalize_name(name):
                return True
        except InvalidRequirement:
            continue
    return False
