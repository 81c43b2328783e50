"""Deterministic wheel building: alias wheels and rewritten (patched) wheels.

Why deterministic: a wheel pip-tfmac builds lands in the shared wheelhouse and may be compared,
shipped to another machine (`pip-tfmac download`) or re-checked by hash later. The same inputs
must give the same bytes on every run and every machine, so nothing here depends on the clock,
the umask, the directory order, the zlib build or the host OS:

- every ZIP entry carries the same timestamp (1980-01-01, the earliest ZIP can store), Unix as
  the creating system, and fixed permissions (0o644, 0o755 for scripts under `.data/scripts`);
- entries are sorted, with the `.dist-info` directory last and RECORD the final entry;
- entries are STORED, not deflated: deflate output differs between zlib and zlib-ng builds,
  and the wheels built here are small (metadata, pure-Python patches);
- RECORD carries sha256 (urlsafe base64, unpadded) and size for every file, as the wheel spec
  asks, so pip and `installer` verify what they unpack.

Each built wheel records what it was made from in `<dist-info>/pip_tfmac_provenance.json`
(a Provenance value: the knowledge rule that asked for it, its source, and the name, version
and sha256 of each original).
"""

from __future__ import annotations

import base64
import csv
import email.message
import email.parser
import email.policy
import hashlib
import io
import itertools
import json
import os
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pip_tfmac.errors import BadInputError

PROVENANCE_FILE = "pip_tfmac_provenance.json"
PROVENANCE_FORMAT = 1
GENERATOR = "pip-tfmac"  # no version: a builder upgrade must not change the bytes by itself

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644
_EXEC_MODE = 0o755
_UNIX = 3  # ZipInfo.create_system for Unix; the default depends on the host OS

# Files in a dist-info directory that build_wheel always writes itself; an original's copies
# are dropped by rewrite_wheel (signatures and install-time files are invalid after a rewrite).
_GENERATED_DIST_INFO = frozenset(
    {
        "METADATA",
        "WHEEL",
        "RECORD",
        "RECORD.jws",
        "RECORD.p7s",
        "INSTALLER",
        "REQUESTED",
        "direct_url.json",
        PROVENANCE_FILE,
    }
)


@dataclass(frozen=True)
class Origin:
    """One distribution a built wheel was made from (or stands in for)."""

    name: str
    version: str
    sha256: str = ""  # of the original wheel file; empty when there is no file (alias target)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Origin:
        return cls(str(data["name"]), str(data["version"]), str(data.get("sha256", "")))

    @classmethod
    def of_wheel(cls, wheel: bytes) -> Origin:
        """The Origin of an original wheel's bytes: its metadata name/version and sha256."""
        meta = read_wheel_metadata(wheel)
        return cls(str(meta["Name"]), str(meta["Version"]), hashlib.sha256(wheel).hexdigest())


