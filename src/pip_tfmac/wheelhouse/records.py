"""The wheelhouse index as values: Entry (one wheel), Problem (one finding), and its JSON.

Why parsing is strict and per entry: index.json is read by every run and written by many; a
damaged entry (a key that is not a wheel file name, a sha256 that is not one) must cost that
entry only, never the whole cache, and never become a path outside it. `parse_index` keeps
the sound entries and reports the rest as Problems that `verify` shows and `--repair` drops.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pip_tfmac.wheelhouse.names import looks_like_sha256, looks_like_wheel
from pip_tfmac.wheelhouse.provenance import Provenance

INDEX_FORMAT = 1


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
        """An Entry from its JSON; ValueError for anything that is not a sound entry."""
        if not isinstance(data, Mapping):
            raise ValueError("not a JSON object")  # noqa: TRY004 (one error type: damaged)
        filename = data.get("filename")
        sha256 = data.get("sha256")
        if not isinstance(filename, str) or not looks_like_wheel(filename):
            raise ValueError(f"{filename!r} is not a wheel file name")
        if not isinstance(sha256, str) or not looks_like_sha256(sha256):
            raise ValueError("its sha256 is not a sha256")
        size = data.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("its size is not a size")
        prov = data.get("provenance")
        try:
            provenance = Provenance.from_json(prov) if isinstance(prov, Mapping) else None
        except (KeyError, TypeError, AttributeError, ValueError):
            raise ValueError("its provenance is damaged") from None
        return cls(
            filename=filename,
            sha256=sha256,
            size=size,
            kind=str(data.get("kind", "")),
            provenance=provenance,
            origin_url=str(data.get("origin_url", "")),
            added=str(data.get("added", "")),
        )


@dataclass(frozen=True)
class Problem:
    """Something `verify` found wrong in the wheelhouse, and what was done about it.

    `filename` names the wheel, or the cache path (relative to its root) for damage that is
    not one wheel's: a folder replaced by a link, the index, an unpacked tree, a leftover.
    """

    filename: str
    kind: str  # see README: hash-mismatch, missing, not-indexed, unreadable, not-a-file,
    # leftover, bad-index-entry, damaged-index, damaged-folder, damaged-tree, orphan-tree, stray
    detail: str
    action: str = ""  # "removed", "forgotten", "repaired", "rebuilt", "" (reported only)

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


def parse_index(text: str) -> tuple[dict[str, Entry], list[Problem]]:
    """The sound entries of an index file's text, and a Problem for each damaged part."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}, [Problem("index.json", "damaged-index", "not valid JSON")]
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        return {}, [Problem("index.json", "damaged-index", "not a wheelhouse index object")]
    entries: dict[str, Entry] = {}
    problems: list[Problem] = []
    for key, value in data["entries"].items():
        shown = key if looks_like_wheel(key) else f"index.json[{key!r}]"
        try:
            entry = Entry.from_json(value)
        except ValueError as exc:
            problems.append(Problem(shown, "bad-index-entry", f"index entry dropped: {exc}"))
            continue
        if entry.filename != key:
            problems.append(
                Problem(shown, "bad-index-entry", "index entry dropped: its key is not its file")
            )
            continue
        entries[key] = entry
    return entries, problems


def index_bytes(entries: Mapping[str, Entry]) -> bytes:
    payload = {
        "format": INDEX_FORMAT,
        "entries": {name: entries[name].to_json() for name in sorted(entries)},
    }
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode("utf-8")
