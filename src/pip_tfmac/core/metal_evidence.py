"""How the planner weighs the evidence behind a TensorFlow/tensorflow-metal pair (issue 12).

Rules kept apart from the step-1 planner so each reads on its own: which TensorFlow releases
the plan may prefer, by the evidence of their plugin (verified before link-checked before
unverified); what a target Python without any plugin wheel is told, from the link verdicts; and
for releases newer than the knowledge (part 4), whether a request reaches past what the
knowledge lists, which pair the plan must link-check itself, and the knowledge with the verdicts
computed here added (flows/newer_pairs.py fetches the wheels and runs the check).
Pure: Knowledge values in, values and text out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, Optional, Sequence

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pip_tfmac.core.knowledge import BROKEN, USABLE_ORDER, VERIFIED, Knowledge, MetalChoice
from pip_tfmac.core.links import LinkRecord, LinkTable

METAL = canonicalize_name("tensorflow-metal")


def best_evidence(usable: Sequence[Version],
                  capable: Callable[[Version], Optional[MetalChoice]]) -> list[Version]:
    """Keep the TensorFlow releases whose plugin has the best evidence: a verified pair wherever
    the request admits one; link-checked ones only when it admits no verified pair; unverified
    ones (opted in) only when it admits neither. Order is kept (newest first)."""
    states = {v: choice.pair.state for v in usable for choice in [capable(v)] if choice is not None}
    for state in USABLE_ORDER:
        best = [v for v in usable if states.get(v) == state]
        if best:
            return best
    return []


def newer_python_note(knowledge: Knowledge, python: str) -> str:
    """For a Python with no tensorflow-metal wheel: does any TensorFlow with a wheel for it link
    with the newest plugin? The plugin library links no libpython (it is byte-identical across the
    cp39-cp312 wheels of 1.2.0), so if one links, the only thing missing is a wheel tagged for
    this Python; if none links, a re-tagged wheel would break `import tensorflow` too.
    Empty when the link table says nothing about these releases."""
    newest = knowledge.newest_metal()
    tf_here = knowledge.tf_versions(python)
    if newest is None or not tf_here or knowledge.links is None:
        return ""
    records = {v: knowledge.link_record(v, newest) for v in tf_here}
    judged = {v: r for v, r in records.items() if r is not None}
    if not judged:
        return ""
    names = ", ".join(str(v) for v in sorted(judged, reverse=True))
    linking = sorted((v for v, r in judged.items() if r.links), reverse=True)
    if not linking:
        first = next(iter(judged.values()))
        symbol = first.missing[0].symbol if first.missing else "?"
        return (f" No TensorFlow with a Python {python} wheel ({names}) links with tensorflow-metal "
                f"{newest}, the newest plugin (knowledge/links.toml: e.g. {symbol} is missing), so a "
                f"plugin wheel re-tagged for Python {python} would not work either.")
    return (f" TensorFlow {linking[0]} (which has a Python {python} wheel) links with "
            f"tensorflow-metal {newest} (link-checked from the wheels, not run on a Mac): the plugin "
            f"library does not depend on the Python version, so a {newest} wheel re-tagged for "
            f"Python {python} (built locally, e.g. `wheel tags --python-tag "
            f"cp{python.replace('.', '')} --abi-tag cp{python.replace('.', '')}`) would be the "
            f"whole missing piece, with tensorflow=={linking[0]}.")


# -- releases newer than the knowledge (issue 12 part 4) ------------------------------------------

def newer_than_known(spec: SpecifierSet, known: Iterable[Version]) -> Optional[Version]:
    """A release `spec` admits that is newer than every release in `known` (a probe: the
    versions the specifier names, and the next patch, minor and major after the newest known),
    or None. A pin such as tensorflow==2.22.0 past the knowledge's newest release is then handed
    to pip, which knows the index, instead of being refused as a release without a wheel."""
    newest = max(known, default=None)
    if newest is None:
        return None
    probes: set[Version] = set()
    for item in spec:
        text = item.version.removesuffix(".*")
        try:
            probes.add(Version(text))
        except InvalidVersion:
            continue
    major, minor, micro = (*newest.release, 0, 0)[:3]
    probes |= {Version(f"{major}.{minor}.{micro + 1}"), Version(f"{major}.{minor + 1}.0"),
               Version(f"{major + 1}.0.0")}
    for probe in sorted(probes):
        if probe > newest and spec.contains(probe, prereleases=True):
            return probe
    return None


def known_tensorflow(knowledge: Knowledge) -> tuple[Version, ...]:
    """Every TensorFlow release the knowledge lists for macOS arm64, any Python."""
    return tuple(sorted({v for py in knowledge.tf_pythons() for v in knowledge.tf_versions(py)}))


def known_metal(knowledge: Knowledge) -> tuple[Version, ...]:
    """Every tensorflow-metal release the knowledge lists, any Python."""
    return tuple(sorted({v for py in knowledge.tracked_pythons(METAL)
                         for v in knowledge.arm64_versions(METAL, py) or ()}))


def metal_to_check(knowledge: Knowledge, tf_version: Version, python: str,
                   metal_spec: Optional[SpecifierSet] = None,
                   resolved_metal: Optional[Version] = None) -> Optional[Version]:
    """The tensorflow-metal release whose pair with `tf_version` the plan link-checks itself,
    or None when the knowledge already decides: a verified plugin the request admits (verified
    first), or a pair with a link verdict or a curated verified/broken rule. The candidate is
    the plugin pip resolved (`resolved_metal`, perhaps newer than the knowledge), else the
    newest the request admits (`metal_spec`) among the knowledge's wheels for `python`."""
    spec = metal_spec or SpecifierSet()
    for choice in knowledge.metal_choices(tf_version, python):
        if choice.pair.state == VERIFIED and spec.contains(choice.version, prereleases=True):
            return None
    if resolved_metal is not None and spec.contains(resolved_metal, prereleases=True):
        candidate = resolved_metal
    else:
        known = [v for v in knowledge.arm64_versions(METAL, python) or () if spec.contains(v, prereleases=True)]
        if not known:
            return None
        candidate = max(known)
    if knowledge.link_record(tf_version, candidate) is not None:
        return None
    curated = knowledge.metal_state(tf_version, candidate)
    if curated is not None and curated.state in (VERIFIED, BROKEN):
        return None
    return candidate


def with_verdicts(knowledge: Knowledge, records: Sequence[LinkRecord], python: str) -> Knowledge:
    """The knowledge with verdicts computed here added to its link table, and their plugin
    releases to its wheel table for `python` (pip fetched a wheel of each for that Python)."""
    if not records:
        return knowledge
    table = knowledge.links or LinkTable((), "", "", "", "")
    wheels = dict(knowledge.wheels)
    metal = dict(wheels.get(METAL, {}))
    have = set(metal.get(python, ()))
    metal[python] = tuple(sorted(have | {r.metal for r in records}, reverse=True))
    wheels[METAL] = metal
    return replace(knowledge, links=table.with_records(tuple(records)), wheels=wheels)
