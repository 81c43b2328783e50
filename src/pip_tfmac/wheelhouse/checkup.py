"""`wheelhouse verify` and `purge`: every file and folder of the cache checked, and repaired.

Why one module: the cache is shared by runs that may be killed at any moment and lives in a
folder a user (or a tool) may change by hand. This is the one place that knows everything
that can be wrong with it, and how each thing is made right again without ever following a
link out of the cache or removing anything outside it (fsutil.remove_inside):

- a cache folder replaced by a link or a file (`damaged-folder`): reported, never entered;
  `--repair` removes the link itself (not its target) and puts a private folder back;
- index.json that is not a file, not JSON, or has entries that are not wheels
  (`damaged-index`, `bad-index-entry`): the sound entries are kept, `--repair` rewrites it;
- a wheel that does not hash as recorded, is not recorded, or is not a file at all
  (`hash-mismatch`, `not-indexed`, `not-a-file`, `missing`): removed (plain `verify` too);
- an unpacked tree whose files (scripts and data included) do not hash as its manifest says,
  or whose manifest is damaged (`damaged-tree`), or whose wheel is gone (`orphan-tree`);
- anything else in wheels/ or unpacked/ (`stray`);
- a link verdict computed here (verdicts/) whose content does not hash as it says, or whose
  name is not its two wheels' sha256 (`damaged-verdict`): removed, the next plan recomputes it;
- leftovers of killed runs (`leftover`): temp files, `incoming/` downloads, half-built or
  half-removed trees. Each belongs to a lock its writer held; it is removed only when that
  lock is free, so the work of a run still going is never touched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pip_tfmac.wheelhouse.fsutil import PART, kind_of, remove_inside, tree_size
from pip_tfmac.wheelhouse.manifest import TREE_NAME, check_tree
from pip_tfmac.wheelhouse.names import lock_name, looks_like_wheel, matches_pattern
from pip_tfmac.wheelhouse.records import Problem
from pip_tfmac.wheelhouse.unpacked import remove_tree, tree_lock_name
from pip_tfmac.wheelhouse.verdicts import VerdictCache
from pip_tfmac.wheelhouse.views import purge_views

if TYPE_CHECKING:
    from pip_tfmac.wheelhouse.store import Wheelhouse

_JOBS = 4  # hashing releases the GIL


@dataclass(frozen=True)
class Leftover:
    """Something a killed run left behind, and the lock its writer held while it was alive."""

    path: Path
    lock: str  # "" when no writer holds a lock for it
    detail: str


def incoming_lock_name(folder_name: str) -> str:
    return f"incoming-{folder_name}"


def _wheel_of_part(name: str) -> str:
    """The wheel a `.part` temp file was written for (`.<wheel>.<pid>.<n>.part`, or staged
    `<wheel>.<pid>.part`), or "" when the name says none."""
    stem = name.removeprefix(".")
    filename = stem.split(".whl.", 1)[0] + ".whl"
    return filename if looks_like_wheel(filename) and ".whl." in stem else ""


def _scan(folder: Path) -> Iterator[os.DirEntry[str]]:
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        yield from sorted(it, key=lambda e: e.name)


def find_leftovers(house: Wheelhouse, *, only: str = "") -> list[Leftover]:
    """Leftovers of killed runs (see the module docstring), in the folders that are sound."""
    out: list[Leftover] = []
    if not only:
        for path in sorted(house.root.glob(f".{house.index_path.name}.*{PART}")):
            out.append(Leftover(path, "index", "temp file of an interrupted index write"))
    if house.folder_ok("wheels") and not only:
        for item in _scan(house.find_links_dir):
            if item.name.startswith(".") and item.name.endswith(PART):
                wheel = _wheel_of_part(item.name)
                out.append(
                    Leftover(
                        Path(item.path),
                        lock_name(wheel) if wheel else "",
                        "temp file of an interrupted write",
                    )
                )
    if house.folder_ok("incoming") and only in ("", "incoming"):
        for item in _scan(house.incoming_root):
            wheel = _wheel_of_part(item.name)
            if item.name.startswith("dl-") and kind_of(Path(item.path)) == "dir":
                lock = incoming_lock_name(item.name)
            else:
                lock = lock_name(wheel) if wheel else ""
            out.append(Leftover(Path(item.path), lock, "download of an interrupted run"))
    if house.folder_ok("unpacked") and not only:
        for item in _scan(house.unpacked_dir):
            if item.name.startswith("."):
                tree = item.name[1:].split(".", 1)[0]
                out.append(
                    Leftover(
                        Path(item.path),
                        tree_lock_name(tree),
                        "tree of an interrupted unpack or removal",
                    )
                )
    return out


@contextlib.contextmanager
def _unless_in_use(house: Wheelhouse, leftover: Leftover) -> Iterator[bool]:
    """True (with the writer's lock held) when no live run owns the leftover."""
    if not leftover.lock or "locks" in house.damaged_folders:
        yield True
        return
    held = house.try_lock(leftover.lock)
    try:
        yield held is not None
    finally:
        if held is not None:
            held.release()


def dead_leftovers(house: Wheelhouse) -> list[tuple[Leftover, int]]:
    """The leftovers no live run owns, with their size (for `wheelhouse info`)."""
    out = []
    for leftover in find_leftovers(house):
        with _unless_in_use(house, leftover) as dead:
            if dead:
                out.append((leftover, tree_size(leftover.path)))
    return out


def clean_leftovers(house: Wheelhouse, leftovers: list[Leftover]) -> list[Problem]:
    """Remove the leftovers no live run owns; a Problem (kind leftover) for each removed."""
    done = []
    for leftover in leftovers:
        with _unless_in_use(house, leftover) as dead:
            if not dead:
                continue
            with contextlib.suppress(OSError):
                if remove_inside(leftover.path, house.root):
                    rel = leftover.path.relative_to(house.root).as_posix()
                    done.append(Problem(rel, "leftover", leftover.detail, "removed"))
                if leftover.lock.startswith("incoming-"):  # a unique name: no one else uses it
                    (house.locks.folder / f"{leftover.lock}.lock").unlink()
    return done


def clean_incoming(house: Wheelhouse) -> list[Problem]:
    """Downloads of killed runs under incoming/ (called before each new download)."""
    return clean_leftovers(house, find_leftovers(house, only="incoming"))


def remove_trees_of(house: Wheelhouse, sha256: str) -> None:
    """The unpacked trees (one per Python) of a wheel that leaves the cache."""
    if not house.folder_ok("unpacked"):
        return
    for tree in sorted(house.unpacked_dir.glob(f"{sha256[:40]}-*")):
        remove_tree(tree, house.lock)


def remove_matching(house: Wheelhouse, pattern: str) -> list[str]:
    """Remove wheels whose file name matches a glob pattern (or a project name)."""
    entries = house.entries()
    names = set(entries) | set(house.wheel_files())
    matched = sorted(n for n in names if matches_pattern(n, pattern))
    for name in matched:
        with house.lock(lock_name(name)):
            if house.folder_ok("wheels"):
                house.remove_path(house.path_of(name))
            if name in entries:  # its unpacked trees (one per Python) go with it
                remove_trees_of(house, entries[name].sha256)
            house.update_index(lambda e: e.pop(name, None))  # noqa: B023 (called now)
    return matched


def _tree_problems(house: Wheelhouse, known: set[str]) -> list[tuple[Problem, Path]]:
    """Damaged, orphaned and stray entries of unpacked/ (hidden ones are leftovers)."""
    items = [i for i in _scan(house.unpacked_dir) if not i.name.startswith(".")]

    def one(item: os.DirEntry[str]) -> tuple[Problem, Path] | None:
        path = Path(item.path)
        rel = f"unpacked/{item.name}"
        if kind_of(path) != "dir" or not TREE_NAME.match(item.name):
            return Problem(rel, "stray", "not an unpacked tree of this wheelhouse"), path
        if item.name[:40] not in known:
            return Problem(rel, "orphan-tree", "its wheel is no longer in the wheelhouse"), path
        problems = check_tree(path)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return Problem(rel, "damaged-tree", problems[0] + more), path
        return None

    with ThreadPoolExecutor(max_workers=_JOBS) as pool:
        return [found for found in pool.map(one, items) if found is not None]


def verify_house(house: Wheelhouse, *, repair: bool, repair_all: bool) -> list[Problem]:
    """Every problem of the cache; with `repair` bad wheels and leftovers are removed, with
    `repair_all` everything else is repaired too (see the module docstring)."""
    repair = repair or repair_all
    result: list[Problem] = []
    if repair_all:
        result += house.repair_folders()
    else:
        result += [
            Problem(f"{name}/", "damaged-folder", f"is {what}; not followed, not checked")
            for name, what in sorted(house.damaged_folders.items())
        ]
    index_problems = house.index_problems()
    if index_problems and repair_all:
        house.update_index(lambda entries: None)  # rewritten from its sound entries
        index_problems = [_done(p, "repaired") for p in index_problems]
    result += index_problems
    entries = house.entries()
    if house.folder_ok("wheels"):
        names = sorted(set(entries) | set(house.wheel_files()))
        with ThreadPoolExecutor(max_workers=_JOBS) as pool:
            found = [p for p in pool.map(lambda n: house.check(n, entries.get(n)), names) if p]
        for problem in found:
            if not repair:
                result.append(problem)
                continue
            with house.lock(lock_name(problem.filename)):
                again = house.check(problem.filename)  # another run may have fixed it meanwhile
                if again is not None:
                    result.append(house.discard(again))
        for item in _scan(house.find_links_dir):
            if not looks_like_wheel(item.name) and not (
                item.name.startswith(".") and item.name.endswith(PART)
            ):
                stray = Problem(f"wheels/{item.name}", "stray", "not a wheel file name")
                if repair_all:
                    house.remove_path(Path(item.path))
                    stray = _done(stray, "removed")
                result.append(stray)
    if house.folder_ok("unpacked"):
        known = {e.sha256[:40] for e in house.entries().values()}
        for problem, path in _tree_problems(house, known):
            if repair_all:
                if problem.kind == "stray":
                    house.remove_path(path)
                else:
                    remove_tree(path, house.lock)
                problem = _done(problem, "removed")
            result.append(problem)
    result += VerdictCache(house).problems(repair=repair)  # link verdicts computed here
    leftovers = find_leftovers(house)
    if repair:
        result += clean_leftovers(house, leftovers)
    else:
        for leftover in leftovers:
            rel = leftover.path.relative_to(house.root).as_posix()
            result.append(Problem(rel, "leftover", leftover.detail))
    return result


def purge_house(house: Wheelhouse) -> list[str]:
    """Empty the cache (wheels, trees, index, leftovers), repairing damage first; the wheels
    removed. The lock files stay: other runs may be waiting on them."""
    house.repair_folders()
    if house.index_problems():
        house.update_index(lambda entries: None)
    removed = house.remove("*")
    for item in _scan(house.find_links_dir):
        if not (item.name.startswith(".") and item.name.endswith(PART)):
            house.remove_path(Path(item.path))
    for item in _scan(house.unpacked_dir):
        if not item.name.startswith("."):
            if kind_of(Path(item.path)) == "dir" and TREE_NAME.match(item.name):
                remove_tree(Path(item.path), house.lock)
            else:
                house.remove_path(Path(item.path))
    house.update_index(lambda entries: entries.clear())
    clean_leftovers(house, find_leftovers(house))
    purge_views(house)
    return removed


def _done(problem: Problem, action: str) -> Problem:
    return Problem(problem.filename, problem.kind, problem.detail, action)
