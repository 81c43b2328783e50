"""Turn an original upstream wheel and a Recipe into the patched wheel, deterministically.

What changes (everything else of the original is kept byte for byte):
- METADATA: Version gets the recipe's local label (``0.4.3+tfmac.1``, so pip prefers it and it is
  visibly ours), Requires-Dist is rewritten by the recipe's drop/relax/replace/add edits;
- files: the recipe's unified diffs are applied, then its old-protoc ``_pb2`` modules are rebuilt
  from the serialized descriptor they carry;
- dist-info: ``pip_tfmac_provenance.json`` (wheels.py: recipe id, original name, version,
  sha256) and ``pip_tfmac_recipe.json`` (the edits and patches applied, each patch by sha256).

Same original bytes + same recipe -> same output bytes: wheels.py writes fixed timestamps,
sorted entries and RECORD; nothing here reads the clock, the environment or the file system.
Stand-in wheels (generated alias modules, no copied code) are built from the recipe alone.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pip_tfmac.core.recipes import Recipe, RequirementEdit, StandIn
from pip_tfmac.wheelhouse import wheelfile as wheels
from pip_tfmac.wheelhouse.diffs import PatchError, apply_unified_diff, parse_unified_diff

__all__ = [
    "BuiltWheel",
    "PatchError",
    "apply_unified_diff",
    "build_patched_wheel",
    "build_standin_wheel",
    "build_standin_wheels",
    "modernize_pb2",
    "parse_unified_diff",
    "rewrite_requires",
]


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel built by pip-tfmac: its file name, bytes and where it came from."""

    filename: str
    data: bytes
    rule: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def to_json(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "size": len(self.data),
            "rule": self.rule,
        }


# ---------------------------------------------------------------------------- the patched wheel


def build_patched_wheel(original: bytes, recipe: Recipe) -> BuiltWheel:
    """The recipe's patched wheel made from the original upstream wheel's bytes."""
    digest = hashlib.sha256(original).hexdigest()
    if digest != recipe.sha256:
        raise PatchError(
            f"the wheel given for {recipe.name} {recipe.upstream_version} has sha256 {digest}, "
            f"but recipe {recipe.id} was written for {recipe.sha256} ({recipe.filename}).",
            "fetch the original with `pip download --no-deps --only-binary=:all: "
            f"{recipe.name}=={recipe.upstream_version}` (a mirror may serve other bytes)",
        )
    meta = wheels.read_wheel_metadata(original)
    if (
        canonicalize_name(str(meta["Name"])) != recipe.name
        or str(meta["Version"]) != recipe.upstream_version
    ):
        raise PatchError(
            f"the wheel is {meta['Name']} {meta['Version']}, "
            f"not {recipe.name} {recipe.upstream_version}.",
            "pass the wheel the recipe names",
        )
    requires = rewrite_requires(meta.get_all("Requires-Dist") or [], recipe.requirement_edits)

    files = _package_files(original)
    changes: dict[str, bytes | None] = {}
    for patch in recipe.patches:
        for path, new in apply_unified_diff(patch.text, files, label=patch.file).items():
            changes[path] = new
            if new is None:
                files.pop(path, None)
            else:
                files[path] = new
    for rewrite in recipe.protobuf:
        for path in rewrite.files:
            if path not in files:
                raise PatchError(
                    f"recipe {recipe.id}: {path} is not in the wheel.", "fix [[protobuf]] files"
                )
            source = files[path].decode("utf-8")
            module = path[: -len(".py")].replace("/", ".")
            files[path] = changes[path] = modernize_pb2(source, module).encode("utf-8")

    dist_info = wheels.dist_info_dir(recipe.name, recipe.version)
    changes[f"{dist_info}/pip_tfmac_recipe.json"] = _recipe_record(recipe)
    provenance = wheels.Provenance(
        rule=recipe.id,
        source=recipe.source,
        made_from=(wheels.Origin(recipe.name, recipe.upstream_version, digest),),
    )
    filename, data = wheels.rewrite_wheel(
        original,
        name=recipe.name,
        version=recipe.version,
        requires_dist=requires,
        file_changes=changes,
        provenance=provenance,
        summary=recipe.summary or None,
    )
    return BuiltWheel(filename, data, recipe.id)


def _package_files(original: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(original)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}


def _recipe_record(recipe: Recipe) -> bytes:
    record = {
        "recipe": recipe.id,
        "requirement_edits": [e.to_json() for e in recipe.requirement_edits],
        "patches": [
            {"file": p.file, "sha256": hashlib.sha256(p.text.encode("utf-8")).hexdigest()}
            for p in recipe.patches
        ],
        "protobuf": [list(p.files) for p in recipe.protobuf],
        "disabled": [d.to_json() for d in recipe.disabled],
    }
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------- Requires-Dist


