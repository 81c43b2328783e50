"""Putting wheels into the wheelhouse: built ones (by pip-tfmac) and fetched ones (by pip).

Why the order of steps: every visible wheel must have a recorded sha256, and a run killed at
any moment must leave nothing that a later run would trust. So the index entry is written
first, then the wheel is renamed into place (store.py's rules); a failure removes the entry
again. Both run under the wheel's lock, after removing what a killed writer left.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.fsutil import (
    PART,
    describe_os_error,
    kind_of,
    same_filesystem,
    sha256_file,
    size_of,
)
from pip_tfmac.wheelhouse.names import lock_name, now, redact_url
from pip_tfmac.wheelhouse.provenance import Provenance
from pip_tfmac.wheelhouse.records import Entry

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse

_SPACE_HINT = "free some space, or pass --tfmac-cache-dir DIR / --no-tfmac-cache"


def ensure_built(
    house: Wheelhouse, filename: str, build: Callable[[], bytes], provenance: Provenance
) -> Path:
    """The path of a built wheel: reused when it hashes to its entry, else (re)built."""
    path = house.path_of(filename)
    if house.check(filename) is None:
        return path
    with house.lock(lock_name(filename)):
        house.remove_leftovers(filename)
        problem = house.check(filename)
        if problem is None:  # another run built it while we waited
            return path
        if problem.kind in ("hash-mismatch", "not-indexed", "unreadable", "not-a-file"):
            house.warn(f"wheelhouse: {problem.describe()}; rebuilding it")
            house.problems.append(replace(problem, action="rebuilt"))
            house.remove_path(path)
        data = build()
        entry = Entry(
            filename,
            hashlib.sha256(data).hexdigest(),
            len(data),
            "built",
            provenance,
            "",
            now(),
        )
        # Entry first, then the wheel: every visible wheel has a recorded hash.
        house.update_index(lambda entries: entries.__setitem__(filename, entry))
        try:
            house.write_atomic(path, data)
        except CacheError:
            with contextlib.suppress(CacheError):
                house.update_index(lambda entries: entries.pop(filename, None))
            raise
    return path


def add_fetched(house: Wheelhouse, path: Path, sha256_from_index: str, origin_url: str) -> Path:
    """Move (or copy) a wheel pip downloaded into the wheelhouse, if it hashes as expected.

    `sha256_from_index` is the hash the package index published (pip's report); the file
    is re-hashed here, so a download damaged after pip checked it never gets in.
    """
    filename = Path(path).name
    dest = house.path_of(filename)
    try:
        actual = sha256_file(Path(path))
        size = size_of(Path(path))
    except OSError as exc:
        raise CacheError(
            f"cannot read the download {filename}: {describe_os_error(exc)}", _SPACE_HINT
        ) from None
    if sha256_from_index and actual != sha256_from_index.lower():
        raise CacheError(
            f"{filename} does not match the sha256 the index published "
            f"({actual[:16]}... instead of {sha256_from_index[:16]}...).",
            "download it again; if it keeps happening, the index or a proxy is serving "
            "a different file",
        )
    with house.lock(lock_name(filename)):
        house.remove_leftovers(filename)
        current = house.entries().get(filename)
        if current is not None and current.sha256 == actual and house.check(filename) is None:
            return dest
        if kind_of(dest) not in ("missing", "file"):
            house.remove_path(dest)
        entry = Entry(filename, actual, size, "fetched", None, redact_url(origin_url), now())
        house.update_index(lambda entries: entries.__setitem__(filename, entry))
        source = Path(path)
        if not same_filesystem(source.parent, house.find_links_dir):
            staged = house.incoming_root / f"{filename}.{os.getpid()}{PART}"
            try:
                shutil.copyfile(source, staged)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    staged.unlink()
                raise CacheError(
                    f"cannot copy {filename} into the wheelhouse: {describe_os_error(exc)}",
                    _SPACE_HINT,
                ) from None
            source = staged
        try:
            house.write_atomic(dest, source)
        except CacheError:
            with contextlib.suppress(CacheError):
                house.update_index(lambda entries: entries.pop(filename, None))
            raise
    return dest
