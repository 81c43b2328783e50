"""TensorFlow by any road: the family packages a resolution brings in that the request did not
name (a dependency at any depth, an extra, a local project, a PEP 723 script).

Pure: pip's resolution (names, versions, Requires-Dist) or the asks of a failed one in, the
requests to plan "as if the user had named them" out; each says by which road it came.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pip_tfmac.core.explain import USER, Ask
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.requests import Request
from pip_tfmac.core.target import Target


@dataclass(frozen=True)
class Resolved:
    """One distribution of pip's resolution, with the requirements its metadata declares."""

    name: str
    version: str
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arrival:
    """A family distribution the request did not name, and who brought it in."""

    name: NormalizedName
    requirement: str  # what to plan: the bare name, or the specifier a dependent asked for
    parents: tuple[str, ...]

    def request(self) -> Request:
        road = ", ".join(self.parents) if self.parents else "a project or script"
        return Request(self.requirement, origin=f"dependency of {road}")


def watched(knowledge: Knowledge, target: Target, recipe_names: Iterable[str] = ()) -> frozenset[NormalizedName]:
    """The names whose arrival changes the plan on this target. On macOS arm64 every family name
    (TensorFlow's distribution, the plugin, the companions); elsewhere only those a rule rewrites
    or refuses (tensorflow-macos, tensorflow-metal) and the recipes' packages."""
    recipes = {canonicalize_name(n) for n in recipe_names}
    if target.is_macos_arm64 or target.rosetta:
        return knowledge.family() | recipes
    renamed = {rule.name for rule in knowledge.elsewhere}
    return frozenset(renamed | {canonicalize_name("tensorflow-metal")} | recipes)


def named_in(requests: Sequence[Request]) -> set[NormalizedName]:
    out = set()
    for request in requests:
        req = request.requirement
        if req is not None:
            out.add(canonicalize_name(req.name))
    return out


def arrivals_in_resolution(items: Sequence[Resolved], watch: frozenset[NormalizedName],
                           named: set[NormalizedName]) -> tuple[Arrival, ...]:
    """Watched distributions pip resolved that no request names, with the dists requiring them."""
    found = []
    for item in items:
        name = canonicalize_name(item.name)
        if name not in watch or name in named:
            continue
        parents = tuple(sorted(f"{other.name} {other.version}" for other in items
                               if name in _required_names(other.requires)))
        found.append(Arrival(name, item.name, parents))
    return tuple(found)


def arrivals_in_failure(asks: Sequence[Ask], watch: frozenset[NormalizedName],
                        named: set[NormalizedName]) -> tuple[Arrival, ...]:
    """Watched requirements a dependent asked for in a resolution pip could not finish."""
    found: list[Arrival] = []
    for ask in asks:
        req = ask.parsed
        if req is None or ask.by == USER:
            continue
        name = canonicalize_name(req.name)
        if name in watch and name not in named and all(a.name != name for a in found):
            req.marker = None
            found.append(Arrival(name, str(req), (ask.by,)))
    return tuple(found)


def _required_names(requires: Sequence[str]) -> set[NormalizedName]:
    names = set()
    for text in requires:
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    return names
