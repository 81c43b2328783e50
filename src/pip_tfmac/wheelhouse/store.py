"""The wheelhouse: one local folder of wheels pip-tfmac built or fetched, shared by all envs.

Layout under the root (platformdirs user cache / "wheelhouse", or `--tfmac-cache-dir DIR`,
or $PIP_TFMAC_CACHE_DIR; `--no-tfmac-cache` uses a temporary one)::

    wheels/        the folder handed to pip with --find-links: complete, hashed wheels only
    unpacked/      wheels unpacked and compiled per target Python, for fastinstall.py
    index.json     filename -> sha256, size, kind (built/fetched), provenance, origin URL
    locks/         one lock file per wheel, and one for the index
    incoming/      pip downloads land here first (same file system, so moving in is a rename)
    views/         links to wheels/ without other plans' builds, one folder per hidden set (views.py)

Why the rules below: several pip-tfmac runs (CI jobs, a bootstrap script in many shells) share
this folder, any of them may be killed at any moment, and a wheel pip installs must be the one
that was checked.

- Writes are atomic: bytes go to a temp file in the same directory (never a `.whl` name, so pip
  ignores it), fsync, then os.replace. The index is rewritten the same way.
- A wheel is written, and the index changed, only under a file lock (filelock), per wheel for the
  wheel and one for the index; leftovers of a killed writer are removed under the same lock.
- The index entry is written before the wheel is renamed into place, so every visible wheel has
  a recorded sha256; a wheel whose bytes do not hash to it is reported, removed and rebuilt or
  re-fetched, never handed to pip (`prepare()` checks before pip runs).
- Files are created 0o600 and folders 0o700: other users of the machine neither read nor plant
  wheels.
- The cache defends itself (fsutil.py): no file is read through a link, nothing outside the
  root is removed; a cache folder replaced by a link or a file stops normal runs with a
  CacheError until `wheelhouse verify --repair` (checkup.py) or `purge` puts a folder back.

Why not `--cache-dir`/`--no-cache`: pip owns `--cache-dir`, and optparse would read `--no-cache`
as an abbreviation of pip's `--no-cache-dir`; our options carry `tfmac` in their names.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from filelock import FileLock

from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse import adding, checkup, fetch
from pip_tfmac.wheelhouse.fsutil import (
    PART,
    NotAFile,
    describe_os_error,
    kind_of,
    remove_inside,
    sha256_file,
    size_of,
    temp_name,
    write_atomic,
)
from pip_tfmac.wheelhouse.index import WHAT, IndexFile
from pip_tfmac.wheelhouse.layout import (
    FOLDERS,
    default_root,
    inspect_layout,
    repair_layout,
    temporary_root,
    wheel_files,
)
from pip_tfmac.wheelhouse.locks import LOCK_TIMEOUT, Locks
from pip_tfmac.wheelhouse.names import (
    check_filename,
    glob_escape,
    lock_name,
    redact_url,
)
from pip_tfmac.wheelhouse.provenance import Provenance
from pip_tfmac.wheelhouse.records import Entry, Problem

__all__ = [
    "ENV_VAR",
    "FOLDERS",
    "LOCK_TIMEOUT",
    "Entry",
    "Problem",
    "Wheelhouse",
    "default_root",
    "redact_url",
    "sha256_file",
]

ENV_VAR = "PIP_TFMAC_CACHE_DIR"
REPAIR_HINT = "run `pip-tfmac wheelhouse verify --repair` (or `pip-tfmac wheelhouse purge`)"
_SPACE_HINT = "free some space, or pass --tfmac-cache-dir DIR / --no-tfmac-cache"


def _warn(message: str) -> None:
    print(f"pip-tfmac: warning: {message}", file=sys.stderr)


class Wheelhouse:
    """The wheel cache; see the module docstring for its layout and rules.

    `maintenance=True` (the `wheelhouse` commands) opens a damaged cache so that it can be
    inspected and repaired; a normal run refuses one with a CacheError naming the remedy.
    """

    def __init__(
        self,
        root: Path,
        *,
        temporary: bool = False,
        warn: Callable[[str], None] = _warn,
        maintenance: bool = False,
    ) -> None:
        self.root = Path(root)
        self.temporary = temporary
        self.warn = warn
        self.problems: list[Problem] = []  # found (and repaired) while this object was used
        self.damaged_folders: dict[str, str] = {}  # cache folder -> what is there instead
        self.locks = Locks(self.root / "locks")
        self.index = IndexFile(
            self.root / "index.json",
            self.lock,
            warn=warn,
            write=self.write_atomic,
            remove=self.remove_path,
            repair_hint=REPAIR_HINT,
        )
        self._setup(maintenance)

    # ------------------------------------------------------------------ opening

    @classmethod
    def from_options(
        cls,
        cache_dir: str | None,
        no_cache: bool,
        *,
        warn: Callable[[str], None] = _warn,
        maintenance: bool = False,
    ) -> Wheelhouse:
        """The wheelhouse the options ask for.

        An explicit folder (option or $PIP_TFMAC_CACHE_DIR) that cannot be used is an error:
        the user asked for that folder. The default folder falling over (read-only home, full
        disk) is a warning, and a temporary wheelhouse is used for this run.
        """
        if no_cache:
            return cls.temporary_wheelhouse(warn=warn)
        explicit = cache_dir or os.environ.get(ENV_VAR) or None
        root = Path(explicit).expanduser() if explicit else default_root()
        try:
            return cls(root, warn=warn, maintenance=maintenance)
        except CacheError as exc:
            if explicit or maintenance:
                raise
            warn(f"{exc.message}; using a temporary wheelhouse for this run")
            return cls.temporary_wheelhouse(warn=warn)

    @classmethod
    def temporary_wheelhouse(cls, *, warn: Callable[[str], None] = _warn) -> Wheelhouse:
        root = temporary_root()
        return cls(root, temporary=True, warn=warn)

    def _setup(self, maintenance: bool) -> None:
        try:
            self.damaged_folders = inspect_layout(self.root)
            if self.damaged_folders and not maintenance:
                raise CacheError(
                    f"the wheelhouse {self.root} is damaged: {self.describe_damage()}; "
                    "it is not used as it is (nothing is followed out of it).",
                    REPAIR_HINT,
                )
            if "locks" not in self.damaged_folders:
                with self.lock("index"):  # proves we can create files here, as writes will
                    pass
        except OSError as exc:
            raise CacheError(
                f"the wheelhouse {self.root} cannot be used: {describe_os_error(exc)}",
                "pass --tfmac-cache-dir DIR (or set PIP_TFMAC_CACHE_DIR) to a writable folder, "
                "or --no-tfmac-cache for a temporary one",
            ) from None

    def describe_damage(self) -> str:
        return ", ".join(f"{name}/ is {what}" for name, what in self.damaged_folders.items())

    def folder_ok(self, name: str) -> bool:
        """Whether a cache folder is a real folder (not a link out of the cache)."""
        return name not in self.damaged_folders

    def repair_folders(self) -> list[Problem]:
        """Put a real folder where a cache folder was replaced (layout.repair_layout)."""
        try:
            done = repair_layout(self.root, self.damaged_folders)
        except OSError as exc:
            raise CacheError(
                f"cannot repair the wheelhouse {self.root}: {describe_os_error(exc)}",
                "fix the folder's permissions, or remove the wheelhouse folder by hand",
            ) from None
        self.damaged_folders.clear()
        return done

    # ------------------------------------------------------------------ paths

    @property
    def find_links_dir(self) -> Path:
        """The folder to pass to pip with --find-links (complete, hash-recorded wheels only)."""
        return self.root / "wheels"

    @property
    def unpacked_dir(self) -> Path:
        """Unpacked trees of verified wheels, per target Python (see unpacked.py)."""
        return self.root / "unpacked"

    @property
    def views_dir(self) -> Path:
        """Folders of links to wheels/ without other plans' builds (views.py)."""
        return self.root / "views"

    @property
    def index_path(self) -> Path:
        return self.index.path

    @property
    def incoming_root(self) -> Path:
        return self.root / "incoming"

    def path_of(self, filename: str) -> Path:
        check_filename(filename)
        return self.find_links_dir / filename

    def wheel_files(self) -> dict[str, int]:
        """Wheel-named entries of wheels/ -> size (-1: not a regular file); no link followed."""
        return wheel_files(self.find_links_dir) if self.folder_ok("wheels") else {}

    # ------------------------------------------------------------------ locking and index

    def lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A named inter-process lock in this wheelhouse (a file under locks/, never a link)."""
        if not self.folder_ok("locks"):
            raise CacheError(f"the wheelhouse is damaged: {self.describe_damage()}.", REPAIR_HINT)
        return self.locks.hold(name)

    def try_lock(self, name: str) -> FileLock | None:
        return self.locks.try_hold(name) if self.folder_ok("locks") else None

    def entries(self) -> dict[str, Entry]:
        """The sound entries of the index (see index.py)."""
        return self.index.entries()

    def index_problems(self) -> list[Problem]:
        return self.index.problems()

    def update_index(self, change: Callable[[dict[str, Entry]], object]) -> None:
        self.index.update(change)

    def write_atomic(self, dest: Path, data: bytes | Path) -> None:
        """Write bytes (or move a file on this file system) to dest: temp + fsync + rename."""
        try:
            write_atomic(dest, data, temp_name(dest))
        except OSError as exc:
            raise CacheError(
                f"cannot write {dest.name} into the wheelhouse {self.root}: "
                f"{describe_os_error(exc)}",
                _SPACE_HINT,
            ) from None

    def remove_path(self, path: Path) -> None:
        """Remove a file, link or folder of the cache (never outside it) or raise CacheError."""
        try:
            remove_inside(path, self.root)
        except OSError as exc:
            raise CacheError(
                f"cannot remove {path} from the wheelhouse: {describe_os_error(exc)}",
                "fix the folder's permissions, or remove the wheelhouse folder by hand",
            ) from None

    def remove_leftovers(self, filename: str) -> None:
        """Temp files of a writer that was killed (call with that wheel's lock held)."""
        for path in self.find_links_dir.glob(f".{glob_escape(filename)}.*{PART}"):
            with contextlib.suppress(OSError):
                remove_inside(path, self.root)

    # ------------------------------------------------------------------ checking

    def check(self, filename: str, entry: Entry | None = None) -> Problem | None:
        """None when the wheel is a regular file that hashes to its index entry."""
        path = self.path_of(filename)
        if not self.folder_ok("wheels"):
            return Problem(filename, "unreadable", f"wheels/ is {self.damaged_folders['wheels']}")
        entry = entry if entry is not None else self.entries().get(filename)
        kind = kind_of(path)
        if kind not in ("missing", "file"):
            return Problem(filename, "not-a-file", f"is {WHAT[kind]} named like a wheel")
        if entry is None:
            if kind != "missing":
                return Problem(filename, "not-indexed", "no sha256 recorded for this wheel")
            return Problem(filename, "missing", "not in the wheelhouse")
        try:
            size = size_of(path)
            if entry.size and size != entry.size:
                return Problem(
                    filename, "hash-mismatch", f"size is {size} bytes, expected {entry.size}"
                )
            actual = sha256_file(path)
        except FileNotFoundError:
            return Problem(filename, "missing", "listed in the index but the file is gone")
        except NotAFile as exc:
            return Problem(filename, "not-a-file", str(exc.strerror))
        except OSError as exc:
            return Problem(filename, "unreadable", describe_os_error(exc))
        if actual != entry.sha256:
            return Problem(
                filename,
                "hash-mismatch",
                f"sha256 is {actual[:16]}..., expected {entry.sha256[:16]}...",
            )
        return None

    def discard(self, problem: Problem) -> Problem:
        """Remove a bad wheel, its entry and its trees (wheel lock held by the caller)."""
        entry = self.entries().get(problem.filename)
        self.remove_path(self.path_of(problem.filename))
        if entry is not None:
            checkup.remove_trees_of(self, entry.sha256)
        self.update_index(lambda entries: entries.pop(problem.filename, None))
        done = replace(problem, action="removed" if problem.kind != "missing" else "forgotten")
        self.problems.append(done)
        return done

    def verify(self, *, repair: bool = True, repair_all: bool = False) -> list[Problem]:
        """Check all of the cache (checkup.py); `repair` removes bad wheels and leftovers,
        `repair_all` repairs the rest too."""
        return checkup.verify_house(self, repair=repair, repair_all=repair_all)

    def prepare(self, filenames: Sequence[str] | None = None) -> Path:
        """Check wheels before pip sees them: the named ones, or all; return find_links_dir.

        Bad wheels are reported (warning), removed, and so never handed to pip.
        """
        if filenames is None:
            problems = self.verify(repair=True)
        else:
            problems = []
            for name in filenames:
                if self.check(name) is not None:
                    with self.lock(lock_name(name)):
                        again = self.check(name)
                        if again is not None:
                            problems.append(self.discard(again))
        for problem in problems:
            if problem.kind != "leftover":
                self.warn(f"wheelhouse: {problem.describe()}")
        return self.find_links_dir

    # ------------------------------------------------------------------ adding

    def ensure_built(
        self, filename: str, build: Callable[[], bytes], provenance: Provenance
    ) -> Path:
        """The path of a built wheel: reused when it hashes to its entry, else (re)built."""
        return adding.ensure_built(self, filename, build, provenance)

    def add_fetched(self, path: Path, sha256_from_index: str, origin_url: str) -> Path:
        """Move a wheel pip downloaded into the wheelhouse if it hashes as the index says."""
        return adding.add_fetched(self, path, sha256_from_index, origin_url)

    # ------------------------------------------------------------------ removing, exporting

    def remove(self, pattern: str) -> list[str]:
        """Remove wheels whose file name matches a glob pattern (or a project name)."""
        return checkup.remove_matching(self, pattern)

    def purge(self) -> int:
        """Remove every wheel, tree and leftover, and repair what is damaged; return how many
        wheels were removed. Works on any damaged cache this user can write."""
        return len(checkup.purge_house(self))

    def export(self, filenames: Sequence[str], dest: Path) -> list[Path]:
        """Copy checked wheels into `dest` (for `pip-tfmac download -d DIR`)."""
        return fetch.export_wheels(self, filenames, dest)

    def fetch_wheels(
        self,
        requirements_file: Path,
        pip_args: Sequence[str],
        python: str,
        *,
        general: Sequence[str] = (),
    ) -> list[Path]:
        """See fetch.fetch_wheels."""
        return fetch.fetch_wheels(self, requirements_file, pip_args, python, general=general)

    def total_size(self) -> int:
        return sum(size for size in self.wheel_files().values() if size > 0)

    def incoming_dir(self) -> contextlib.AbstractContextManager[Path]:
        """A private folder for pip to download into (fetch.incoming_dir)."""
        return fetch.incoming_dir(self)