def rewrite_requires(original: Sequence[str], edits: Sequence[RequirementEdit]) -> list[str]:
    """Apply drop/relax/replace/add edits, in order, to Requires-Dist strings.

    An edit with a name selects every entry of that project whatever its marker (0.4.3 lists
    tensorflow-hub twice, for Python 2 and 3); its `to` entries take the place of the first.
    An edit naming a project the wheel does not require is an error: the recipe is stale.
    """
    current = [Requirement(r) for r in original]
    for edit in edits:
        replacement = [Requirement(t) for t in edit.to]
        if edit.action == "add":
            current.extend(replacement)
            continue
        hits = [i for i, r in enumerate(current) if canonicalize_name(r.name) == edit.name]
        if not hits:
            raise PatchError(
                f"the recipe's {edit.action} edit names {edit.name}, "
                "which the wheel does not require.",
                "update the recipe to the wheel's Requires-Dist",
            )
        first = hits[0]
        current = [r for i, r in enumerate(current) if i not in hits]
        current[first:first] = replacement
    return [str(r) for r in current]


# ---------------------------------------------------------------------------- protobuf modules


def modernize_pb2(source: str, module: str) -> str:
    """Rebuild an old-protoc ``_pb2`` module with protobuf's builder API (protobuf >= 3.20).

    protobuf 4 refuses `_descriptor.FieldDescriptor(...)` calls in modules generated by protoc
    older than 3.19. Such a module carries its whole .proto as `serialized_pb=b'...'`; the new
    module registers those bytes and lets the builder create the same messages, enums and
    constants. Imports of other `_pb2` modules (its .proto dependencies) are kept, in order.
    """
    tree = ast.parse(source)
    serialized = None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.keyword)
            and node.arg == "serialized_pb"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, bytes)
        ):
            serialized = node.value.value
            break
    if serialized is None:
        raise PatchError(
            f"{module}: no serialized_pb descriptor found.", "is it an old-protoc _pb2 module?"
        )
    deps = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and not (stmt.module or "").startswith(
            "google.protobuf"
        ):
            if any(a.name.endswith("_pb2") for a in stmt.names) or (stmt.module or "").endswith(
                "_pb2"
            ):
                deps.append(ast.unparse(stmt))
        elif isinstance(stmt, ast.Import) and any(a.name.endswith("_pb2") for a in stmt.names):
            deps.append(ast.unparse(stmt))
    lines = [
        "# Rebuilt by pip-tfmac from the serialized descriptor of the original module,",
        "# generated by an old protoc that protobuf 4 refuses to load.",
        "from google.protobuf import descriptor_pool as _descriptor_pool",
        "from google.protobuf import symbol_database as _symbol_database",
        "from google.protobuf.internal import builder as _builder",
        *deps,
        "",
        "_sym_db = _symbol_database.Default()",
        f"DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile({serialized!r})",
        "_builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, globals())",
        f"_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, {module!r}, globals())",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- stand-in wheels


def build_standin_wheels(recipe: Recipe) -> list[BuiltWheel]:
    """Every stand-in wheel the recipe declares (generated alias modules only)."""
    return [build_standin_wheel(s, rule=recipe.id, source=recipe.source) for s in recipe.standins]


def build_standin_wheel(standin: StandIn, *, rule: str, source: str) -> BuiltWheel:
    """A wheel whose modules alias other modules through sys.modules; no code is copied."""
    files: dict[str, bytes] = {}
    aliased = [module for module, _ in standin.modules]
    for module, target in standin.modules:
        if any(other.startswith(module + ".") for other in aliased):
            raise PatchError(
                f"stand-in {standin.name}: {module} is aliased and so are modules under it.",
                "alias the package alone: its submodules then come from the target",
            )
        parts = module.split(".")
        for depth in range(1, len(parts)):
            init = "/".join(parts[:depth]) + "/__init__.py"
            files.setdefault(init, b'"""Generated by pip-tfmac: a stand-in package."""\n')
        files["/".join(parts) + ".py"] = (
            f'"""Generated by pip-tfmac: this module is {target} ({standin.name} stand-in)."""\n'
            "import importlib\nimport sys\n\n"
            f"sys.modules[__name__] = importlib.import_module({target!r})\n"
        ).encode()
    provenance = wheels.Provenance(
        rule=f"{rule}:standin:{standin.name}", source=standin.source or source
    )
    filename, data = wheels.build_wheel(
        standin.name,
        standin.version,
        files,
        requires_dist=list(standin.requires),
        summary=f"Stand-in built by pip-tfmac: {standin.reason}"[:200],
        provenance=provenance,
    )
    return BuiltWheel(filename, data, provenance.rule)
