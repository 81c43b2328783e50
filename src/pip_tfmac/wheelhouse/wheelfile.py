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

import csv
import io
import re
import zipfile
from collections.abc import Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from pip_tfmac.errors import BadInputError
from pip_tfmac.wheelhouse.provenance import (
    GENERATOR,
    PROVENANCE_FILE,
    PROVENANCE_FORMAT,
    Origin,
    Provenance,
    provenance_bytes,
    read_wheel_provenance,
)
from pip_tfmac.wheelhouse.wheelnames import (
    compress_tags,
    dist_info_dir,
    expand_tag,
    normalize_version,
    wheel_filename,
    wheel_name_part,
)
from pip_tfmac.wheelhouse.wheelread import (
    WheelSource,
    find_dist_info,
    open_zip,
    parse_headers,
    read_wheel_metadata,
    record_hash,
    verify_record,
)

__all__ = [
    "GENERATOR",
    "PROVENANCE_FILE",
    "PROVENANCE_FORMAT",
    "ZIP_DATE_TIME",
    "Origin",
    "Provenance",
    "WheelSource",
    "build_alias_wheel",
    "build_wheel",
    "dist_info_dir",
    "normalize_version",
    "provenance_bytes",
    "read_wheel_metadata",
    "read_wheel_provenance",
    "record_hash",
    "rewrite_wheel",
    "verify_record",
    "wheel_filename",
    "wheel_name_part",
]

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
    tags = expand_tag(tag)
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
    return wheel_filename(name, version, compress_tags(tags)), _zip_bytes(entries)


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
    with open_zip(original) as zf:
        old_dist_info = find_dist_info(zf)
        old_data_dir = old_dist_info[: -len(".dist-info")] + ".data"
        contents = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    meta = parse_headers(contents[f"{old_dist_info}/METADATA"])
    wheel_meta = parse_headers(contents.get(f"{old_dist_info}/WHEEL", b""))

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
        tag = compress_tags(wheel_meta.get_all("Tag") or ["py3-none-any"])
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
