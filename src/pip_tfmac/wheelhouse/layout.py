"""The wheelhouse's folders: each must be a real folder, never a link out of the cache.

Why: a cache folder replaced by a link (wheels/ -> ~/Documents) would make every operation
read, hash and delete files elsewhere. A damaged folder is reported, never entered, and
repaired by removing the link itself (not its target) and creating a private folder again.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.fsutil import (
    describe_os_error,
    kind_of,
    make_private_dir,
    remove_inside,
    size_of,
)
from pip_tfmac.wheelhouse.index import WHAT
from pip_tfmac.wheelhouse.names import looks_like_wheel
from pip_tfmac.wheelhouse.records import Problem
from pip_tfmac.runners import tempdirs

FOLDERS = ("wheels", "locks", "incoming", "unpacked", "views")


def inspect_layout(root: Path) -> dict[str, str]:
    """Create missing cache folders; return those replaced by something else, and by what."""
    make_private_dir(root)
    damaged = {}
    for name in FOLDERS:
        kind = kind_of(root / name)
        if kind == "missing":
            make_private_dir(root / name)
        elif kind != "dir":
            damaged[name] = WHAT[kind]
    return damaged


def repair_layout(root: Path, damaged: dict[str, str]) -> list[Problem]:
    """Put a private folder back where each damaged one was (the link alone is removed)."""
    done = []
    for name, what in sorted(damaged.items()):
        remove_inside(root / name, root)
        make_private_dir(root / name)
        done.append(Problem(f"{name}/", "damaged-folder", f"was {what}", "repaired"))
    return done


def default_root() -> Path:
    """The per-user cache folder (platformdirs), shared by every environment of the user."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("pip-tfmac", appauthor=False)) / "wheelhouse"


def temporary_root() -> Path:
    """A folder for a one-run wheelhouse (--no-tfmac-cache), removed when the run ends."""
    try:
        root = Path(tempfile.mkdtemp(prefix=tempdirs.prefix("wheelhouse")))
    except OSError as exc:
        raise CacheError(
            f"cannot create a temporary wheelhouse: {describe_os_error(exc)}.",
            "free some space in the temporary folder or set TMPDIR",
        ) from None
    atexit.register(shutil.rmtree, root, True)
    return root


def wheel_files(folder: Path) -> dict[str, int]:
    """Wheel-named entries of a folder -> size (-1: not a regular file); no link followed."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        for item in it:
            if looks_like_wheel(item.name):
                try:
                    out[item.name] = size_of(Path(item.path))
                except OSError:
                    out[item.name] = -1
    return out
