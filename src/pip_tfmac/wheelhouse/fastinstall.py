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

import sys
import time
import warnings
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name, parse_wheel_filename

from pip_tfmac.core.install_scheme import TargetEnv
from pip_tfmac.runners.probe_scheme import probe_target
from pip_tfmac.wheelhouse import unpacked
from pip_tfmac.wheelhouse.destination import destination_class
from pip_tfmac.wheelhouse.fromstore import StoreInstall, install_from_store, trees_ready, warm_trees
from pip_tfmac.wheelhouse.installed import (
    FastInstallResult,
    FastInstallUnavailable,
    InstalledWheel,
    compile_files,
    direct_url_bytes,
    rollback,
)

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse

__all__ = [
    "FastInstallResult",
    "FastInstallUnavailable",
    "InstalledWheel",
    "TargetEnv",
    "install_from_wheelhouse",
    "install_wheels",
    "main",
    "probe_target",
    "trees_ready",
    "warm_trees",
]


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
        return install_from_store(StoreInstall(parsed, target, wheelhouse, wanted, compile_bytecode,
                                               direct_url, link_mode, started, jobs, write_jobs))
    tracking = destination_class()
    destinations: list[Any] = []

    def one(item: tuple[Path, str, str]) -> InstalledWheel:
        wheel, name, version = item
        dest = tracking(
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
            extra["direct_url.json"] = direct_url_bytes(wheel)
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
            compile_files(
                target.python, [p for d in destinations for p in d.written if p.suffix == ".py"]
            )
    except BaseException:
        rollback([p for d in destinations for p in d.written])
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
            "usage: python -m pip_tfmac.wheelhouse.fastinstall [--no-compile] PYTHON WHEEL...",
            file=sys.stderr,
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
