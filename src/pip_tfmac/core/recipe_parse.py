"""Validate a recipe's TOML data into a Recipe value (pure: patch text comes from a callback).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pip_tfmac.core.recipes import ACTIONS, CodePatch, Disabled, Limitation, Prebuild, ProtobufRewrite, Recipe, RecipeError, RequirementEdit, SCHEMA, StandIn, TargetLine


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

    dependency_only = pkg.get("dependency_only", False)
    if not isinstance(dependency_only, bool):
        raise RecipeError(f"{path}: package.dependency_only must be true or false", "")
    targets = tuple(
        TargetLine(
            platform=r.text(t, "target.platform"),
            python=r.strings(t, "target.python"),
            requirements=tuple(
                r.requirement(x, "target.requirements")
                for x in r.strings(t, "target.requirements", empty=dependency_only)
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
        dependency_only=dependency_only,
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
