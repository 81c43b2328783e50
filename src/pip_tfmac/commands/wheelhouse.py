"""`pip-tfmac wheelhouse dir|list|info|verify|remove PATTERN|purge` (and `pip-tfmac cache verify`).

The wheels pip-tfmac built (alias and patched wheels) or fetched through pip, in pip's own
`cache` style. `pip-tfmac cache ...` stays pip's command (so `alias pip=pip-tfmac` is safe),
except `cache verify`, which pip does not have.

Exit codes: 0; 64 for bad usage; 69 (CACHE) when `verify` found problems (they are reported
and the bad wheels removed, so the next install rebuilds or re-fetches them).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

from pip_tfmac.wheelhouse.store import Entry, Wheelhouse
from pip_tfmac.errors import ExitCode, UsageError

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
    return p


def run(args: list[str], index: int | None) -> int:
    word = args[index] if index is not None else "wheelhouse"
    rest = args[(index + 1) if index is not None else 0 :]
    p = _parser("wheelhouse" if word != "cache" else "cache")
    try:
        ns = p.parse_args(rest)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if ns.action in ("remove",) and not ns.pattern:
        raise UsageError("`wheelhouse remove` needs a PATTERN", "e.g. 'tensorflow-*' or tensorflow")
    if ns.pattern and ns.action not in ("list", "remove"):
        raise UsageError(f"`wheelhouse {ns.action}` takes no PATTERN ({ns.pattern!r})")
    house = Wheelhouse.from_options(ns.tfmac_cache_dir, False)
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
    if ns.action == "list":
        return _list(house, ns.pattern, ns.format, ns.json)
    if ns.action == "info":
        return _info(house, ns.json)
    if ns.action == "verify":
        return _verify(house, repair=not ns.no_repair, as_json=ns.json)
    removed = house.remove(ns.pattern) if ns.action == "remove" else house.remove("*")
    if ns.json:
        print(json.dumps({"version": 1, "removed": removed}, indent=2))
    else:
        if ns.action == "remove" and not removed:
            print(f"WARNING: No matching wheels for pattern: {ns.pattern}", file=sys.stderr)
        print(f"Files removed: {len(removed)}")
    return 0


def _rows(house: Wheelhouse, pattern: str | None) -> list[tuple[Entry | None, str, int]]:
    from pip_tfmac.wheelhouse.store import _matches

    entries = house.entries()
    present = {p.name: p.stat().st_size for p in house.find_links_dir.glob("*.whl")}
    names = sorted(set(entries) | set(present))
    if pattern:
        names = [n for n in names if _matches(n, pattern)]
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
    return 0


def _verify(house: Wheelhouse, *, repair: bool, as_json: bool) -> int:
    count = len(_rows(house, None))
    problems = house.verify(repair=repair)
    real = [p for p in problems if p.kind != "leftover"]
    if as_json:
        print(
            json.dumps(
                {
                    "version": 1,
                    "checked": count,
                    "ok": not real,
                    "problems": [p.to_json() for p in problems],
                },
                indent=2,
            )
        )
    else:
        for problem in problems:
            print(f"{'ERROR' if problem.kind != 'leftover' else 'NOTE'}: {problem.describe()}")
        if real:
            print(
                f"{len(real)} of {count} wheels failed verification"
                + ("; removed, the next install rebuilds or re-fetches them." if repair else ".")
            )
        else:
            print(f"{count} wheel{'s' if count != 1 else ''} verified, all hashes match.")
    return int(ExitCode.CACHE) if real else 0
