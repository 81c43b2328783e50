"""Recipes: how to make a package that cannot install as published work anyway, as data.

A recipe (``recipes/<project>/recipe.toml`` plus ``patches/*.diff``, package data) names one
exact upstream wheel (version and sha256), the TensorFlow line it runs on per target, the edits
to its Requires-Dist, the code patches and generated rewrites to apply, the pure-Python sdists
to pre-build, and the stand-in wheels to build. The planner reads Recipe values; patching.py
turns a Recipe and the original wheel into the patched wheel. This module only reads package
data: no network, no file system outside the package, no clock. The schema is in README.md here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from pip_tfmac.errors import BadInputError

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


def parse(data: Mapping[str, Any], *, path: str, read_patch: Any) -> Recipe:
    """Validate a recipe's TOML data; `read_patch(rel)` returns a patch file's text.

    Separate from load() so tests can check validation without package data.
    """
    r = _Reader(path)
    if data.get("schema") != SCHEMA:
        raise RecipeError(f"{path}: schema must be {SCHEMA}", "update the recipe or pip-tfmac")
    pkg = r.table(data, "package")
    name = canonicalize_name(r.text(pkg, "package.name"))
    version = r.text(pkg, "package.version")
    label = r.text(pkg, "package.label")
    try:
        if Version(version).local is not None:
            raise InvalidVersion(version)
        Version(f"{version}+{label}")
    except InvalidVersion:
        raise RecipeError(
            f"{path}: package.version {version!r} with label {label!r} is not a PEP 440 "
            "public version plus local label",
            'use e.g. version = "0.4.3", label = "tfmac.1"',
        ) from None
    sha256 = r.text(pkg, "package.sha256").lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise RecipeError(f"{path}: package.sha256 is not a sha256 hex digest", "")

    targets = tuple(
        TargetLine(
            platform=r.text(t, "target.platform"),
            python=r.strings(t, "target.python"),
            requirements=tuple(
                r.requirement(x, "target.requirements") for x in r.strings(t, "target.requirements")
            ),
            reason=r.text(t, "target.reason"),
            source=r.text(t, "target.source"),
        )
        for t in r.tables(data, "target")
    )
    edits = tuple(_edit(r, e) for e in r.tables(data, "requirement"))
    patches = tuple(
        CodePatch(
            file=r.text(p, "patch.file"),
            text=read_patch(r.text(p, "patch.file")),
            reason=r.text(p, "patch.reason"),
            source=r.text(p, "patch.source"),
        )
        for p in r.tables(data, "patch")
    )
    protobuf = tuple(
        ProtobufRewrite(
            files=r.strings(p, "protobuf.files"),
            reason=r.text(p, "protobuf.reason"),
            source=r.text(p, "protobuf.source"),
        )
        for p in r.tables(data, "protobuf")
    )
    prebuild = tuple(
        Prebuild(
            requirement=r.pinned(r.text(p, "prebuild.requirement"), "prebuild.requirement"),
            reason=r.text(p, "prebuild.reason"),
            source=r.text(p, "prebuild.source"),
        )
        for p in r.tables(data, "prebuild")
    )
    standins = tuple(_standin(r, s) for s in r.tables(data, "standin"))
    disabled = tuple(
        Disabled(
            module=r.text(d, "disabled.module"),
            attribute=str(d.get("attribute", "")),
            needs=r.strings(d, "disabled.needs"),
            message=r.text(d, "disabled.message"),
            source=r.text(d, "disabled.source"),
        )
        for d in r.tables(data, "disabled")
    )
    limitations = tuple(
        Limitation(
            feature=r.text(x, "limitation.feature"),
            detail=r.text(x, "limitation.detail"),
            source=r.text(x, "limitation.source"),
        )
        for x in r.tables(data, "limitation")
    )
    check = data.get("check", {})
    imports = r.strings(check, "check.imports") if "imports" in check else ()
    return Recipe(
        name=name,
        upstream_version=version,
        label=label,
        filename=r.text(pkg, "package.filename"),
        sha256=sha256,
        summary=str(pkg.get("summary", "")),
        source=r.text(pkg, "package.source"),
        read_on=str(data.get("read_on", "")),
        targets=targets,
        requirement_edits=edits,
        patches=patches,
        protobuf=protobuf,
        prebuild=prebuild,
        standins=standins,
        disabled=disabled,
        limitations=limitations,
        check_imports=imports,
    )


def _edit(r: _Reader, e: Mapping[str, Any]) -> RequirementEdit:
    action = r.text(e, "requirement.action")
    if action not in ACTIONS:
        raise RecipeError(f"{r.path}: requirement.action {action!r} is not one of {ACTIONS}", "")
    name = canonicalize_name(str(e.get("name", ""))) if e.get("name") else ""
    to = tuple(
        r.requirement(x, "requirement.to") for x in r.strings(e, "requirement.to", empty=True)
    )
    targets = {canonicalize_name(Requirement(x).name) for x in to}
    if action != "add" and not name:
        raise RecipeError(f"{r.path}: a {action} edit needs a name", "")
    if action == "drop" and to:
        raise RecipeError(f"{r.path}: drop {name} must not have `to`", "")
    if action == "relax" and (len(to) != 1 or targets != {name}):
        raise RecipeError(
            f"{r.path}: relax {name} needs exactly one `to` requirement of {name}",
            "use replace to swap in another project",
        )
    if action in ("replace", "add") and not to:
        raise RecipeError(f"{r.path}: {action} {name or ''} needs `to` requirements", "")
    if action == "add" and name:
        raise RecipeError(f"{r.path}: an add edit takes no name", "")
    return RequirementEdit(
        action=action,
        name=name,
        to=to,
        reason=r.text(e, "requirement.reason"),
        source=r.text(e, "requirement.source"),
    )


def _standin(r: _Reader, s: Mapping[str, Any]) -> StandIn:
    modules = s.get("modules")
    if not isinstance(modules, Mapping) or not modules:
        raise RecipeError(f"{r.path}: standin.modules must be a table of module = target", "")
    pairs = []
    for module, target in sorted(modules.items()):
        if not all(part.isidentifier() for part in f"{module}.{target}".split(".")):
            raise RecipeError(f"{r.path}: standin module {module!r} = {target!r} is not dotted", "")
        pairs.append((str(module), str(target)))
    version = r.text(s, "standin.version")
    try:
        if Version(version).local is None:
            raise InvalidVersion(version)
    except InvalidVersion:
        raise RecipeError(
            f"{r.path}: standin.version {version!r} needs a local label (e.g. 0.4.4+tfmac.1)",
            "a stand-in must be visibly pip-tfmac's, never taken for the index's release",
        ) from None
    return StandIn(
        name=canonicalize_name(r.text(s, "standin.name")),
        version=version,
        requires=tuple(
            r.requirement(x, "standin.requires")
            for x in r.strings(s, "standin.requires", empty=True)
        ),
        modules=tuple(pairs),
        reason=r.text(s, "standin.reason"),
        source=r.text(s, "standin.source"),
    )


@dataclass(frozen=True)
class _Reader:
    """Typed field access that names the file and field in every error."""

    path: str

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            raise RecipeError(f"{self.path}: [{key}] is missing", "")
        return value

    def tables(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise RecipeError(f"{self.path}: [[{key}]] must be an array of tables", "")
        return value

    def text(self, data: Mapping[str, Any], field: str) -> str:
        value = data.get(field.rsplit(".", 1)[-1])
        if not isinstance(value, str) or not value.strip():
            raise RecipeError(f"{self.path}: {field} must be a non-empty string", "")
        return value

    def strings(
        self, data: Mapping[str, Any], field: str, *, empty: bool = False
    ) -> tuple[str, ...]:
        value = data.get(field.rsplit(".", 1)[-1], [] if empty else None)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RecipeError(f"{self.path}: {field} must be a list of strings", "")
        if not value and not empty:
            raise RecipeError(f"{self.path}: {field} must not be empty", "")
        return tuple(value)

    def requirement(self, text: str, field: str) -> str:
        try:
            return str(Requirement(text))
        except InvalidRequirement as exc:
            raise RecipeError(
                f"{self.path}: {field} {text!r} is not a requirement: {exc}", ""
            ) from None

    def pinned(self, text: str, field: str) -> str:
        req = Requirement(self.requirement(text, field))
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise RecipeError(f"{self.path}: {field} {text!r} must be pinned with ==", "")
        return str(req)
