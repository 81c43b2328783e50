"""File-system primitives of the wheelhouse: hashing, atomic writes, removal, all link-safe.

Why a module of its own: every rule that keeps the cache trustworthy is enforced here once,
and the store, the unpacked trees and `verify` all go through it:

- nothing is read through a symbolic link, and only regular files are read: a link to
  /dev/zero named like a wheel must not make a hash run forever, and a link to a file
  elsewhere must not make that file look like a cached wheel;
- nothing is removed outside the folder it was asked to clean: a link is removed as a link
  (never its target), a folder is removed without following the links inside it;
- writes are atomic (temp file in the same folder, fsync, rename), temp names end in `.part`
  so pip's --find-links never picks them up.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import shutil
import stat
import time
from pathlib import Path

CHUNK = 1 << 20
DIR_MODE = 0o700
FILE_MODE = 0o600
PART = ".part"  # suffix of temp files: never a name pip's --find-links picks up


class NotAFile(OSError):
    """The path exists but is not a regular file (a link, a folder, a device, a pipe)."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(errno.EINVAL, f"{path.name} is {what}, not a regular file")
        self.what = what


def describe_os_error(exc: OSError) -> str:
    """The cause of an OSError in words a user can act on (the errno, not a traceback)."""
    if isinstance(exc, NotAFile):
        return str(exc.strerror)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk (or quota) is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if exc.errno == errno.ELOOP:
        return "a symbolic link where a file was expected"
    return exc.strerror or str(exc)


def kind_of(path: Path) -> str:
    """What is at `path`, without following a link: "missing", "file", "dir", "link", "other"."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


_WHAT = {"link": "a symbolic link", "dir": "a folder", "other": "a device or pipe"}


def open_regular(path: Path) -> int:
    """A read-only descriptor of a regular file; NotAFile for anything else, links included.

    O_NOFOLLOW refuses a link; O_NONBLOCK keeps the open of a FIFO from waiting for a writer;
    the fstat after the open (not a stat before it) is what decides, so there is no race.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotAFile(path, "a symbolic link") from None
        if exc.errno == errno.EISDIR:
            raise NotAFile(path, "a folder") from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotAFile(path, "a folder" if stat.S_ISDIR(mode) else "a device or pipe")
    return fd


def sha256_file(path: Path) -> str:
    """The sha256 of a regular file (never through a link; see open_regular)."""
    digest = hashlib.sha256()
    fd = open_regular(Path(path))
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def size_of(path: Path) -> int:
    """The size of a regular file, without following a link; NotAFile otherwise."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotAFile(path, _WHAT.get(kind_of(path), "not a file"))
    return st.st_size


def is_inside(path: Path, root: Path) -> bool:
    """Whether `path` (not resolved: its own name is kept) lies inside `root` (resolved)."""
    parent = os.path.realpath(path.parent)
    base = os.path.realpath(root)
    return os.path.commonpath([parent, base]) == base


def remove_inside(path: Path, root: Path) -> bool:
    """Remove a file, link or folder that lies inside `root`; True when something was removed.

    A link is unlinked (its target is left alone); a folder is removed by shutil.rmtree, which
    never follows the links inside it. A path whose parent resolves outside `root` (a cache
    folder replaced by a link) is refused: nothing outside the cache is ever deleted.
    """
    if not is_inside(path, root):
        raise OSError(errno.EXDEV, f"{path} is outside the wheelhouse; not removed")
    kind = kind_of(path)
    if kind == "missing":
        return False
    if kind == "dir":
        shutil.rmtree(path)
    else:
        os.unlink(path)
    return True


def tree_size(path: Path) -> int:
    """Bytes of the regular files under `path` (links not followed, errors skipped)."""
    kind = kind_of(path)
    if kind == "file":
        return os.lstat(path).st_size
    if kind != "dir":
        return 0
    total = 0
    for folder, _dirs, files in os.walk(path):  # os.walk does not follow links by default
        for name in files:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(folder, name))
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
    return total


def make_private_dir(folder: Path) -> None:
    """Create a folder only this user can read (mkdir's mode is filtered by the umask)."""
    if kind_of(folder) == "dir":
        return
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(folder, DIR_MODE)


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every OS / file system
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def same_filesystem(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


_counter = itertools.count(1)


def temp_name(dest: Path) -> Path:
    """A hidden temp name next to `dest`, unique per writer and write, ending in `.part`."""
    tag = f"{os.getpid()}.{time.monotonic_ns()}.{next(_counter)}"
    return dest.with_name(f".{dest.name}.{tag}{PART}")


def write_atomic(dest: Path, data: bytes | Path, tmp: Path) -> None:
    """Write bytes (or move a file of this file system) to dest via `tmp`: fsync, rename.

    Raises OSError; the temp file is removed on failure, so a full disk leaves nothing behind.
    """
    try:
        if isinstance(data, Path):
            os.replace(data, tmp)
            os.chmod(tmp, FILE_MODE)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
