"""`pip-tfmac wheelhouse dir|list|info|verify|remove PATTERN|purge|publish URL` (and `pip-tfmac cache verify`).

The wheels pip-tfmac built (alias and patched wheels) or fetched through pip, in pip's own
`cache` style. `pip-tfmac cache ...` stays pip's command (so `alias pip=pip-tfmac` is safe),
except `cache verify`, which pip does not have.

Exit codes: 0; 64 for bad usage; 69 (CACHE) when `verify` found problems (they are reported
and the bad wheels removed, so the next install rebuilds or re-fetches them), or the cache
cannot be used. `verify --repair` repairs every kind of damage (checkup.py) and exits 0 when
the cache is sound afterwards. A damaged cache is opened in maintenance mode here, so that
these commands can always inspect and repair it; a reader that stops reading
(`wheelhouse list | head -1`) ends the output quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import NoReturn

from pip_tfmac.errors import CacheError, ExitCode, UsageError
from pip_tfmac.wheelhouse.checkup import dead_leftovers, purge_house
from pip_tfmac.wheelhouse.fsutil import describe_os_error
from pip_tfmac.wheelhouse.names import matches_pattern
from pip_tfmac.wheelhouse.records import Problem
from pip_tfmac.wheelhouse.store import Entry, Wheelhouse
from pip_tfmac.wheelhouse.verdicts import VerdictCache

SUBCOMMANDS = ("dir", "list", "info", "verify", "remove", "purge")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def format_size(num: int) -> str:
    """pip's way of writing sizes (decimal units)."""
    if num > 1000 * 1000 * 1000:
        return f"{num / 1000.0 / 1000 / 1000:.1f} GB"
    if num > 10 * 1000 * 1000:
        return f"{int(num / 1000.0 / 1000)} MB"
    if num > 1000 * 1000:
        return f"{num / 1000.0 / 1000:.1f} MB"
    if num > 10 * 1000:
        return f"{int(num / 1000.0)} kB"
    if num > 1000:
        return f"{num / 1000.0:.1f} kB"
    return f"{int(num)} bytes"


def _parser(word: str) -> argparse.ArgumentParser:
    p = _Parser(
        prog=f"pip-tfmac {word}",
        description="Inspect and manage the wheels pip-tfmac built or fetched.",
    )
    p.add_argument("action", choices=SUBCOMMANDS if word == "wheelhouse" else ("verify",))
    p.add_argument("pattern", nargs="?", help="for list/remove: a glob or a project name")
    p.add_argument("--tfmac-cache-dir", metavar="DIR", help="wheelhouse folder to act on")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--format", choices=("human", "abspath"), default="human", help="list: output format"
    )
    p.add_argument("--no-repair", action="store_true", help="verify: report only, remove nothing")
    p.add_argument(
        "--repair",
        action="store_true",
        help="verify: also repair damaged folders, the index, unpacked trees and strays",
    )
    return p


def run(args: list[str], index: int | None) -> int:
    word = args[index] if index is not None else "wheelhouse"
    rest = args[(index + 1) if index is not None else 0 :]
    if word == "wheelhouse" and rest[:1] == ["publish"]:
        from pip_tfmac.commands.publish import run as publish

        return publish(args, index)
    p = _parser("wheelhouse" if word != "cache" else "cache")
    try:
        ns = p.parse_args(rest)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if ns.action in ("remove",) and not ns.pattern:
        raise UsageError("`wheelhouse remove` needs a PATTERN", "e.g. 'tensorflow-*' or tensorflow")
    if ns.pattern and ns.action not in ("list", "remove"):
        raise UsageError(f"`wheelhouse {ns.action}` takes no PATTERN ({ns.pattern!r})")
    if ns.repair and (ns.no_repair or ns.action != "verify"):
        raise UsageError("--repair goes with `verify` alone (not with --no-repair)")
    try:
        code = _run(ns)
        sys.stdout.flush()  # here, so that a closed pipe is caught below and not at exit
    except BrokenPipeError:
        # The reader stopped (`| head -1`): what it read was complete; end quietly, and keep
        # the interpreter's final flush from complaining about stdout.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except OSError as exc:  # the cache's file system failing under us: a cache problem
        raise CacheError(
            f"the wheelhouse could not be read or changed: {describe_os_error(exc)}",
            "run `pip-tfmac wheelhouse verify --repair`, or remove the wheelhouse folder",
        ) from None
    return code


