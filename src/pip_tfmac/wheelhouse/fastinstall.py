"""Install an exact, already checked set of wheels into an environment without resolving.

The reinstall path for a plan whose wheels are all in the wheelhouse: pip would resolve again,
re-read every wheel's metadata and unpack the wheels one by one; here the plan already says
which files to install, so the `installer` library unpacks them straight into the target's
sysconfig paths, several wheels at a time (unzip and hashing release the GIL; TensorFlow's
largest wheels dominate, so the small ones finish alongside), and the target interpreter
compiles the bytecode once for all files with its own `compileall -j 0`.

What pip's metadata conventions need, written the way pip writes them, so that
`pip list`, `pip uninstall`, `pip check` and `pip freeze` treat the result as pip's own:
`INSTALLER` ("pip"), `RECORD` (installer writes it with sha256 and sizes), `REQUESTED` for the
distributions the user asked for. `direct_url.json` is written only with `direct_url=True`:
pip writes none for installs resolved from an index or --find-links (the usual case), and with
one `pip freeze` would print `name @ file:///...wheelhouse/...` instead of `name==version`.

Not covered (callers fall back to plain pip, FastInstallUnavailable says why): a target that
already has one of the distributions installed (pip would uninstall it first), sdists, and
installs with --user/--target/--prefix/--root.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from packaging.utils import canonicalize_name, parse_wheel_filename

from pip_tfmac.wheelhouse import unpacked
from pip_tfmac.errors import EnvironmentError_

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse

_PROBE = r"""
import json, sys, sysconfig
try:
    from importlib.metadata import distributions
    names = sorted({(d.metadata["Name"] or "") for d in distributions()})
except Exception:
    names = []
paths = sysconfig.get_paths()
print(json.dumps({
    "executable": sys.executable,
    "version": "%d.%d" % sys.version_info[:2],
    "paths": paths,
    "prefix": sys.prefix,
    "cache_tag": sys.implementation.cache_tag or "",
    "installed": names,
}))
"""


class FastInstallUnavailable(Exception):
    """The fast path does not apply here; install with plain pip instead (reason in str())."""


@dataclass(frozen=True)
class TargetEnv:
    """Where a target interpreter installs files, and what it already has."""

    python: str
    version: str
    scheme: tuple[tuple[str, str], ...]  # installer scheme name -> folder
    installed: frozenset[str]  # canonical names
    cache_tag: str = ""  # e.g. cpython-311: which .pyc files this Python reads

    def scheme_dict(self) -> dict[str, str]:
        return dict(self.scheme)

    def to_json(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "version": self.version,
            "scheme": self.scheme_dict(),
            "installed": sorted(self.installed),
        }


@dataclass(frozen=True)
class InstalledWheel:
    name: str
    version: str
    filename: str
    files: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "files": self.files,
        }


@dataclass(frozen=True)
class FastInstallResult:
    target: TargetEnv
    installed: tuple[InstalledWheel, ...]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target.to_json(),
            "installed": [w.to_json() for w in self.installed],
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """pip's closing line, so scripts reading it keep working."""
        names = " ".join(f"{w.name}-{w.version}" for w in self.installed)
        return f"Successfully installed {names}"


def probe_target(python: str) -> TargetEnv:
    """Ask the target interpreter (once) for its install paths and installed distributions."""
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _PROBE], capture_output=True, text=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentError_(
            f"cannot run the target Python {python}: {exc}", "check the --python path"
        ) from None
    if proc.returncode != 0:
        raise EnvironmentError_(
            f"the target Python {python} failed to report its paths", details=proc.stderr[-2000:]
        )
    data = json.loads(proc.stdout)
    paths = data["paths"]
    version = data["version"]
    scheme = {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "data": paths["data"],
        # pip's layout for headers inside an environment: include/site/pythonX.Y/<dist>
        "headers": os.path.join(data["prefix"], "include", "site", f"python{version}"),
    }
    return TargetEnv(
        python=data["executable"],
        version=version,
        scheme=tuple(sorted(scheme.items())),
        installed=frozenset(canonicalize_name(n) for n in data["installed"] if n),
        cache_tag=str(data.get("cache_tag", "")),
    )


_BIG = 32 * 1024 * 1024  # files above this are streamed in the calling thread, not buffered


