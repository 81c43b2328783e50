"""index.json of the wheelhouse: read without a lock, changed under one, written atomically.

Why readers need no lock: the file is only ever replaced by a rename, so a reader sees the old
index or the new one. Why damage costs little: records.parse_index keeps every sound entry,
and an index that is not a file at all (a folder, a link) is never read through and is
replaced by the next write.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.fsutil import (
    PART,
    NotAFile,
    describe_os_error,
    kind_of,
    open_regular,
)
from pip_tfmac.wheelhouse.records import Entry, Problem, index_bytes, parse_index

WHAT = {"link": "a symbolic link", "dir": "a folder", "file": "a file", "other": "a device or pipe"}


class IndexFile:
    """The index of one wheelhouse (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        lock: Callable[[str], contextlib.AbstractContextManager[None]],
        *,
        warn: Callable[[str], None],
        write: Callable[[Path, bytes], None],
        remove: Callable[[Path], None],
        repair_hint: str,
    ) -> None:
        self.path = path
        self.lock = lock
        self.warn = warn
        self.write = write
        self.remove = remove
        self.repair_hint = repair_hint
        self._warned = False

    def problems(self) -> list[Problem]:
        """What is wrong with the file itself or its entries."""
        kind = kind_of(self.path)
        if kind == "missing":
            return []
        if kind != "file":
            return [Problem("index.json", "damaged-index", f"is {WHAT[kind]}, not a file")]
        try:
            return parse_index(self._read())[1]
        except OSError as exc:
            return [Problem("index.json", "damaged-index", describe_os_error(exc))]

    def _read(self) -> str:
        with os.fdopen(open_regular(self.path), "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")

    def entries(self) -> dict[str, Entry]:
        """The sound entries as last written; a warning (once) when some were damaged."""
        kind = kind_of(self.path)
        if kind == "missing":
            return {}
        try:
            if kind != "file":
                raise NotAFile(self.path, WHAT[kind])
            entries, problems = parse_index(self._read())
        except NotAFile:
            entries, problems = {}, self.problems()
        except OSError as exc:
            raise CacheError(
                f"cannot read the wheelhouse index {self.path}: {describe_os_error(exc)}",
                self.repair_hint,
            ) from None
        if problems and not self._warned:
            self._warned = True
            self.warn(
                f"the wheelhouse index {self.path} is damaged ({problems[0].describe()}); "
                "its sound entries are used and the next write starts it anew (unlisted "
                "wheels will be checked, rebuilt or re-fetched)"
            )
        return entries

    def update(self, change: Callable[[dict[str, Entry]], object]) -> None:
        """Change the index under its lock; a damaged index file is replaced, not followed."""
        with self.lock("index"):
            for leftover in self.path.parent.glob(f".{self.path.name}.*{PART}"):
                with contextlib.suppress(OSError):
                    leftover.unlink()  # a writer killed mid-write; we hold the lock now
            entries = self.entries()
            if kind_of(self.path) not in ("missing", "file"):
                self.remove(self.path)
            change(entries)
            self.write(self.path, index_bytes(entries))
