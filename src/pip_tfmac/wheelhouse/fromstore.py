"""The cached reinstall from unpacked trees: copy or link checked files, no unzip, no compile.

Why: for TensorFlow most of a reinstall is unzipping and compiling; a tree per wheel and
Python (unpacked.py) turns it into copying files whose hashes are checked as they land.
A damaged tree is removed and rebuilt from its verified wheel once; a second failure is real.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pip_tfmac.core.install_scheme import TargetEnv
from pip_tfmac.runners.probe_scheme import probe_target
from pip_tfmac.wheelhouse import unpacked
from pip_tfmac.wheelhouse.fsutil import kind_of, sha256_file
from pip_tfmac.wheelhouse.installed import (
    FastInstallResult,
    InstalledWheel,
    direct_url_bytes,
    rollback,
)

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse


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
        if kind_of(manifest.parent) != "dir" or kind_of(manifest) != "file":
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
        if entry is None or wheelhouse.check(name, entry) is not None:
            continue  # only a wheel that hashes as recorded is unpacked
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


@dataclass(frozen=True)
class StoreInstall:
    """One fast-path install from the wheelhouse's unpacked trees: what, where, and how."""

    parsed: list[tuple[Path, str, str]]  # wheel file, project name, version
    target: TargetEnv
    wheelhouse: Wheelhouse
    wanted: set[str]  # canonical names the user asked for (REQUESTED)
    compile_bytecode: bool
    direct_url: bool
    link_mode: str
    started: float
    jobs: int | None
    write_jobs: int


def install_from_store(job: StoreInstall) -> FastInstallResult:
    target, wheelhouse = job.target, job.wheelhouse
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
            return _install_trees(job, tree)
        except unpacked.DamagedTree as exc:
            if attempt == 2:
                raise
            wheelhouse.warn(f"wheelhouse: unpacked tree {exc}; rebuilding it from the wheel")
            unpacked.remove_tree(exc.tree, wheelhouse.lock)
    raise AssertionError("unreachable")


def _install_trees(
    job: StoreInstall,
    tree: Callable[[tuple[Path, str, str]], tuple[Path, unpacked.Manifest]],
) -> FastInstallResult:
    parsed, target = job.parsed, job.target
    written: list[Path] = []
    done: list[InstalledWheel] = []
    scheme = target.scheme_dict()
    try:
        with ThreadPoolExecutor(max_workers=job.jobs or min(4, max(1, len(parsed)))) as pool:
            trees = list(pool.map(tree, parsed))
        with ThreadPoolExecutor(max_workers=max(1, job.write_jobs)) as files_pool:
            for (wheel, name, version), (folder, manifest) in zip(parsed, trees):
                if not job.compile_bytecode:
                    manifest = replace(
                        manifest,
                        files=tuple(f for f in manifest.files if not f.path.endswith(".pyc")),
                    )
                extra = {"INSTALLER": b"pip\n"}
                if name in job.wanted:
                    extra["REQUESTED"] = b""
                if job.direct_url:
                    extra["direct_url.json"] = direct_url_bytes(wheel)
                count = unpacked.install_tree(
                    folder,
                    manifest,
                    scheme,
                    target.python,
                    pool=files_pool,
                    written=written,
                    link_mode=job.link_mode,
                    extra_metadata=extra,
                )
                done.append(InstalledWheel(name, version, wheel.name, count))
    except BaseException:
        rollback(written)
        raise
    return FastInstallResult(target, tuple(done), time.perf_counter() - job.started)