@dataclass(frozen=True)
class Provenance:
    """Why a wheel exists: the knowledge rule that asked for it and what it was made from."""

    rule: str
    source: str
    made_from: tuple[Origin, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "source": self.source,
            "made_from": [origin.to_json() for origin in self.made_from],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(
            rule=str(data.get("rule", "")),
            source=str(data.get("source", "")),
            made_from=tuple(Origin.from_json(o) for o in data.get("made_from", ())),
        )


# ---------------------------------------------------------------------------- names and tags


def wheel_name_part(name: str) -> str:
    """The distribution name as the wheel spec writes it in file and directory names."""
    return canonicalize_name(name).replace("-", "_")


def normalize_version(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        raise BadInputError(
            f"{version!r} is not a valid version for a wheel.",
            "use a PEP 440 version such as 2.12.0 or 2.12.0+tfmac.1",
        ) from None


def dist_info_dir(name: str, version: str) -> str:
    return f"{wheel_name_part(name)}-{normalize_version(version)}.dist-info"


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{wheel_name_part(name)}-{normalize_version(version)}-{tag}.whl"


def _expand_tag(tag: str) -> list[str]:
    try:
        tags = sorted({str(t) for t in parse_tag(tag)})
    except (ValueError, IndexError):
        tags = []
    if not tags or tag.count("-") != 2:
        raise BadInputError(f"{tag!r} is not a wheel tag.", "use the form py3-none-any")
    return tags


def _compress_tags(tags: Sequence[str]) -> str:
    """The compressed tag set (e.g. py2.py3-none-any) for a WHEEL's Tag lines."""
    parts = [t.split("-") for t in tags]
    interpreters, abis, platforms = (sorted({p[i] for p in parts}) for i in range(3))
    product = {"-".join(c) for c in itertools.product(interpreters, abis, platforms)}
    if product != set(tags):
        raise BadInputError(
            f"the original wheel's tags {sorted(tags)} are not one compressed tag set.",
            "pass tag= explicitly to rewrite_wheel",
        )
    return "-".join(".".join(group) for group in (interpreters, abis, platforms))


# ---------------------------------------------------------------------------- file contents


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _check_path(path: str) -> str:
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
        or re.match(r"^[A-Za-z]:", path)
    ):
        raise BadInputError(
            f"{path!r} cannot be a file in a wheel.",
            "use a relative POSIX path without '..' or empty parts",
        )
    return path


def _metadata_text(
    name: str,
    version: str,
    summary: str,
    requires_dist: Sequence[str],
    extra_metadata: Sequence[tuple[str, str]],
    description: str,
    metadata_version: str,
) -> str:
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
    ]
    if summary:
        lines.append(f"Summary: {_one_line('Summary', summary)}")
    for key, value in extra_metadata:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", key) or key.lower() in (
            "metadata-version",
            "name",
            "version",
            "summary",
            "requires-dist",
        ):
            raise BadInputError(
                f"{key!r} cannot be an extra metadata field.", "use a core metadata field name"
            )
        lines.append(f"{key}: {_one_line(key, value)}")
    for req in requires_dist:
        try:
            lines.append(f"Requires-Dist: {Requirement(req)}")
        except InvalidRequirement as exc:
            raise BadInputError(
                f"{req!r} is not a valid requirement: {exc}", "fix the Requires-Dist entry"
            ) from None
    text = "\n".join(lines) + "\n"
    if description:
        text += "\n" + description.rstrip("\n") + "\n"
    return text


def _one_line(key: str, value: str) -> str:
    if "\n" not in value and "\r" not in value:
        return value
    # Multi-line values (License texts) use RFC 822 continuation lines; values read back from
    # an original METADATA already carry their continuation indent.
    first, *rest = value.splitlines()
    return "\n".join(
        [first] + [line if line[:1] in (" ", "\t") else "       " + line for line in rest]
    )


def _wheel_text(tags: Sequence[str], purelib: bool) -> str:
    lines = [
        "Wheel-Version: 1.0",
        f"Generator: {GENERATOR}",
        f"Root-Is-Purelib: {'true' if purelib else 'false'}",
    ]
    lines += [f"Tag: {t}" for t in tags]
    return "\n".join(lines) + "\n"


