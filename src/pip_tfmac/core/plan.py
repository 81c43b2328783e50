"""The plan as a value: what pip-tfmac hands to pip, and every decision with its source.

The planner fills it in two pure steps (step1.py/macos.py before resolution, step2.py after);
`Plan.to_json()` is the documented `plan --json` interface (README), versioned by
PLAN_JSON_VERSION.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pip_tfmac.core.knowledge import minor_of
from pip_tfmac.core.requests import Request
from pip_tfmac.core.target import Target

PLAN_JSON_VERSION = 1
ALIAS_LABEL = "tfmac.1"  # local version label of alias wheels: visibly ours, wins ties
METAL: NormalizedName = canonicalize_name("tensorflow-metal")
TENSORFLOW: NormalizedName = canonicalize_name("tensorflow")
TENSORFLOW_MACOS: NormalizedName = canonicalize_name("tensorflow-macos")


@dataclass(frozen=True)
class PlanOptions:
    strict: bool = False
    no_metal: bool = False
    allow_unverified_metal: bool = False

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
    recipes: tuple[str, ...] = ()  # ids of the recipe lines whose wheels must be built
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

@dataclass
class Draft:
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

def applies(req: Requirement, target: Target) -> bool:
    """Does this requirement's environment marker hold on the target?"""
    if req.marker is None:
        return True
    env = target.marker_env()
    if not env:
        return True
    try:
        return bool(req.marker.evaluate({**env, "extra": ""}))
    except (UndefinedEnvironmentName, UndefinedComparison, InvalidMarker):
        return True

def format_requirement(req: Requirement, *, name: Optional[str] = None, extras: Optional[set[str]] = None,
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

def versions_text(versions: Sequence[Version], limit: int = 12) -> str:
    shown = [str(v) for v in versions[:limit]]
    more = len(versions) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

def tf_minors(versions: Sequence[Version]) -> list[str]:
    seen: list[str] = []
    for v in versions:
        m = minor_of(v)
        if m not in seen:
            seen.append(m)
    return seen
