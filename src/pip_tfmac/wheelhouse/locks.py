"""Inter-process locks of the wheelhouse: one file per name under locks/ (filelock).

Why a lock per wheel, tree and download folder: several runs share the cache and any of them
may be killed; the OS releases a dead run's lock, so "the lock is free" is how a later run
tells the leftovers of a killed writer from the work of a live one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.fsutil import FILE_MODE, describe_os_error, kind_of, remove_inside

LOCK_TIMEOUT = 900.0  # seconds; a fetch of TensorFlow over a slow link holds a wheel's lock


class Locks:
    """The named locks of one wheelhouse."""

    def __init__(self, folder: Path, timeout: float = LOCK_TIMEOUT) -> None:
        self.folder = folder
        self.timeout = timeout

    def _file(self, name: str, timeout: float) -> FileLock:
        """The lock of `name`; a lock file replaced by a link (or a folder) is removed first,
        so that opening it never touches (or truncates) a file outside the cache."""
        path = self.folder / f"{name}.lock"
        if kind_of(path) not in ("missing", "file"):
            remove_inside(path, self.folder.parent)
        return FileLock(str(path), timeout=timeout, mode=FILE_MODE)

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold a lock (waiting up to the timeout); a CacheError when it cannot be had."""
        lock = self._file(name, self.timeout)
        try:
            lock.acquire()
        except Timeout:
            raise CacheError(
                f"another pip-tfmac has held the wheelhouse lock {lock.lock_file} for "
                f"{int(self.timeout)} s.",
                "wait for it to finish, or use --no-tfmac-cache for this run",
            ) from None
        except OSError as exc:
            raise CacheError(
                f"cannot lock the wheelhouse {self.folder.parent}: {describe_os_error(exc)}",
                "free some space, or pass --tfmac-cache-dir DIR / --no-tfmac-cache",
            ) from None
        try:
            yield
        finally:
            lock.release()

    def try_hold(self, name: str) -> FileLock | None:
        """The lock, held, when no other process holds it now; else None (never waits)."""
        lock = self._file(name, 0)
        try:
            lock.acquire()
        except (Timeout, OSError):
            return None
        return lock
