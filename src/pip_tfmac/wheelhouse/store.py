"""The wheelhouse: one local folder of wheels pip-tfmac built or fetched, shared by all envs.

Layout under the root (platformdirs user cache / "wheelhouse", or `--tfmac-cache-dir DIR`,
or $PIP_TFMAC_CACHE_DIR; `--no-tfmac-cache` uses a temporary one)::

    wheels/        the folder handed to pip with --find-links: complete, hashed wheels only
    unpacked/      wheels unpacked and compiled per target Python, for fastinstall.py
    index.json     filename -> sha256, size, kind (built/fetched), provenance, origin URL
    locks/         one lock file per wheel, and one for the index
    incoming/      pip downloads land here first (same file system, so moving in is a rename)

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

Why not `--cache-dir`/`--no-cache`: pip owns `--cache-dir`, and optparse would read `--no-cache`
as an abbreviation of pip's `--no-cache-dir`; our options carry `tfmac` in their names.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from filelock import FileLock, Timeout

from pip_tfmac.errors import CacheError
from pip_tfmac.wheelhouse.wheelfile import Provenance

INDEX_FORMAT = 1
ENV_VAR = "PIP_TFMAC_CACHE_DIR"
LOCK_TIMEOUT = 900.0  # seconds; a fetch of TensorFlow over a slow link holds a wheel's lock
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_PART = ".part"  # suffix of temp files: never a name pip's --find-links picks up
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def redact_url(url: str) -> str:
    """The URL without user:password (private indexes): the index must hold no secrets."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


@dataclass(frozen=True)
class Entry:
    """One wheel in the wheelhouse, as the index records it."""

    filename: str
    sha256: str
    size: int
    kind: str  # "built" (by pip-tfmac, with provenance) or "fetched" (by pip, from an index)
    provenance: Provenance | None = None
    origin_url: str = ""
    added: str = ""  # UTC, ISO 8601

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "kind": self.kind,
            "provenance": self.provenance.to_json() if self.provenance else None,
            "origin_url": self.origin_url,
            "added": self.added,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        prov = data.get("provenance")
        return cls(
            filename=str(data["filename"]),
            sha256=str(data["sha256"]),
            size=int(data.get("size", 0)),
            kind=str(data.get("kind", "")),
            provenance=Provenance.from_json(prov) if isinstance(prov, Mapping) else None,
            origin_url=str(data.get("origin_url", "")),
            added=str(data.get("added", "")),
        )


@dataclass(frozen=True)
class Problem:
    """Something `verify` found wrong with a wheel, and what was done about it."""

    filename: str
    kind: str  # "hash-mismatch", "missing", "not-indexed", "unreadable", "leftover"
    detail: str
    action: str = ""  # "removed", "forgotten", "" (reported only)

    def to_json(self) -> dict[str, str]:
        return {
            "filename": self.filename,
            "kind": self.kind,
            "detail": self.detail,
            "action": self.action,
        }

    def describe(self) -> str:
        text = f"{self.filename}: {self.detail}"
        return text + (f" ({self.action})" if self.action else "")


def _warn(message: str) -> None:
    print(f"pip-tfmac: warning: {message}", file=sys.stderr)


def default_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("pip-tfmac", appauthor=False)) / "wheelhouse"


def _describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return "the disk (or quota) is full"
    if exc.errno in (errno.EROFS,):
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    return exc.strerror or str(exc)