def provenance_bytes(provenance: Provenance, name: str, version: str) -> bytes:
    payload = {
        "format": PROVENANCE_FORMAT,
        "built_by": GENERATOR,
        "name": name,
        "version": version,
        **provenance.to_json(),
    }
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _zip_bytes(entries: Sequence[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for path, data in entries:
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE_TIME)
            info.create_system = _UNIX
            mode = _EXEC_MODE if re.search(r"\.data/scripts/", path) else _FILE_MODE
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------- building


def build_wheel(
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    requires_dist: Sequence[str],
    summary: str,
    tag: str = "py3-none-any",
    provenance: Provenance,
    extra_metadata: Sequence[tuple[str, str]] = (),
    dist_info_files: Mapping[str, bytes] = {},
    description: str = "",
    metadata_version: str = "2.1",
    purelib: bool | None = None,
) -> tuple[str, bytes]:
    """Build a wheel from in-memory files; return (filename, bytes), identical for same inputs.

    `files` maps wheel paths (``pkg/__init__.py``, ``name-1.0.data/scripts/x``) to contents.
    `dist_info_files` adds files to the dist-info directory (entry_points.txt, licenses);
    METADATA, WHEEL, RECORD and the provenance file are always generated here.
    """
    version = normalize_version(version)
    tags = _expand_tag(tag)
    dist_info = dist_info_dir(name, version)
    if purelib is None:
        purelib = all(t.endswith("-any") for t in tags)

    payload: dict[str, bytes] = {}
    for path, data in files.items():
        _check_path(path)
        if path.split("/", 1)[0] == dist_info:
            raise BadInputError(
                f"{path!r} is inside the generated {dist_info} directory.",
                "pass dist-info files through dist_info_files=",
            )
        payload[path] = bytes(data)
    for rel, data in dist_info_files.items():
        _check_path(rel)
        if rel in _GENERATED_DIST_INFO:
            raise BadInputError(f"{rel} in a dist-info is generated by pip-tfmac.", "drop it")
        payload[f"{dist_info}/{rel}"] = bytes(data)

    metadata = _metadata_text(
        name, version, summary, requires_dist, extra_metadata, description, metadata_version
    )
    payload[f"{dist_info}/METADATA"] = metadata.encode("utf-8")
    payload[f"{dist_info}/WHEEL"] = _wheel_text(tags, purelib).encode("utf-8")
    payload[f"{dist_info}/{PROVENANCE_FILE}"] = provenance_bytes(provenance, name, version)

    # Sorted, with the dist-info directory after the package files and RECORD last.
    ordered = sorted(payload, key=lambda p: (p.split("/", 1)[0] == dist_info, p))
    record_path = f"{dist_info}/RECORD"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path in ordered:
        data = payload[path]
        writer.writerow([path, record_hash(data), str(len(data))])
    writer.writerow([record_path, "", ""])
    entries = [(p, payload[p]) for p in ordered] + [(record_path, out.getvalue().encode())]
    return wheel_filename(name, version, _compress_tags(tags)), _zip_bytes(entries)


def build_alias_wheel(
    name: str,
    version: str,
    target_name: str,
    target_version: str,
    *,
    provenance: Provenance,
    extras: Sequence[str] = (),
) -> tuple[str, bytes]:
    """A metadata-only wheel `name==version` that requires `target_name==target_version`.

    Lets packages that declare `tensorflow` be satisfied by `tensorflow-macos` without
    `--no-deps`: pip installs the alias, which pulls the real distribution. `version` should
    carry a local label (``2.12.0+tfmac.1``) so it is visibly ours and never taken for the
    index's. `extras` are declared (empty) so `tensorflow[and-cuda]` resolves without warning.
    """
    target = f"{canonicalize_name(target_name)}=={normalize_version(target_version)}"
    extra_fields = [("Provides-Extra", e) for e in sorted({canonicalize_name(x) for x in extras})]
    return build_wheel(
        name,
        version,
        {},
        requires_dist=[target],
        summary=f"Alias built by pip-tfmac: {name} is provided by {target}",
        provenance=provenance,
        extra_metadata=extra_fields,
    )


# ---------------------------------------------------------------------------- reading


WheelSource = Union[str, "os.PathLike[str]", bytes]


def _open_zip(wheel: WheelSource) -> zipfile.ZipFile:
    try:
        if isinstance(wheel, bytes):
            return zipfile.ZipFile(io.BytesIO(wheel))
        return zipfile.ZipFile(Path(wheel))
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInputError(f"not a readable wheel: {exc}", "rebuild or re-download it") from None


def _find_dist_info(zf: zipfile.ZipFile) -> str:
    dirs = sorted(
        {
            n.split("/", 1)[0]
            for n in zf.namelist()
            if n.split("/", 1)[0].endswith(".dist-info")
            and n.endswith("/METADATA")
            and n.count("/") == 1
        }
    )
    if len(dirs) != 1:
        raise BadInputError(
            f"a wheel must have exactly one .dist-info directory with METADATA, found {dirs}.",
            "rebuild or re-download the wheel",
        )
    return dirs[0]


def _parse_headers(data: bytes) -> email.message.Message:
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)


def read_wheel_metadata(wheel: WheelSource) -> email.message.Message:
    """The METADATA of a wheel (path or bytes) as an email Message (`msg.get_all(...)`)."""
    with _open_zip(wheel) as zf:
        return _parse_headers(zf.read(f"{_find_dist_info(zf)}/METADATA"))


def read_wheel_provenance(wheel: WheelSource) -> Provenance | None:
    """The provenance recorded in a wheel pip-tfmac built, or None for any other wheel."""
    with _open_zip(wheel) as zf:
        path = f"{_find_dist_info(zf)}/{PROVENANCE_FILE}"
        if path not in zf.namelist():
            return None
        return Provenance.from_json(json.loads(zf.read(path)))