def _run(ns: argparse.Namespace) -> int:
    house = Wheelhouse.from_options(ns.tfmac_cache_dir, False, maintenance=True)
    out = sys.stdout
    if ns.action == "dir":
        if ns.json:
            print(
                json.dumps(
                    {"version": 1, "dir": str(house.root), "find_links": str(house.find_links_dir)}
                )
            )
        else:
            print(house.root, file=out)
        return 0
    if house.damaged_folders and ns.action in ("list", "info"):
        print(
            f"WARNING: the wheelhouse is damaged: {house.describe_damage()}; "
            "run `pip-tfmac wheelhouse verify --repair`",
            file=sys.stderr,
        )
    if ns.action == "list":
        return _list(house, ns.pattern, ns.format, ns.json)
    if ns.action == "info":
        return _info(house, ns.json)
    if ns.action == "verify":
        return _verify(house, repair=not ns.no_repair, repair_all=ns.repair, as_json=ns.json)
    if ns.action == "remove":
        if house.damaged_folders:
            raise CacheError(
                f"the wheelhouse is damaged: {house.describe_damage()}.",
                "run `pip-tfmac wheelhouse verify --repair` (or purge) first",
            )
        removed = house.remove(ns.pattern)
    else:
        removed = purge_house(house)
    if ns.json:
        print(json.dumps({"version": 1, "removed": removed}, indent=2))
    else:
        if ns.action == "remove" and not removed:
            print(f"WARNING: No matching wheels for pattern: {ns.pattern}", file=sys.stderr)
        print(f"Files removed: {len(removed)}")
    return 0


def _rows(house: Wheelhouse, pattern: str | None) -> list[tuple[Entry | None, str, int]]:
    """(entry, file name, size; -1 when absent or not a file) for each wheel, links not followed."""
    entries = house.entries()
    present = {name: size for name, size in house.wheel_files().items() if size >= 0}
    names = sorted(set(entries) | set(present))
    if pattern:
        names = [n for n in names if matches_pattern(n, pattern)]
    return [(entries.get(n), n, present.get(n, -1)) for n in names]


def _provenance_text(entry: Entry | None) -> str:
    if entry is None:
        return "not indexed"
    if entry.kind == "built" and entry.provenance is not None:
        made = ", ".join(f"{o.name} {o.version}" for o in entry.provenance.made_from)
        text = f"built: {entry.provenance.rule}"
        return text + (f" (from {made})" if made else "")
    return f"fetched: {entry.origin_url}" if entry.origin_url else entry.kind


def _list(house: Wheelhouse, pattern: str | None, fmt: str, as_json: bool) -> int:
    rows = _rows(house, pattern)
    if as_json:
        payload = [
            {
                **(entry.to_json() if entry else {"filename": name}),
                "present": size >= 0,
                "path": str(house.find_links_dir / name),
            }
            for entry, name, size in rows
        ]
        print(json.dumps({"version": 1, "wheels": payload}, indent=2))
        return 0
    if fmt == "abspath":
        for _entry, name, size in rows:
            if size >= 0:
                print(house.find_links_dir / name)
        return 0
    if not rows:
        print("No locally built wheels cached." if not pattern else "No matching wheels.")
        return 0
    print("Wheelhouse contents:\n")
    for entry, name, size in rows:
        shown = format_size(size) if size >= 0 else "missing"
        print(f" - {name} ({shown}) {_provenance_text(entry)}")
    return 0


