"""Recipes as values: how to make a package that cannot install as published work anyway.

A recipe (``recipes/<project>/recipe.toml`` plus ``patches/*.diff``, package data read by
pip_tfmac.recipes) names one exact upstream wheel (version and sha256), the TensorFlow line it
runs on per target, the edits to its Requires-Dist, the code patches and generated rewrites to
apply, the pure-Python sdists to pre-build, and the stand-in wheels to build. The planner reads
Recipe values; wheelhouse/patching.py turns a Recipe and the original wheel into the patched
wheel. No I/O. The schema is in recipes/README.md; validation in recipe_parse.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from packaging.utils import NormalizedName
from pip_tfmac.core.errors import BadInputError


SCHEMA = 1

ACTIONS = ("drop", "relax", "replace", "add")

class RecipeError(BadInputError):
    """A recipe file is malformed: a bug in the package data, reported with the file and field."""

@dataclass(frozen=True)
class TargetLine:
    """The requirements a recipe adds on one target (e.g. TF + metal on macOS arm64)."""

    platform: str  # pip-tfmac target name: "macos-arm64", "linux-x86_64"
    python: tuple[str, ...]  # "X.Y" versions the line is known to work on
    requirements: tuple[str, ...]
    reason: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "python": list(self.python),
            "requirements": list(self.requirements),
            "reason": self.reason,
            "source": self.source,
        }

@dataclass(frozen=True)
class RequirementEdit:
    """One edit of the original Requires-Dist (see ACTIONS)."""

    action: str
    name: str  # canonical project name the edit selects ("" for add)
    to: tuple[str, ...]
    reason: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "name": self.name,
            "to": list(self.to),
            "reason": self.reason,
            "source": self.source,
        }

@dataclass(frozen=True)
class CodePatch:
    """A unified diff against the original wheel's files, with its text loaded."""

    file: str  # relative to the recipe folder
    text: str
    reason: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "reason": self.reason, "source": self.source}

@dataclass(frozen=True)
class ProtobufRewrite:
    """Old-protoc _pb2 modules rebuilt from their serialized descriptor at patch time."""

    files: tuple[str, ...]
    reason: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"files": list(self.files), "reason": self.reason, "source": self.source}

@dataclass(frozen=True)
class Prebuild:
    """A pure-Python sdist of the resolved set to build into a wheel (cross-target resolves)."""

    requirement: str
    reason: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "reason": self.reason, "source": self.source}

@dataclass(frozen=True)
class StandIn:
    """A generated wheel whose modules are aliases of modules of another distribution.

    Each module file is a generated two-line shim that replaces itself in sys.modules with the
    target module, so no third-party code is copied. `modules` maps a dotted module name of
    the stand-in to the dotted module it aliases.
    """

    name: str
    version: str  # with a local label, e.g. 0.4.4+tfmac.1
    requires: tuple[str, ...]
    modules: tuple[tuple[str, str], ...]
    reason: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "requires": list(self.requires),
            "modules": dict(self.modules),
            "reason": self.reason,
            "source": self.source,
        }

@dataclass(frozen=True)
class Disabled:
    """A part of the package the recipe turns off, and the message using it gives."""

    module: str
    attribute: str
    needs: tuple[str, ...]
    message: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "attribute": self.attribute,
            "needs": list(self.needs),
            "message": self.message,
            "source": self.source,
        }

@dataclass(frozen=True)
class Limitation:
    feature: str
    detail: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"feature": self.feature, "detail": self.detail, "source": self.source}

@dataclass(frozen=True)
class Recipe:
    """Everything needed to build and plan one patched package."""

    name: NormalizedName
    upstream_version: str
    label: str
    filename: str  # the original wheel's file name
    sha256: str  # of the original wheel file
    summary: str
    source: str
    read_on: str
    targets: tuple[TargetLine, ...]
    requirement_edits: tuple[RequirementEdit, ...]
    patches: tuple[CodePatch, ...]
    protobuf: tuple[ProtobufRewrite, ...]
    prebuild: tuple[Prebuild, ...]
    standins: tuple[StandIn, ...]
    disabled: tuple[Disabled, ...]
    limitations: tuple[Limitation, ...]
    check_imports: tuple[str, ...]
    # Only for a dependency another recipe line pins in its target requirements (its published
    # pins conflict on that line); never applied to what the user asks for by name.
    dependency_only: bool = False

    @property
    def version(self) -> str:
        """The patched wheel's version: upstream version plus the local label."""
        return f"{self.upstream_version}+{self.label}"

    @property
    def id(self) -> str:
        """Names the recipe in provenance and plans: ``recipe:<name>@<version>``."""
        return f"recipe:{self.name}@{self.version}"

    @property
    def requirement(self) -> str:
        """The pin that selects the patched wheel over the index's copy."""
        return f"{self.name}=={self.version}"

    def target(self, platform: str, python: str | None = None) -> TargetLine | None:
        """The TensorFlow line for a target platform (and Python "X.Y", if given), or None."""
        for line in self.targets:
            if line.platform == platform and (python is None or python in line.python):
                return line
        return None

    def requirements_for(self, platform: str, python: str) -> tuple[str, ...] | None:
        """What a plan hands pip for this recipe on a target: the patched pin and the TF line.

        None when the recipe has no line for the target (the planner explains which exist).
        """
        line = self.target(platform, python)
        return None if line is None else (self.requirement, *line.requirements)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "upstream_version": self.upstream_version,
            "version": self.version,
            "label": self.label,
            "filename": self.filename,
            "sha256": self.sha256,
            "summary": self.summary,
            "source": self.source,
            "read_on": self.read_on,
            "targets": [t.to_json() for t in self.targets],
            "requirement_edits": [e.to_json() for e in self.requirement_edits],
            "patches": [p.to_json() for p in self.patches],
            "protobuf": [p.to_json() for p in self.protobuf],
            "prebuild": [p.to_json() for p in self.prebuild],
            "standins": [s.to_json() for s in self.standins],
            "disabled": [d.to_json() for d in self.disabled],
            "limitations": [x.to_json() for x in self.limitations],
            "check_imports": list(self.check_imports),
        }