def _destination_class() -> type:
    """A SchemeDictionaryDestination that writes files on a thread pool and remembers them.

    Creating a file costs milliseconds on some file systems (journal, VM disks), far more than
    unzipping it, and pip creates them one after another. Here the calling thread reads and
    hashes each member (RECORD needs the hash at once) and hands open+write+close to `pool` (scripts and big
    files are written at once: installer stats scripts right after writing them);
    `wait()` collects the results. Every path is remembered for rollback. Folders are created
    race-free (several wheels share namespace folders).
    """
    import hashlib

    from installer.destinations import SchemeDictionaryDestination
    from installer.records import Hash, RecordEntry
    from installer.utils import make_file_executable

    def write(target: Path, data: bytes, is_executable: bool) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            handle.write(data)
        if is_executable:
            make_file_executable(target)

    class TrackingDestination(SchemeDictionaryDestination):  # type: ignore[misc]
        # A plain subclass: installer >= 0.8 makes the base a dataclass, 0.7 does not.
        def __init__(self, *args: Any, pool: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pool = pool
            self.written: list[Path] = []
            self.pending: list[Any] = []

        def write_to_fs(self, scheme: Any, path: str, stream: BinaryIO, is_executable: bool) -> Any:
            base = os.path.abspath(self.scheme_dict[scheme])
            target = Path(os.path.abspath(os.path.join(base, path)))
            if os.path.commonpath([str(target), base]) != base:  # installer 0.7 does not check
                raise ValueError(f"wheel path {path!r} leaves its install folder")
            self.written.append(target)
            data = stream.read(_BIG + 1)
            digest = hashlib.new(self.hash_algorithm, data)
            if len(data) > _BIG or self.pool is None or scheme == "scripts":
                target.parent.mkdir(parents=True, exist_ok=True)
                size = len(data)
                with target.open("wb") as handle:
                    while data:
                        handle.write(data)
                        data = stream.read(1 << 20)
                        digest.update(data)
                        size += len(data)
                if is_executable:
                    make_file_executable(target)
            else:
                size = len(data)
                self.pending.append(self.pool.submit(write, target, data, is_executable))
            encoded = base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
            return RecordEntry(path, Hash(self.hash_algorithm, encoded), size)

        def wait(self) -> None:
            for future in self.pending:
                future.result()

    return TrackingDestination


def _direct_url(wheel: Path) -> bytes:
    import hashlib

    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    payload = {
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
        "url": wheel.resolve().as_uri(),
    }
    return json.dumps(payload, sort_keys=True).encode()


def install_wheels(
    wheels: Sequence[Path],
    python: str,
    *,
    requested: Collection[str] = (),
    compile_bytecode: bool = True,
    jobs: int | None = None,
    write_jobs: int = 16,
    direct_url: bool = False,
    target: TargetEnv | None = None,
    wheelhouse: Wheelhouse | None = None,
    link_mode: str = "copy",
) -> FastInstallResult:
    """Install exactly these wheel files into the environment of `python`, no resolving.

    `requested` names the distributions the user asked for (they get REQUESTED, as with pip).
    With a `wheelhouse`, wheels are unpacked (and compiled) once per target Python into it and
    copied (or, `link_mode="hardlink"`, linked) from there; the caller has checked the wheels
    (`Wheelhouse.prepare`), their index sha256 is the key of the unpacked tree. On any failure
    every file written so far is removed again and the error re-raised, so the environment is
    as before.
    """
    from installer import install
    from installer.sources import WheelFile
    from installer.utils import get_launcher_kind

    started = time.perf_counter()
    target = target or probe_target(python)
    parsed = []
    for wheel in wheels:
        if not str(wheel).endswith(".whl"):
            raise FastInstallUnavailable(f"{wheel} is not a wheel")
        name, version, _build, _tags = parse_wheel_filename(Path(wheel).name)
        parsed.append((Path(wheel), str(name), str(version)))
    names = [n for _, n, _ in parsed]
    if len(set(names)) != len(names):
        raise FastInstallUnavailable("two wheels of the same distribution were given")
    clash = sorted(set(names) & target.installed)
    if clash:
        raise FastInstallUnavailable(f"already installed in the target: {', '.join(clash)}")
    wanted: set[str] = {str(canonicalize_name(r)) for r in requested}
    if wheelhouse is not None and target.cache_tag and unpacked.installable(target.python):
        return _install_from_store(
            parsed,
            target,
            wheelhouse,
            wanted,
            compile_bytecode,
            direct_url,
            link_mode,
            started,
            jobs,
            write_jobs,
        )
    destination_class = _destination_class()
    destinations: list[Any] = []

    def one(item: tuple[Path, str, str]) -> InstalledWheel:
        wheel, name, version = item
        dest = destination_class(
            target.scheme_dict(),
            interpreter=target.python,
            script_kind=get_launcher_kind(),
            pool=writers,
        )
        destinations.append(dest)
        extra = {"INSTALLER": b"pip\n"}
        if name in wanted:
            extra["REQUESTED"] = b""
        if direct_url:
            extra["direct_url.json"] = _direct_url(wheel)
        with WheelFile.open(wheel) as source:
            install(source, dest, extra)
        return InstalledWheel(name, version, wheel.name, len(dest.written))

    # installer skips .pyc files a wheel ships in __pycache__ (numpy does) and warns; pip
    # installs them and its compile step rewrites them, as ours does: nothing to tell the user.
    warnings.filterwarnings(
        "ignore", message="Skip installing .*__pycache__", category=RuntimeWarning
    )
    # Largest first, so the long unpack starts at once and the small ones fill the gaps.
    order = sorted(parsed, key=lambda item: -item[0].stat().st_size)
    workers = jobs or min(4, max(1, len(order)))
    try:
        with ThreadPoolExecutor(max_workers=max(1, write_jobs)) as writer_pool:
            writers = writer_pool if write_jobs > 0 else None
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done = list(pool.map(one, order))
            for dest in destinations:
                dest.wait()
        if compile_bytecode:
            _compile(
                target.python, [p for d in destinations for p in d.written if p.suffix == ".py"]
            )
    except BaseException:
        _rollback([p for d in destinations for p in d.written])
        raise
    by_name = {w.name: w for w in done}
    return FastInstallResult(
        target, tuple(by_name[n] for n in names), time.perf_counter() - started
    )


def install_from_wheelhouse(
    wheelhouse: Wheelhouse,
    filenames: Sequence[str],
    python: str,
    *,
    requested: Collection[str] = (),
    link_mode: str = "copy",
) -> FastInstallResult:
    """The cached reinstall: these wheelhouse files (a resolved plan), checked, then installed.

    Raises FastInstallUnavailable (install with pip instead) when a file is missing or failed
    its hash check (it is then removed, and pip re-fetches it), or the target already has one
    of the distributions.
    """
    wheelhouse.prepare(filenames)
    missing = [f for f in filenames if not wheelhouse.path_of(f).exists()]
    if missing:
        raise FastInstallUnavailable(f"not in the wheelhouse: {', '.join(missing)}")
    return install_wheels(
        [wheelhouse.path_of(f) for f in filenames],
        python,
        requested=requested,
        wheelhouse=wheelhouse,
        link_mode=link_mode,
    )


def trees_ready(wheelhouse: Wheelhouse, filenames: Sequence[str], target: TargetEnv) -> bool:
    """Whether every wheel already has its unpacked tree for this target Python.

    Only then is the cached reinstall the fast one (bench/reinstall.py: 0.4x pip copying,
    0.2x hard-linking, for the TensorFlow set); building the trees costs about one pip install
    plus the copy, so a cold plan is better installed by pip and warmed afterwards
    (`warm_trees`), e.g. by a download step or in the background of a CI cache job.
    """
    entries = wheelhouse.entries()
    for name in filenames:
        entry = entries.get(name)
        if entry is None or not target.cache_tag:
            return False
        manifest = (
            wheelhouse.unpacked_dir
            / f"{entry.sha256[:40]}-{target.cache_tag}"
            / (unpacked.MANIFEST)
        )
        if not manifest.exists():
            return False
    return True


def warm_trees(wheelhouse: Wheelhouse, filenames: Sequence[str], python: str) -> int:
    """Unpack and compile these wheelhouse wheels for `python` now; return how many trees."""
    target = probe_target(python)
    if not target.cache_tag:
        return 0
    entries = wheelhouse.entries()
    count = 0
    for name in filenames:
        entry = entries.get(name)
        if entry is None:
            continue
        unpacked.ensure_tree(
            wheelhouse.unpacked_dir,
            wheelhouse.path_of(name),
            entry.sha256,
            target.cache_tag,
            target.python,
            wheelhouse.lock,
        )
        count += 1
    return count


def _compile(python: str, files: list[Path]) -> None:
    """Bytecode by the target interpreter itself (its magic number), all cores, one process.

    Like pip, a file that does not compile is not an error (pip ignores compile failures).
    """
    if not files:
        return
    subprocess.run(
        [python, "-I", "-m", "compileall", "-q", "-j", "0", "-i", "-"],
        input="\n".join(str(f) for f in files),
        text=True,
        capture_output=True,
        check=False,
    )


def _rollback(written: list[Path]) -> None:
    for path in written:
        if path.suffix == ".py":
            with contextlib.suppress(OSError):
                for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
                    pyc.unlink()
    for path in reversed(written):
        with contextlib.suppress(OSError):
            path.unlink()
    parents = {p.parent for p in written} | {p.parent / "__pycache__" for p in written}
    for folder in sorted(parents, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if now empty


def _install_from_store(
    parsed: list[tuple[Path, str, str]],
    target: TargetEnv,
    wheelhouse: Wheelhouse,
    wanted: set[str],
    compile_bytecode: bool,
    direct_url: bool,
    link_mode: str,
    started: float,
    jobs: int | None,
    write_jobs: int,
) -> FastInstallResult:
    from pip_tfmac.wheelhouse.store import sha256_file

    entries = wheelhouse.entries()

    def key(wheel: Path) -> str:
        entry = entries.get(wheel.name)
        if entry is not None and wheel.resolve().parent == wheelhouse.find_links_dir.resolve():
            return entry.sha256
        return sha256_file(wheel)

    def tree(item: tuple[Path, str, str]) -> tuple[Path, unpacked.Manifest]:
        return unpacked.ensure_tree(
            wheelhouse.unpacked_dir,
            item[0],
            key(item[0]),
            target.cache_tag,
            target.python,
            wheelhouse.lock,
        )

    # A damaged unpacked tree is removed and rebuilt from its wheel once; a second failure is real.
    for attempt in (1, 2):
        try:
            return _install_trees(
                parsed, target, wheelhouse, wanted, compile_bytecode, direct_url, link_mode,
                started, jobs, write_jobs, tree,
            )
        except unpacked.DamagedTree as exc:
            if attempt == 2:
                raise
            wheelhouse.warn(f"wheelhouse: unpacked tree {exc}; rebuilding it from the wheel")
            unpacked.remove_tree(exc.tree, wheelhouse.lock)
    raise AssertionError("unreachable")


def _install_trees(
    parsed: list[tuple[Path, str, str]],
    target: TargetEnv,
    wheelhouse: Wheelhouse,
    wanted: set[str],
    compile_bytecode: bool,
    direct_url: bool,
    link_mode: str,
    started: float,
    jobs: int | None,
    write_jobs: int,
    tree: Any,
) -> FastInstallResult:
    written: list[Path] = []
    done: list[InstalledWheel] = []
    scheme = target.scheme_dict()
    try:
        with ThreadPoolExecutor(max_workers=jobs or min(4, max(1, len(parsed)))) as pool:
            trees = list(pool.map(tree, parsed))
        with ThreadPoolExecutor(max_workers=max(1, write_jobs)) as files_pool:
            for (wheel, name, version), (folder, manifest) in zip(parsed, trees):
                if not compile_bytecode:
                    manifest = replace(
                        manifest,
                        files=tuple(f for f in manifest.files if not f.path.endswith(".pyc")),
                    )
                extra = {"INSTALLER": b"pip\n"}
                if name in wanted:
                    extra["REQUESTED"] = b""
                if direct_url:
                    extra["direct_url.json"] = _direct_url(wheel)
                count = unpacked.install_tree(
                    folder,
                    manifest,
                    scheme,
                    target.python,
                    pool=files_pool,
                    written=written,
                    link_mode=link_mode,
                    extra_metadata=extra,
                )
                done.append(InstalledWheel(name, version, wheel.name, count))
    except BaseException:
        _rollback(written)
        raise
    return FastInstallResult(target, tuple(done), time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pip_tfmac.wheelhouse.fastinstall [--no-compile] [--wheelhouse DIR [--hardlink]]
    PYTHON WHEEL...` (used by bench/reinstall.py)."""
    args = list(sys.argv[1:] if argv is None else argv)
    compile_bytecode = "--no-compile" not in args
    link_mode = "hardlink" if "--hardlink" in args else "copy"
    store = None
    if "--wheelhouse" in args:
        at = args.index("--wheelhouse")
        from pip_tfmac.wheelhouse.store import Wheelhouse

        store = Wheelhouse(Path(args[at + 1]))
        del args[at : at + 2]
    args = [a for a in args if a not in ("--no-compile", "--compile", "--hardlink")]
    if len(args) < 2:
        print(
            "usage: python -m pip_tfmac.wheelhouse.fastinstall [--no-compile] PYTHON WHEEL...", file=sys.stderr
        )
        return 64
    try:
        result = install_wheels(
            [Path(a) for a in args[1:]],
            args[0],
            compile_bytecode=compile_bytecode,
            wheelhouse=store,
            link_mode=link_mode,
        )
    except FastInstallUnavailable as exc:
        print(f"pip-tfmac: fast install not possible: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
