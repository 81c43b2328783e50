"""Why pip could not resolve a set, said from the knowledge: which TensorFlow-family package,
which version was asked and by whom, and which versions exist for the target.

The asks come from pip's own failure text (`Could not find a version that satisfies the
requirement X (from Y)`, and the `A 1.0 depends on X` lines of a conflict) or from the resolver
hook's structured causes. Pure: text and values in, a Problem (exit 67) or None out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.plan import Problem, tf_minors, versions_text
from pip_tfmac.core.target import Target

USER = "the request"


@dataclass(frozen=True)
class Ask:
    """One requirement in a failed resolution, and who asked for it."""

    requirement: str  # "tensorflow-text~=2.15.0"
    by: str = USER  # "tf-models-official 2.15.0", or USER

    @property
    def parsed(self) -> Optional[Requirement]:
        try:
            return Requirement(self.requirement)
        except InvalidRequirement:
            return None


_NOT_FOUND = re.compile(
    r"Could not find a version that satisfies the requirement (?P<req>.+?)"
    r"(?: \(from (?P<by>(?!versions:)[^)]*)\))?(?: \(from versions: [^)]*\))?\s*$", re.M)
_DEPENDS = re.compile(r"^\s+(?P<name>[\w.\-]+) (?P<version>\S+) depends on (?P<req>.+?)\s*$", re.M)
_USER = re.compile(r"^\s+The user requested (?P<req>.+?)\s*$", re.M)


def asks_from_pip_text(text: str) -> tuple[Ask, ...]:
    """The asks pip names in its failure text (stderr), in order, without repeats."""
    found: list[Ask] = []
    for m in _NOT_FOUND.finditer(text):
        by = (m.group("by") or "").strip()
        found.append(Ask(m.group("req").strip(), by or USER))
    for m in _DEPENDS.finditer(text):
        found.append(Ask(m.group("req"), f"{m.group('name')} {m.group('version')}"))
    for m in _USER.finditer(text):
        found.append(Ask(m.group("req").split(" (")[0], USER))
    unique: list[Ask] = []
    for ask in found:
        if ask not in unique:
            unique.append(ask)
    return tuple(unique)


def explain_unavailable(asks: Sequence[Ask], target: Target, knowledge: Knowledge) -> Optional[Problem]:
    """A family package asked at some depth that has no build for the target: say so, with who
    asked and what exists. None when the knowledge has nothing to say (pip's text stands)."""
    if not target.is_macos_arm64:
        return None  # the wheel tables are about macOS arm64
    py = target.python_version
    for ask in asks:
        req = ask.parsed
        if req is None or canonicalize_name(req.name) not in knowledge.family():
            continue
        name = canonicalize_name(req.name)
        available = knowledge.tf_versions(py) if knowledge.tf_name(name) else knowledge.arm64_versions(name, py)
        if available is None or any(req.specifier.contains(v, prereleases=True) for v in available):
            continue
        who = "the request" if ask.by == USER else ask.by
        message = (f"{req} (asked by {who}) has no macOS arm64 build for Python {py}, so pip cannot "
                   f"resolve the set for {target.describe}.")
        if available:
            remedy = f"{req.name} releases with macOS arm64 wheels for Python {py}: {versions_text(available)}"
            companion = knowledge.companion(name)
            if companion is not None and companion.same_minor:
                remedy += (f"; each goes with the same TensorFlow minor ({', '.join(tf_minors(available)[:4])}...): "
                           f"choose a release of {who if ask.by != USER else req.name} built for one of them")
        else:
            remedy = f"{req.name} has no macOS arm64 wheel for Python {py} at all"
        return Problem("NoConsistentSetError", message, remedy)
    return None
