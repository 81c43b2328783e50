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
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pip_tfmac.wheelhouse import wheelfile as wheels
from pip_tfmac.errors import BadInputError
from pip_tfmac.core.recipes import Recipe, RequirementEdit, StandIn


class PatchError(BadInputError):
    """The original wheel does not fit the recipe (wrong file, stale patch, unknown entry)."""


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


# ---------------------------------------------------------------------------- unified diffs
#
# Hand-written on purpose: the recipes patch one exact, hash-checked original, so the applier
# must be strict (every hunk at its stated line, context equal, no fuzz, no offset) and work on
# in-memory bytes. patch-ng (python-patch's fork) applies with fuzz and works on files on disk;
# unidiff only parses. Both would be a new runtime dependency for ~80 lines of code.

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class _Hunk:
    old_start: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]


@dataclass(frozen=True)
class _FilePatch:
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: tuple[_Hunk, ...]


def _strip_prefix(path: str, prefix: str) -> str | None:
    path = path.split("\t", 1)[0].strip()
    if path == "/dev/null":
        return None
    if not path.startswith(prefix):
        raise PatchError(
            f"diff path {path!r} does not start with {prefix!r}.", "write a/PATH b/PATH diffs"
        )
    return path[len(prefix) :]


def parse_unified_diff(text: str, *, label: str = "patch") -> list[_FilePatch]:
    """Parse a unified diff (diff -u / git diff output) into file patches."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    patches: list[_FilePatch] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("--- "):
            i += 1  # headers such as "diff --git" or prose before the first file
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
            raise PatchError(f"{label}: line {i + 1}: '---' without '+++'.", "regenerate the diff")
        old_path = _strip_prefix(lines[i][4:], "a/")
        new_path = _strip_prefix(lines[i + 1][4:], "b/")
        i += 2
        hunks: list[_Hunk] = []
        while i < len(lines) and lines[i].startswith("@@"):
            m = _HUNK.match(lines[i])
            if not m:
                raise PatchError(f"{label}: line {i + 1}: bad hunk header {lines[i]!r}.", "")
            old_count = int(m.group(2) if m.group(2) is not None else 1)
            new_count = int(m.group(4) if m.group(4) is not None else 1)
            i += 1
            old: list[str] = []
            new: list[str] = []
            while len(old) < old_count or len(new) < new_count:
                if i >= len(lines):
                    raise PatchError(
                        f"{label}: hunk ends early at line {i}.", "regenerate the diff"
                    )
                line = lines[i]
                tag, body = line[:1], line[1:]
                if tag == " " or line == "":
                    old.append(body)
                    new.append(body)
                elif tag == "-":
                    old.append(body)
                elif tag == "+":
                    new.append(body)
                elif tag == "\\":
                    pass  # "\ No newline at end of file": the recipes' files all end with one
                else:
                    raise PatchError(f"{label}: line {i + 1}: unexpected {line!r} in a hunk.", "")
                i += 1
            if len(old) != old_count or len(new) != new_count:
                raise PatchError(
                    f"{label}: line {i}: hunk line counts do not match its header.", ""
                )
            start = int(m.group(1))
            hunks.append(_Hunk(start if old_count else start + 1, tuple(old), tuple(new)))
        patches.append(_FilePatch(old_path, new_path, tuple(hunks)))
    if not patches:
        raise PatchError(f"{label}: no file patches found.", "write a unified diff")
    return patches


def apply_unified_diff(
    text: str, files: Mapping[str, bytes], *, label: str = "patch"
) -> dict[str, bytes | None]:
    """Apply a unified diff to in-memory files; return the changed files (None = deleted).

    Every hunk must match at exactly the line its header states (after the shift of earlier
    hunks of the same file); a mismatch raises PatchError naming the file and line.
    """
    changed: dict[str, bytes | None] = {}
    for fp in parse_unified_diff(text, label=label):
        path = fp.old_path or fp.new_path
        assert path is not None
        if fp.old_path is not None and fp.new_path is not None and fp.old_path != fp.new_path:
            raise PatchError(f"{label}: renames are not supported ({fp.old_path}).", "")
        if fp.old_path is None:
            if path in files:
                raise PatchError(f"{label}: {path} is created but already exists.", "")
            lines: list[str] = []
        else:
            if path not in changed and path not in files:
                raise PatchError(f"{label}: {path} is not in the wheel.", "check the patch paths")
            current = changed.get(path, files.get(path))
            if current is None:
                raise PatchError(f"{label}: {path} was deleted by an earlier patch.", "")
            lines = current.decode("utf-8").split("\n")
        shift = 0
        for hunk in fp.hunks:
            at = hunk.old_start - 1 + shift
            if at < 0 or list(lines[at : at + len(hunk.old_lines)]) != list(hunk.old_lines):
                raise PatchError(
                    f"{label}: hunk at line {hunk.old_start} of {path} "
                    "does not match the original.",
                    "the recipe's diff was made against another version of the file",
                )
            lines[at : at + len(hunk.old_lines)] = hunk.new_lines
            shift += len(hunk.new_lines) - len(hunk.old_lines)
        if fp.new_path is None:
            if any(line for line in lines):
                raise PatchError(
                    f"{label}: deleting {path} leaves lines the diff did not remove.", ""
                )
            changed[path] = None
        else:
            out = "\n".join(lines)
            if fp.old_path is None and not out.endswith("\n"):
                out += "\n"
            changed[path] = out.encode("utf-8")
    return changed


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