class Wheelhouse:
    """The wheel cache; see the module docstring for its layout and rules."""

    def __init__(
        self, root: Path, *, temporary: bool = False, warn: Callable[[str], None] = _warn
    ) -> None:
        self.root = Path(root)
        self.temporary = temporary
        self.warn = warn
        self.problems: list[Problem] = []  # found (and repaired) while this object was used
        self._setup()

    # ------------------------------------------------------------------ opening

    @classmethod
    def from_options(
        cls, cache_dir: str | None, no_cache: bool, *, warn: Callable[[str], None] = _warn
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
            return cls(root, warn=warn)
        except CacheError as exc:
            if explicit:
                raise
            warn(f"{exc.message}; using a temporary wheelhouse for this run")
            return cls.temporary_wheelhouse(warn=warn)

    @classmethod
    def temporary_wheelhouse(cls, *, warn: Callable[[str], None] = _warn) -> Wheelhouse:
        import atexit

        try:
            root = Path(tempfile.mkdtemp(prefix="pip-tfmac-wheelhouse-"))
        except OSError as exc:
            raise CacheError(
                f"cannot create a temporary wheelhouse: {_describe_os_error(exc)}.",
                "free some space in the temporary folder or set TMPDIR",
            ) from None
        atexit.register(shutil.rmtree, root, True)
        return cls(root, temporary=True, warn=warn)

    def _setup(self) -> None:
        try:
            for folder in (self.root, self.find_links_dir, self._locks, self._incoming):
                _make_private_dir(folder)
            # Prove we can create files here, the way every write will.
            with self.lock("index"):
                pass
        except OSError as exc:
            raise CacheError(
                f"the wheelhouse {self.root} cannot be used: {_describe_os_error(exc)}",
                "pass --tfmac-cache-dir DIR (or set PIP_TFMAC_CACHE_DIR) to a writable folder, "
                "or --no-tfmac-cache for a temporary one",
            ) from None

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
    def index_path(self) -> Path:
        return self.root / "index.json"

    @property
    def _locks(self) -> Path:
        return self.root / "locks"

    @property
    def _incoming(self) -> Path:
        return self.root / "incoming"

    def path_of(self, filename: str) -> Path:
        _check_filename(filename)
        return self.find_links_dir / filename

    # ------------------------------------------------------------------ locking and index

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """A named inter-process lock in this wheelhouse (a file under locks/)."""
        lock = FileLock(str(self._locks / f"{name}.lock"), timeout=LOCK_TIMEOUT, mode=_FILE_MODE)
        try:
            with lock:
                yield
        except Timeout:
            raise CacheError(
                f"another pip-tfmac has held the wheelhouse lock {lock.lock_file} for "
                f"{int(LOCK_TIMEOUT)} s.",
                "wait for it to finish, or use --no-tfmac-cache for this run",
            ) from None

    def entries(self) -> dict[str, Entry]:
        """The index as last written (readers need no lock: it is replaced atomically)."""
        try:
            text = self.index_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CacheError(
                f"cannot read the wheelhouse index {self.index_path}: {_describe_os_error(exc)}",
                "fix its permissions or run `pip-tfmac wheelhouse purge`",
            ) from None
        try:
            data = json.loads(text)
            return {name: Entry.from_json(e) for name, e in data["entries"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            self.warn(
                f"the wheelhouse index {self.index_path} is damaged; starting a new one "
                "(unlisted wheels will be checked, rebuilt or re-fetched)"
            )
            return {}

    def _update_index(self, change: Callable[[dict[str, Entry]], object]) -> None:
        with self.lock("index"):
            for leftover in self.root.glob(f".{self.index_path.name}.*{_PART}"):
                with contextlib.suppress(OSError):
                    leftover.unlink()  # a writer killed mid-write; we hold the lock now
            entries = self.entries()
            change(entries)
            payload = {
                "format": INDEX_FORMAT,
                "entries": {name: entries[name].to_json() for name in sorted(entries)},
            }
            data = (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode("utf-8")
            self._write_atomic(self.index_path, data)

    def _write_atomic(self, dest: Path, data: bytes | Path) -> None:
        """Write bytes (or move a file on this file system) to dest: temp + fsync + rename."""
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{time.monotonic_ns()}{_PART}")
        try:
            if isinstance(data, Path):
                os.replace(data, tmp)
                os.chmod(tmp, _FILE_MODE)
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
                try:
                    view = memoryview(data)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise CacheError(
                f"cannot write {dest.name} into the wheelhouse {self.root}: "
                f"{_describe_os_error(exc)}",
                "free some space, or pass --tfmac-cache-dir DIR / --no-tfmac-cache",
            ) from None

    def _remove_leftovers(self, filename: str) -> None:
        """Temp files of a writer that was killed (call with that wheel's lock held)."""
        for path in self.find_links_dir.glob(f".{glob_escape(filename)}.*{_PART}"):
            with contextlib.suppress(OSError):
                path.unlink()

    # ------------------------------------------------------------------ checking

    def check(self, filename: str, entry: Entry | None = None) -> Problem | None:
        """None when the wheel is present and hashes to its index entry."""
        path = self.path_of(filename)
        entry = entry if entry is not None else self.entries().get(filename)
        if entry is None:
            if path.exists():
                return Problem(filename, "not-indexed", "no sha256 recorded for this wheel")
            return Problem(filename, "missing", "not in the wheelhouse")
        try:
            actual = sha256_file(path)
        except FileNotFoundError:
            return Problem(filename, "missing", "listed in the index but the file is gone")
        except OSError as exc:
            return Problem(filename, "unreadable", _describe_os_error(exc))
        if actual != entry.sha256:
            return Problem(
                filename,
                "hash-mismatch",
                f"sha256 is {actual[:16]}..., expected {entry.sha256[:16]}...",
            )
        return None

    def _discard(self, problem: Problem) -> Problem:
        """Remove a bad wheel and its entry (wheel lock held by the caller)."""
        with contextlib.suppress(FileNotFoundError):
            self.path_of(problem.filename).unlink()
        self._update_index(lambda entries: entries.pop(problem.filename, None))
        done = replace(problem, action="removed" if problem.kind != "missing" else "forgotten")
        self.problems.append(done)
        return done

    def verify(self, *, repair: bool = True, jobs: int = 4) -> list[Problem]:
        """Re-hash every wheel against the index; with `repair`, remove what fails.

        Missing files and wheels without an index entry are reported too; leftovers of killed
        writers (temp files) are cleaned up.
        """
        entries = self.entries()
        names = set(entries)
        names.update(p.name for p in self.find_links_dir.glob("*.whl"))
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # hashlib releases the GIL
            found = [
                p
                for p in pool.map(lambda n: self.check(n, entries.get(n)), sorted(names))
                if p is not None
            ]
        if not repair:
            return found
        result = []
        for problem in found:
            with self.lock(_lock_name(problem.filename)):
                again = self.check(problem.filename)  # another run may have fixed it meanwhile
                if again is not None:
                    result.append(self._discard(again))
        for leftover in self.find_links_dir.glob(f".*{_PART}"):
            # Only files whose writer is gone: their lock is free.
            filename = leftover.name[1:].split(".whl.", 1)[0] + ".whl"
            if _looks_like_wheel(filename):
                with self.lock(_lock_name(filename)):
                    if leftover.exists():
                        with contextlib.suppress(OSError):
                            leftover.unlink()
                        result.append(
                            Problem(
                                filename, "leftover", "temp file of an interrupted write", "removed"
                            )
                        )
        return result

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
                    with self.lock(_lock_name(name)):
                        again = self.check(name)
                        if again is not None:
                            problems.append(self._discard(again))
        for problem in problems:
            if problem.kind != "leftover":
                self.warn(f"wheelhouse: {problem.describe()}")
        return self.find_links_dir

    # ------------------------------------------------------------------ adding

    def ensure_built(
        self, filename: str, build: Callable[[], bytes], provenance: Provenance
    ) -> Path:
        """The path of a built wheel: reused when it hashes to its entry, else (re)built."""
        path = self.path_of(filename)
        if self.check(filename) is None:
            return path
        with self.lock(_lock_name(filename)):
            self._remove_leftovers(filename)
            problem = self.check(filename)
            if problem is None:  # another run built it while we waited
                return path
            if problem.kind in ("hash-mismatch", "not-indexed", "unreadable"):
                self.warn(f"wheelhouse: {problem.describe()}; rebuilding it")
                self.problems.append(replace(problem, action="rebuilt"))
            data = build()
            entry = Entry(
                filename,
                hashlib.sha256(data).hexdigest(),
                len(data),
                "built",
                provenance,
                "",
                _now(),
            )
            # Entry first, then the wheel: every visible wheel has a recorded hash.
            self._update_index(lambda entries: entries.__setitem__(filename, entry))
            try:
                self._write_atomic(path, data)
            except CacheError:
                with contextlib.suppress(CacheError):
                    self._update_index(lambda entries: entries.pop(filename, None))
                raise
        return path

    def add_fetched(self, path: Path, sha256_from_index: str, origin_url: str) -> Path:
        """Move (or copy) a wheel pip downloaded into the wheelhouse, if it hashes as expected.

        `sha256_from_index` is the hash the package index published (pip's report); the file
        is re-hashed here, so a download damaged after pip checked it never gets in.
        """
        filename = Path(path).name
        dest = self.path_of(filename)
        actual = sha256_file(Path(path))
        if sha256_from_index and actual != sha256_from_index.lower():
            raise CacheError(
                f"{filename} does not match the sha256 the index published "
                f"({actual[:16]}... instead of {sha256_from_index[:16]}...).",
                "download it again; if it keeps happening, the index or a proxy is serving "
                "a different file",
            )
        with self.lock(_lock_name(filename)):
            self._remove_leftovers(filename)
            current = self.entries().get(filename)
            if current is not None and current.sha256 == actual and self.check(filename) is None:
                return dest
            entry = Entry(
                filename,
                actual,
                Path(path).stat().st_size,
                "fetched",
                None,
                redact_url(origin_url),
                _now(),
            )
            self._update_index(lambda entries: entries.__setitem__(filename, entry))
            source = Path(path)
            if not _same_filesystem(source.parent, self.find_links_dir):
                staged = self._incoming / f"{filename}.{os.getpid()}{_PART}"
                try:
                    shutil.copyfile(source, staged)
                except OSError as exc:
                    with contextlib.suppress(OSError):
                        staged.unlink()
                    raise CacheError(
                        f"cannot copy {filename} into the wheelhouse: {_describe_os_error(exc)}",
                        "free some space, or pass --tfmac-cache-dir DIR / --no-tfmac-cache",
                    ) from None
                source = staged
            try:
                self._write_atomic(dest, source)
            except CacheError:
                with contextlib.suppress(CacheError):
                    self._update_index(lambda entries: entries.pop(filename, None))
                raise
        return dest

    # ------------------------------------------------------------------ removing, exporting

    def remove(self, pattern: str) -> list[str]:
        """Remove wheels whose file name matches a glob pattern (or a project name)."""
        entries = self.entries()
        names = set(entries) | {p.name for p in self.find_links_dir.glob("*.whl")}
        matched = sorted(n for n in names if _matches(n, pattern))
        for name in matched:
            with self.lock(_lock_name(name)):
                with contextlib.suppress(FileNotFoundError):
                    self.path_of(name).unlink()
                if name in entries and self.unpacked_dir.is_dir():
                    # Its unpacked trees (one per Python) go with it.
                    for tree in self.unpacked_dir.glob(f"{entries[name].sha256[:40]}-*"):
                        shutil.rmtree(tree, ignore_errors=True)
                self._update_index(lambda e: e.pop(name, None))  # noqa: B023 (called now)
        return matched

    def purge(self) -> int:
        """Remove every wheel; return how many."""
        return len(self.remove("*"))

    def export(self, filenames: Sequence[str], dest: Path) -> list[Path]:
        """Copy checked wheels into `dest` (for `pip-tfmac download -d DIR`)."""
        dest.mkdir(parents=True, exist_ok=True)
        out = []
        for name in filenames:
            problem = self.check(name)
            if problem is not None:
                raise CacheError(
                    f"wheelhouse: {problem.describe()}",
                    "run the command again to rebuild or re-fetch it",
                )
            target = dest / name
            shutil.copyfile(self.path_of(name), target)
            out.append(target)
        return out

    def fetch_wheels(
        self,
        requirements_file: Path,
        pip_args: Sequence[str],
        python: str,
        *,
        general: Sequence[str] = (),
    ) -> list[Path]:
        """See the module-level fetch_wheels."""
        return fetch_wheels(self, requirements_file, pip_args, python, general=general)

    def total_size(self) -> int:
        return sum(p.stat().st_size for p in self.find_links_dir.glob("*.whl"))

    @contextlib.contextmanager
    def incoming_dir(self) -> Iterator[Path]:
        """A private folder on the wheelhouse's file system for pip to download into."""
        folder = Path(tempfile.mkdtemp(prefix="dl-", dir=self._incoming))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------- fetching

_CROSS_OPTIONS = ("--platform", "--python-version", "--abi", "--implementation")


def fetch_wheels(
    wheelhouse: Wheelhouse,
    requirements_file: Path,
    pip_args: Sequence[str],
    python: str,
    *,
    general: Sequence[str] = (),
) -> list[Path]:
    """Fetch the wheels of a pinned plan into the wheelhouse, through pip; return their paths.

    pip does all network access (so pip.conf, private indexes, proxies, certificates and
    keyring keep working): one `pip install --dry-run --ignore-installed --report` says which
    files the plan needs and the sha256 the index publishes for each; `pip download --no-deps`
    with those hashes (`--require-hashes`) fetches what the wheelhouse lacks, and pip refuses a
    file that does not match. `pip_args` are install/download options (index URLs,
    `--platform`/`--python-version` for another target, -c constraints); `general` are pip's
    general options.
    """
    from urllib.parse import unquote

    from pip_tfmac.runners import pip as pip_runner

    with tempfile.TemporaryDirectory(prefix="pip-tfmac-fetch-") as work:
        argv = pip_runner.base_argv(python, general) + [
            "install",
            "--dry-run",
            "--ignore-installed",
            "--only-binary=:all:",
            "--quiet",
            "-r",
            str(requirements_file),
            *pip_args,
        ]
        if any(a.split("=", 1)[0] in _CROSS_OPTIONS for a in pip_args):
            argv += ["--target", os.path.join(work, "scratch-target")]
        result = pip_runner.run_with_report(argv)
        if not result.ok:
            raise CacheError(
                "pip could not resolve the wheels to fetch into the wheelhouse.",
                "run the same request with `pip-tfmac plan` to see why",
                details=result.summary(),
            )
        entries = wheelhouse.entries()
        wanted: list[tuple[str, str, str]] = []  # filename, sha256 (may be ""), url
        paths: list[Path] = []
        for item in result.resolved():
            filename = unquote(item.filename)
            if not filename.endswith(".whl"):
                continue
            entry = entries.get(filename)
            sha = (item.sha256 or "").lower()
            if (
                entry is not None
                and (not sha or entry.sha256 == sha)
                and wheelhouse.check(filename, entry) is None
            ):
                paths.append(wheelhouse.path_of(filename))
                continue
            wanted.append((filename, sha, item.url))
        if not wanted:
            return paths
        by_name = {name: (sha, url) for name, sha, url in wanted}
        hashed = [(n, s) for n, s, _ in wanted if s]
        unhashed = [n for n, s, _ in wanted if not s]
        items = {unquote(i.filename): i for i in result.resolved()}
        with wheelhouse.incoming_dir() as incoming:
            for group, with_hashes in ((hashed, True), ([(n, "") for n in unhashed], False)):
                if not group:
                    continue
                req = Path(work) / ("hashed.txt" if with_hashes else "unhashed.txt")
                lines = []
                for name, sha in group:
                    pin = f"{items[name].name}=={items[name].version}"
                    lines.append(f"{pin} --hash=sha256:{sha}" if with_hashes else pin)
                req.write_text("\n".join(lines) + "\n", encoding="utf-8")
                dl = pip_runner.base_argv(python, general) + [
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--progress-bar",
                    "off",
                    "-d",
                    str(incoming),
                    "-r",
                    str(req),
                    *_download_args(pip_args),
                ]
                fetched = pip_runner.run(dl)
                if not fetched.ok:
                    raise CacheError(
                        "pip could not download the wheels of the plan into the wheelhouse.",
                        "check the index settings (pip config list) and the network",
                        details=fetched.summary(),
                    )
            for name, (sha, url) in by_name.items():
                downloaded = incoming / name
                if not downloaded.exists():
                    raise CacheError(
                        f"pip did not save {name} although the plan needs it.",
                        "run `pip-tfmac plan` for the same request and report the output",
                    )
                paths.append(wheelhouse.add_fetched(downloaded, sha, url))
        return paths


def _download_args(pip_args: Sequence[str]) -> list[str]:
    """Install options that `pip download` does not accept are dropped (e.g. --user)."""
    drop_flags = {
        "--user",
        "--force-reinstall",
        "--ignore-installed",
        "-I",
        "--no-warn-conflicts",
        "--no-warn-script-location",
        "--upgrade",
        "-U",
        "--dry-run",
        "--compile",
        "--no-compile",
    }
    drop_values = {"--target", "-t", "--prefix", "--root", "--report", "--upgrade-strategy"}
    out: list[str] = []
    skip = False
    for arg in pip_args:
        if skip:
            skip = False
            continue
        key = arg.split("=", 1)[0]
        if key in drop_flags:
            continue
        if key in drop_values:
            skip = "=" not in arg
            continue
        out.append(arg)
    return out


# ---------------------------------------------------------------------------- helpers


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


_WHEEL_NAME = re.compile(r"^[A-Za-z0-9_.+!-]+\.whl$")


def _looks_like_wheel(filename: str) -> bool:
    return bool(_WHEEL_NAME.match(filename)) and not filename.startswith(".")


def _check_filename(filename: str) -> None:
    if not _looks_like_wheel(filename):
        raise CacheError(f"{filename!r} is not a wheel file name.", "")


def _lock_name(filename: str) -> str:
    return "wheel-" + hashlib.sha256(filename.encode()).hexdigest()[:24]


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _matches(filename: str, pattern: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch(filename, pattern)
    from packaging.utils import canonicalize_name

    project = filename.split("-", 1)[0]
    return canonicalize_name(project) == canonicalize_name(pattern) or filename == pattern


def _make_private_dir(folder: Path) -> None:
    if folder.is_dir():
        return
    folder.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(folder, _DIR_MODE)  # mkdir's mode is filtered by the umask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every OS / file system
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _same_filesystem(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False
