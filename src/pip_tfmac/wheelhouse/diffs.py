"""Strict unified diffs on in-memory files: the recipes' code patches.

Hand-written on purpose: the recipes patch one exact, hash-checked original, so the applier
must be strict (every hunk at its stated line, context equal, no fuzz, no offset) and work on
in-memory bytes. patch-ng (python-patch's fork) applies with fuzz and works on files on disk;
unidiff only parses. Both would be a new runtime dependency for ~80 lines of code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pip_tfmac.errors import BadInputError


class PatchError(BadInputError):
    """The original wheel does not fit the recipe (wrong file, stale patch, unknown entry)."""


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]


@dataclass(frozen=True)
class FilePatch:
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: tuple[Hunk, ...]


def _strip_prefix(path: str, prefix: str) -> str | None:
    path = path.split("\t", 1)[0].strip()
    if path == "/dev/null":
        return None
    if not path.startswith(prefix):
        raise PatchError(
            f"diff path {path!r} does not start with {prefix!r}.", "write a/PATH b/PATH diffs"
        )
    return path[len(prefix) :]


def parse_unified_diff(text: str, *, label: str = "patch") -> list[FilePatch]:
    """Parse a unified diff (diff -u / git diff output) into file patches."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    patches: list[FilePatch] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("--- "):
            i += 1  # headers such as "diff --git" or prose before the first file
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
            raise PatchError(f"{label}: line {i + 1}: '---' without '+++'.", "regenerate the diff")
        old_path = _strip_prefix(lines[i][4:], "a/")
        new_path = _strip_prefix(lines[i + 1][4:], "b/")
        i += 2
        hunks: list[Hunk] = []
        while i < len(lines) and lines[i].startswith("@@"):
            m = _HUNK.match(lines[i])
            if not m:
                raise PatchError(f"{label}: line {i + 1}: bad hunk header {lines[i]!r}.", "")
            old_count = int(m.group(2) if m.group(2) is not None else 1)
            new_count = int(m.group(4) if m.group(4) is not None else 1)
            i += 1
            old: list[str] = []
            new: list[str] = []
            while len(old) < old_count or len(new) < new_count:
                if i >= len(lines):
                    raise PatchError(
                        f"{label}: hunk ends early at line {i}.", "regenerate the diff"
                    )
                line = lines[i]
                tag, body = line[:1], line[1:]
                if tag == " " or line == "":
                    old.append(body)
                    new.append(body)
                elif tag == "-":
                    old.append(body)
                elif tag == "+":
                    new.append(body)
                elif tag == "\\":
                    pass  # "\ No newline at end of file": the recipes' files all end with one
                else:
                    raise PatchError(f"{label}: line {i + 1}: unexpected {line!r} in a hunk.", "")
                i += 1
            if len(old) != old_count or len(new) != new_count:
                raise PatchError(
                    f"{label}: line {i}: hunk line counts do not match its header.", ""
                )
            start = int(m.group(1))
            hunks.append(Hunk(start if old_count else start + 1, tuple(old), tuple(new)))
        patches.append(FilePatch(old_path, new_path, tuple(hunks)))
    if not patches:
        raise PatchError(f"{label}: no file patches found.", "write a unified diff")
    return patches


def apply_unified_diff(
    text: str, files: Mapping[str, bytes], *, label: str = "patch"
) -> dict[str, bytes | None]:
    """Apply a unified diff to in-memory files; return the changed files (None = deleted).

    Every hunk must match at exactly the line its header states (after the shift of earlier
    hunks of the same file); a mismatch raises PatchError naming the file and line.
    """
    changed: dict[str, bytes | None] = {}
    for fp in parse_unified_diff(text, label=label):
        path = fp.old_path or fp.new_path
        assert path is not None
        if fp.old_path is not None and fp.new_path is not None and fp.old_path != fp.new_path:
            raise PatchError(f"{label}: renames are not supported ({fp.old_path}).", "")
        if fp.old_path is None:
            if path in files:
                raise PatchError(f"{label}: {path} is created but already exists.", "")
            lines: list[str] = []
        else:
            if path not in changed and path not in files:
                raise PatchError(f"{label}: {path} is not in the wheel.", "check the patch paths")
            current = changed.get(path, files.get(path))
            if current is None:
                raise PatchError(f"{label}: {path} was deleted by an earlier patch.", "")
            lines = current.decode("utf-8").split("\n")
        shift = 0
        for hunk in fp.hunks:
            at = hunk.old_start - 1 + shift
            if at < 0 or list(lines[at : at + len(hunk.old_lines)]) != list(hunk.old_lines):
                raise PatchError(
                    f"{label}: hunk at line {hunk.old_start} of {path} "
                    "does not match the original.",
                    "the recipe's diff was made against another version of the file",
                )
            lines[at : at + len(hunk.old_lines)] = hunk.new_lines
            shift += len(hunk.new_lines) - len(hunk.old_lines)
        if fp.new_path is None:
            if any(line for line in lines):
                raise PatchError(
                    f"{label}: deleting {path} leaves lines the diff did not remove.", ""
                )
            changed[path] = None
        else:
            out = "\n".join(lines)
            if fp.old_path is None and not out.endswith("\n"):
                out += "\n"
            changed[path] = out.encode("utf-8")
    return changed
