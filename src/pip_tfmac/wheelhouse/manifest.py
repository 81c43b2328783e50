"""The manifest of an unpacked tree: every file it installs, with its sha256, and checks.

Why strict: a manifest is read from the cache, which other processes (or a user's editor) may
have damaged. Anything that is not exactly a manifest (not a JSON object, a path with `..`, a
scheme we do not know, a hash that is not one) raises ValueError, so the tree is rebuilt from
its verified wheel instead of an install crashing or writing outside its folders.
`check_tree` is what `wheelhouse verify` runs on every tree: each file the tree can install,
scripts and data included, is a regular file (no link) that hashes as recorded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pip_tfmac.wheelhouse.fsutil import CHUNK, NotAFile, open_regular

MANIFEST = "tfmac-manifest.json"  # format 2: .pyc entries carry hashes too
MANIFEST_FORMAT = 2
SCHEMES = ("purelib", "platlib", "headers", "data", "scripts")
TREE_NAME = re.compile(r"^[0-9a-f]{40}-[A-Za-z0-9_.-]+$")  # <sha256[:40]>-<cache tag>
_RECORD_HASH = re.compile(r"^sha256=[A-Za-z0-9_-]{43}$")


class DamagedTree(Exception):
    """An unpacked tree whose file does not hash as recorded; the caller removes the tree."""

    def __init__(self, tree: Path, detail: str) -> None:
        super().__init__(f"{tree.name}: {detail}")
        self.tree = tree
        self.detail = detail


@dataclass(frozen=True)
class StoredFile:
    scheme: str
    path: str  # inside the scheme folder, POSIX separators
    hash: str  # "sha256=<urlsafe b64>" as RECORD writes it (RECORD lists .pyc without, as pip)
    size: int
    executable: bool

    def to_json(self) -> list[Any]:
        return [self.scheme, self.path, self.hash, self.size, self.executable]

    @classmethod
    def from_json(cls, data: object) -> StoredFile:
        if not isinstance(data, list) or len(data) != 5:
            raise ValueError("a manifest file entry is not a 5-item list")
        scheme, path, digest, size, executable = data
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}")
        if not isinstance(path, str) or not is_safe_relpath(path):
            raise ValueError(f"unsafe path {path!r}")
        if not isinstance(digest, str) or not _RECORD_HASH.match(digest):
            raise ValueError(f"{path}: not a sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"{path}: not a size")
        return cls(scheme, path, digest, size, bool(executable))


@dataclass(frozen=True)
class Manifest:
    """What an unpacked tree holds and how it installs."""

    name: str
    version: str
    dist_info: str
    root_scheme: str  # purelib or platlib: where dist-info goes, RECORD paths are relative to it
    files: tuple[StoredFile, ...]  # everything except raw scripts
    scripts: tuple[StoredFile, ...]  # .data/scripts, shebangs to be fixed per environment

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "name": self.name,
            "version": self.version,
            "dist_info": self.dist_info,
            "root_scheme": self.root_scheme,
            "files": [f.to_json() for f in self.files],
            "scripts": [f.to_json() for f in self.scripts],
        }

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """A Manifest from its JSON; ValueError for anything else (see the module docstring)."""
        if not isinstance(data, dict):
            raise ValueError("the manifest is not a JSON object")  # noqa: TRY004 (damaged)  # noqa: TRY004 (one error type: damaged)
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError("old or unknown manifest format")
        texts = [data.get(k) for k in ("name", "version", "dist_info", "root_scheme")]
        if not all(isinstance(t, str) and t for t in texts):
            raise ValueError("the manifest lacks its name, version or dist-info")
        name, version, dist_info, root_scheme = (str(t) for t in texts)
        if root_scheme not in ("purelib", "platlib") or not is_safe_relpath(dist_info):
            raise ValueError("the manifest's root scheme or dist-info is not valid")
        files, scripts = data.get("files"), data.get("scripts")
        if not isinstance(files, list) or not isinstance(scripts, list):
            raise ValueError("the manifest's file lists are missing")  # noqa: TRY004 (damaged)
        return cls(
            name,
            version,
            dist_info,
            root_scheme,
            tuple(StoredFile.from_json(f) for f in files),
            tuple(StoredFile.from_json(f) for f in scripts),
        )

    def all_files(self) -> tuple[StoredFile, ...]:
        return self.files + self.scripts


def is_safe_relpath(path: str) -> bool:
    """A relative POSIX path that stays inside its folder (no '..', no absolute path)."""
    parts = path.split("/")
    return (
        bool(path)
        and not path.startswith("/")
        and "\\" not in path
        and all(p not in ("", ".", "..") for p in parts)
    )


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def load_manifest(path: Path) -> Manifest:
    """The manifest at `path` (never through a link); ValueError when it is not one."""
    try:
        fd = open_regular(path)
    except NotAFile as exc:
        raise ValueError(str(exc.strerror)) from None
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read()
    try:
        return Manifest.from_json(json.loads(raw.decode("utf-8")))
    except UnicodeDecodeError:
        raise ValueError("the manifest is not text") from None


def read_checked(tree: Path, stored: StoredFile) -> bytes:
    """The bytes of one tree file, after checking them against the manifest (DamagedTree)."""
    path = tree / stored.scheme / stored.path
    try:
        fd = open_regular(path)
    except NotAFile as exc:
        raise DamagedTree(tree, f"{stored.scheme}/{stored.path}: {exc.strerror}") from None
    except FileNotFoundError:
        raise DamagedTree(tree, f"{stored.scheme}/{stored.path} is missing") from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(stored.size + 1)
    if len(data) != stored.size or record_hash(data) != stored.hash:
        raise DamagedTree(tree, f"{stored.scheme}/{stored.path} does not match its hash")
    return data


def hash_matches(tree: Path, stored: StoredFile) -> str:
    """ "" when a tree file is a regular file hashing as recorded, else why not (no raise)."""
    path = tree / stored.scheme / stored.path
    try:
        fd = open_regular(path)
    except NotAFile as exc:
        return f"{stored.scheme}/{stored.path}: {exc.strerror}"
    except FileNotFoundError:
        return f"{stored.scheme}/{stored.path} is missing"
    except OSError as exc:
        return f"{stored.scheme}/{stored.path}: {exc.strerror}"
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size > stored.size:
                break
    encoded = "sha256=" + base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
    if size != stored.size or encoded != stored.hash:
        return f"{stored.scheme}/{stored.path} does not match its hash"
    return ""


def check_tree(tree: Path) -> list[str]:
    """Why an unpacked tree cannot be trusted (empty: every file it installs is as recorded).

    Files in the tree that its manifest does not list are reported too: nothing installs
    them, but a tree holds exactly what its wheel and the compile step made.
    """
    try:
        manifest = load_manifest(tree / MANIFEST)
    except FileNotFoundError:
        return ["its manifest is missing"]
    except (ValueError, OSError) as exc:
        return [f"its manifest is damaged: {exc}"]
    problems = [p for p in (hash_matches(tree, f) for f in manifest.all_files()) if p]
    listed = {f"{f.scheme}/{f.path}" for f in manifest.all_files()} | {MANIFEST}
    problems += [f"{rel}: not in its manifest" for rel in _tree_entries(tree) if rel not in listed]
    return problems


def _tree_entries(tree: Path) -> Sequence[str]:
    """Every non-folder entry under the tree (links included, never followed)."""
    out = []
    for folder, dirs, files in os.walk(tree):
        base = Path(folder)
        for name in files + [d for d in dirs if os.path.islink(base / d)]:
            out.append((base / name).relative_to(tree).as_posix())
    return sorted(out)