def verify_record(wheel: WheelSource) -> list[str]:
    """Problems between a wheel's RECORD and its contents (empty list: it verifies)."""
    problems: list[str] = []
    with _open_zip(wheel) as zf:
        dist_info = _find_dist_info(zf)
        record_path = f"{dist_info}/RECORD"
        try:
            rows = list(csv.reader(io.StringIO(zf.read(record_path).decode("utf-8"))))
        except KeyError:
            return [f"{record_path} is missing"]
        listed = set()
        for row in rows:
            if not row:
                continue
            path, digest, size = (row + ["", ""])[:3]
            listed.add(path)
            if path == record_path:
                continue
            try:
                data = zf.read(path)
            except KeyError:
                problems.append(f"{path}: listed in RECORD but not in the wheel")
                continue
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                problems.append(f"{path}: damaged in the archive ({exc})")
                continue
            if digest != record_hash(data):
                problems.append(f"{path}: hash does not match RECORD")
            if size != str(len(data)):
                problems.append(f"{path}: size {len(data)} does not match RECORD ({size})")
        for name in zf.namelist():
            if not name.endswith("/") and name not in listed:
                problems.append(f"{name}: in the wheel but not in RECORD")
    return problems


# ---------------------------------------------------------------------------- rewriting


def rewrite_wheel(
    original: bytes,
    *,
    name: str,
    version: str,
    requires_dist: Sequence[str],
    file_changes: Mapping[str, bytes | None],
    provenance: Provenance,
    summary: str | None = None,
    tag: str | None = None,
) -> tuple[str, bytes]:
    """Rebuild an existing wheel deterministically with new name/version/requirements/files.

    `file_changes` maps wheel paths to new contents, or to None to delete the file. Paths may
    name files of the original dist-info directory (``pkg-1.0.dist-info/entry_points.txt``)
    or, equally, of the new one. Other metadata fields of the original (Author, License,
    Requires-Python, the description, ...) are kept; Requires-Dist is replaced wholesale.
    Tags and Root-Is-Purelib come from the original WHEEL unless `tag` is given.
    """
    version = normalize_version(version)
    with _open_zip(original) as zf:
        old_dist_info = _find_dist_info(zf)
        old_data_dir = old_dist_info[: -len(".dist-info")] + ".data"
        contents = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    meta = _parse_headers(contents[f"{old_dist_info}/METADATA"])
    wheel_meta = _parse_headers(contents.get(f"{old_dist_info}/WHEEL", b""))

    new_dist_info = dist_info_dir(name, version)
    new_data_dir = new_dist_info[: -len(".dist-info")] + ".data"
    changes: dict[str, bytes | None] = {}
    for path, data in file_changes.items():
        _check_path(path)
        top, _, rest = path.partition("/")
        if top == new_dist_info:
            path = f"{old_dist_info}/{rest}"
        elif top == new_data_dir:
            path = f"{old_data_dir}/{rest}"
        changes[path] = data

    files: dict[str, bytes] = {}
    dist_info_files: dict[str, bytes] = {}
    merged = dict(contents)
    for path, change in changes.items():
        if change is not None:
            merged[path] = change
        elif merged.pop(path, None) is None:
            raise BadInputError(
                f"cannot delete {path!r}: the original wheel has no such file.",
                "check the patch against the original wheel's file list",
            )
    for path, data in merged.items():
        top, _, rest = path.partition("/")
        if top == old_dist_info:
            if rest not in _GENERATED_DIST_INFO:
                dist_info_files[rest] = data
        elif top == old_data_dir:
            files[f"{new_data_dir}/{rest}"] = data
        else:
            files[path] = data

    skip = {"metadata-version", "name", "version", "requires-dist", "summary"}
    extra = [(k, str(v)) for k, v in meta.items() if k.lower() not in skip]
    meta_version = str(meta.get("Metadata-Version", "2.1"))
    if Version(meta_version) < Version("2.1"):
        meta_version = "2.1"
    payload = meta.get_payload()
    description = payload if isinstance(payload, str) else ""

    if tag is None:
        tag = _compress_tags(wheel_meta.get_all("Tag") or ["py3-none-any"])
    purelib_text = str(wheel_meta.get("Root-Is-Purelib", "true")).strip().lower()

    return build_wheel(
        name,
        version,
        files,
        requires_dist=requires_dist,
        summary=str(summary if summary is not None else meta.get("Summary", "")),
        tag=tag,
        provenance=provenance,
        extra_metadata=extra,
        dist_info_files=dist_info_files,
        description=description,
        metadata_version=meta_version,
        purelib=purelib_text == "true",
    )