def _info(house: Wheelhouse, as_json: bool) -> int:
    rows = _rows(house, None)
    built = sum(1 for e, _, _ in rows if e and e.kind == "built")
    fetched = sum(1 for e, _, _ in rows if e and e.kind == "fetched")
    size = sum(s for _, _, s in rows if s > 0)
    leftovers = dead_leftovers(house)
    leftover_size = sum(s for _, s in leftovers)
    verdicts = len(VerdictCache(house).files())
    if as_json:
        print(
            json.dumps(
                {
                    "version": 1,
                    "dir": str(house.root),
                    "find_links": str(house.find_links_dir),
                    "index": str(house.index_path),
                    "size": size,
                    "wheels": len(rows),
                    "built": built,
                    "fetched": fetched,
                    "leftovers": len(leftovers),
                    "leftovers_size": leftover_size,
                    "damaged": sorted(house.damaged_folders),
                    "link_verdicts": verdicts,
                },
                indent=2,
            )
        )
        return 0
    print(f"Wheelhouse location: {house.root}")
    print(f"Find-links folder: {house.find_links_dir}")
    print(f"Index: {house.index_path}")
    print(f"Wheelhouse size: {format_size(size)}")
    print(f"Number of wheels: {len(rows)} ({built} built, {fetched} fetched)")
    print(f"Link verdicts computed here (pairs newer than the knowledge): {verdicts}")
    print(
        f"Leftovers of interrupted runs: {len(leftovers)} ({format_size(leftover_size)})"
        + ("; `pip-tfmac wheelhouse verify` removes them" if leftovers else "")
    )
    return 0


def _verify(house: Wheelhouse, *, repair: bool, repair_all: bool, as_json: bool) -> int:
    """Report every problem; exit 69 when the cache was not sound (0 after a full repair that
    leaves it sound: `verify --repair` then says what it repaired)."""
    count = len(_rows(house, None)) if house.folder_ok("wheels") else 0
    problems = house.verify(repair=repair, repair_all=repair_all)
    real = [p for p in problems if p.kind != "leftover"]
    remaining = []
    if repair_all:
        remaining = [p for p in house.verify(repair=False) if p.kind != "leftover"]
    failed = bool(remaining) if repair_all else bool(real)
    if as_json:
        print(
            json.dumps(
                {
                    "version": 1,
                    "checked": count,
                    "ok": not real,
                    "repaired": repair_all and not remaining,
                    "problems": [p.to_json() for p in problems],
                    "remaining": [p.to_json() for p in remaining],
                },
                indent=2,
            )
        )
    else:
        for problem in problems:
            label = "NOTE" if problem.kind == "leftover" else "ERROR"
            if repair_all and problem.action and label == "ERROR":
                label = "REPAIRED"
            print(f"{label}: {problem.describe()}")
        for problem in remaining:
            print(f"ERROR: still damaged: {problem.describe()}")
        print(_verify_summary(real, remaining, count, repair_all))
    return int(ExitCode.CACHE) if failed else 0


def _verify_summary(real: list[Problem], remaining: list[Problem], count: int, full: bool) -> str:
    """The closing line: what was found, what was done, what is left to do."""
    plural = "s" if len(real) != 1 else ""
    if not real:
        return f"{count} wheel{'s' if count != 1 else ''} verified, all hashes match."
    if full:
        if remaining:
            return f"{len(remaining)} problem(s) could not be repaired; run `pip-tfmac wheelhouse purge`."
        return f"{len(real)} problem{plural} repaired; the wheelhouse is sound."
    text = f"{len(real)} problem{plural} found ({count} wheels checked)"
    if any(p.action for p in real):
        text += "; bad wheels removed, the next install rebuilds or re-fetches them"
    if any(not p.action for p in real):
        text += "; `pip-tfmac wheelhouse verify --repair` repairs the rest"
    return text + "."
