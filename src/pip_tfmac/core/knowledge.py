"""The curated knowledge files (knowledge/*.toml), read into small immutable values.

Everything the planner decides comes from here: which distribution provides TensorFlow on
macOS arm64, which tensorflow-metal goes with which TF minor (and how sure we are), which
companions are coupled to the TF minor, and which releases have arm64 wheels per Python.
The files are package data, read by pip_tfmac.knowledge.load(); this module only parses
their content (no I/O). load() also attaches the link verdicts (links.toml, core/links.py), and
Knowledge.pair_state() combines them with the curated pairing: the state the planner, doctor and
the messages use (verified, link-checked, unverified, link-broken, broken).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pip_tfmac.core.linkcheck import LINK_BROKEN, LINK_CHECKED
from pip_tfmac.core.links import SOURCE_KNOWLEDGE, LinkRecord, LinkTable

VERIFIED = "verified"
UNVERIFIED = "unverified"
BROKEN = "broken"
# How sure a usable pair is, best first: a verified pair beats a link-checked one (linking is
# not running), which beats an unverified one (only with --allow-unverified-metal).
USABLE_ORDER = (VERIFIED, LINK_CHECKED, UNVERIFIED)
NEVER = (BROKEN, LINK_BROKEN)
LINKS_SOURCE = SOURCE_KNOWLEDGE


def minor_of(version: Version) -> str:
    return f"{version.major}.{version.minor}"


def parse_macos(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


@dataclass(frozen=True)
class TfName:
    name: NormalizedName
    gpu: bool
    note: str
    source: str


@dataclass(frozen=True)
class DroppedExtra:
    package: NormalizedName
    extra: str
    reason: str
    source: str


@dataclass(frozen=True)
class ElsewhereRename:
    name: NormalizedName
    becomes: NormalizedName
    reason: str
    source: str


@dataclass(frozen=True)
class UndeclaredBound:
    """A constraint a TensorFlow release needs but does not declare."""

    tensorflow: SpecifierSet
    constraint: str
    reason: str
    source: str


@dataclass(frozen=True)
class Boundary:
    """A TensorFlow version range that other rules depend on (e.g. Keras 3 as the default)."""

    name: str
    tensorflow: SpecifierSet
    reason: str
    source: str

    def holds_for(self, version: Version) -> bool:
        return self.tensorflow.contains(version, prereleases=True)


@dataclass(frozen=True)
class Provider:
    versions: SpecifierSet
    distribution: NormalizedName
    reason: str
    source: str


@dataclass(frozen=True)
class MetalPair:
    tensorflow: SpecifierSet
    metal: SpecifierSet
    min_macos: tuple[int, int]
    state: str
    literal: str
    evidence: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "tensorflow": str(self.tensorflow),
            "metal": str(self.metal),
            "min_macos": "%d.%d" % self.min_macos,
            "state": self.state,
            "literal": self.literal,
            "evidence": self.evidence,
            "source": self.source,
        }


@dataclass(frozen=True)
class MetalChoice:
    """A tensorflow-metal release for one TF version and Python, with the pair that allows it."""

    version: Version
    pair: MetalPair


@dataclass(frozen=True)
class Companion:
    name: NormalizedName
    same_minor: bool
    versions: Mapping[str, SpecifierSet]
    min_tensorflow: Optional[Version]
    source: str

    def allowed_for(self, tf_minor: str) -> Optional[SpecifierSet]:
        """Companion versions built for a TF minor; None when the knowledge has no rule."""
        if self.same_minor:
            if self.min_tensorflow is not None and Version(tf_minor) < self.min_tensorflow:
                return None
            return SpecifierSet(f"=={tf_minor}.*")
        return self.versions.get(tf_minor)


@dataclass(frozen=True)
class Knowledge:
    names: Mapping[NormalizedName, TfName]
    dropped_extras: tuple[DroppedExtra, ...]
    providers: tuple[Provider, ...]
    metal_pairs: tuple[MetalPair, ...]
    metal_source: str
    companions: Mapping[NormalizedName, Companion]
    wheels: Mapping[NormalizedName, Mapping[str, tuple[Version, ...]]]
    wheels_source: Mapping[NormalizedName, str] = field(default_factory=dict)
    elsewhere: tuple[ElsewhereRename, ...] = ()
    undeclared: tuple[UndeclaredBound, ...] = ()
    boundaries: Mapping[str, Boundary] = field(default_factory=dict)
    links: Optional[LinkTable] = None  # link verdicts (links.toml); None: curated states only

    def rename_elsewhere(self, name: str) -> Optional[ElsewhereRename]:
        for rule in self.elsewhere:
            if rule.name == canonicalize_name(name):
                return rule
        return None

    # -- wheels -------------------------------------------------------------------------------
    def arm64_versions(self, package: str, python: str) -> Optional[tuple[Version, ...]]:
        """Releases of `package` with a macOS arm64 wheel for `python` (X.Y), newest first.

        None when the knowledge does not track the package (nothing can be said about it).
        """
        per_python = self.wheels.get(canonicalize_name(package))
        if per_python is None:
            return None
        return per_python.get(python, ())

    def tracked_pythons(self, package: str) -> tuple[str, ...]:
        return tuple(self.wheels.get(canonicalize_name(package), {}))

    def tf_pythons(self) -> tuple[str, ...]:
        """The Pythons the wheel tables track for any TensorFlow provider, oldest first."""
        found = {py for p in self.providers for py in self.tracked_pythons(p.distribution)}
        return tuple(sorted(found, key=lambda v: tuple(int(x) for x in v.split("."))))

    def boundary(self, name: str) -> Boundary:
        return self.boundaries[name]

    def provided_by(self, version: Version) -> NormalizedName:
        """The distribution that is the real TensorFlow build of `version` on macOS arm64."""
        return self.provider_for(version).distribution

    # -- tensorflow names and providers --------------------------------------------------------
    def tf_name(self, name: str) -> Optional[TfName]:
        return self.names.get(canonicalize_name(name))

    def provider_for(self, version: Version) -> Provider:
        for provider in self.providers:
            if provider.versions.contains(version, prereleases=True):
                return provider
        raise LookupError(f"no provider rule covers tensorflow {version}")

    def tf_versions(self, python: str) -> tuple[Version, ...]:
        """Every TensorFlow release installable on macOS arm64 for `python`, by its provider."""
        found: set[Version] = set()
        for provider in self.providers:
            for version in self.arm64_versions(provider.distribution, python) or ():
                if provider.versions.contains(version):
                    found.add(version)
        return tuple(sorted(found, reverse=True))

    def dropped_extra(self, package: str, extra: str) -> Optional[DroppedExtra]:
        for rule in self.dropped_extras:
            if rule.package == canonicalize_name(package) and rule.extra == extra:
                return rule
        return None

    # -- tensorflow-metal ----------------------------------------------------------------------
    def metal_pairs_for(self, tf_version: Version) -> tuple[MetalPair, ...]:
        return tuple(p for p in self.metal_pairs if p.tensorflow.contains(tf_version, True))

    def metal_choice(
        self, tf_version: Version, python: str, *, allow_unverified: bool = False
    ) -> Optional[MetalChoice]:
        """The best tensorflow-metal for a TF version and Python: verified first, then
        link-checked, then (opted in) unverified; never broken or link-broken. Newest wins
        within a state."""
        choices = self.metal_choices(tf_version, python, allow_unverified=allow_unverified)
        return choices[0] if choices else None

    def metal_choices(
        self, tf_version: Version, python: str, *, allow_unverified: bool = False
    ) -> tuple[MetalChoice, ...]:
        """Every usable tensorflow-metal for a TF version and Python, best first (by
        USABLE_ORDER, newest first within a state); never a broken or link-broken pair."""
        wheels = self.arm64_versions("tensorflow-metal", python) or ()
        states = USABLE_ORDER if allow_unverified else USABLE_ORDER[:-1]
        found = [(pair, v) for v in wheels
                 for pair in [self.pair_state(tf_version, v)] if pair is not None]
        return tuple(MetalChoice(v, pair) for state in states for pair, v in found
                     if pair.state == state)

    def refused_metal(self, tf_version: Version, python: str) -> Optional[MetalChoice]:
        """The newest plugin wheel for this Python whose pair with `tf_version` is link-broken
        (or broken): what a CPU plan names as its reason."""
        for v in self.arm64_versions("tensorflow-metal", python) or ():
            pair = self.pair_state(tf_version, v)
            if pair is not None and pair.state in NEVER:
                return MetalChoice(v, pair)
        return None

    def metal_state(self, tf_version: Version, metal_version: Version) -> Optional[MetalPair]:
        """The curated pair rule that covers this exact combination, if any."""
        for pair in self.metal_pairs_for(tf_version):
            if pair.metal.contains(metal_version, True):
                return pair
        return None

    def link_record(self, tf_version: Version, metal_version: Version) -> Optional[LinkRecord]:
        return self.links.record(tf_version, metal_version) if self.links is not None else None

    def pair_state(self, tf_version: Version, metal_version: Version) -> Optional[MetalPair]:
        """The pair as the planner sees it: the curated rule combined with the link verdict.

        A curated `broken` stays broken; a link-broken verdict wins over any other curated
        state (one missing symbol fails `import tensorflow`, whatever a table printed); a
        curated `verified` stays verified; a link-checked verdict lifts an `unverified` or
        missing rule; an unverified rule with no verdict stays unverified.
        """
        curated = self.metal_state(tf_version, metal_version)
        record = self.link_record(tf_version, metal_version)
        if curated is not None and curated.state in (BROKEN, VERIFIED):
            if curated.state == BROKEN or record is None or record.links:
                return curated
        if record is None:
            return curated
        state = LINK_CHECKED if record.links else LINK_BROKEN
        evidence = record.evidence()
        if record.links and record.source == LINKS_SOURCE:
            evidence = f"link-checked from the wheels, not run on a Mac: {evidence}"
        needed = [v for v in record.min_macos.values() if v is not None]
        min_macos = curated.min_macos if curated is not None else max(needed, default=(12, 0))
        return MetalPair(
            tensorflow=SpecifierSet(f"=={tf_version}"), metal=SpecifierSet(f"=={metal_version}"),
            min_macos=min_macos, state=state, literal=curated.literal if curated else "",
            evidence=evidence, source=record.source,
        )

    def newest_metal(self) -> Optional[Version]:
        """The newest tensorflow-metal release with a wheel for any Python."""
        every = [v for vs in self.wheels.get(canonicalize_name("tensorflow-metal"), {}).values()
                 for v in vs]
        return max(every, default=None)

    def metal_wheel_pythons(self) -> tuple[str, ...]:
        return tuple(py for py, vs in self.wheels.get(canonicalize_name("tensorflow-metal"), {}).items() if vs)

    # -- companions ----------------------------------------------------------------------------
    def companion(self, name: str) -> Optional[Companion]:
        return self.companions.get(canonicalize_name(name))

    def family(self) -> frozenset[NormalizedName]:
        """Every name whose presence in a request makes pip-tfmac plan instead of pass through."""
        return frozenset(
            set(self.names) | set(self.companions) | {canonicalize_name("tensorflow-metal")}
        )


def _spec(text: str) -> SpecifierSet:
    return SpecifierSet(text)


def parse(tf: Mapping[str, Any], wheels: Mapping[str, Any]) -> Knowledge:
    """Knowledge from the parsed TOML of knowledge/tensorflow.toml and knowledge/wheels.toml."""
    metal = tf["metal"]
    names = {
        canonicalize_name(n["name"]): TfName(
            canonicalize_name(n["name"]), bool(n["gpu"]), n.get("note", ""), n["source"]
        )
        for n in tf["names"]
    }
    return Knowledge(
        names=names,
        dropped_extras=tuple(
            DroppedExtra(canonicalize_name(d["package"]), d["extra"], d["reason"], d["source"])
            for d in tf["dropped_extras"]
        ),
        providers=tuple(
            Provider(_spec(p["versions"]), canonicalize_name(p["distribution"]), p["reason"], p["source"])
            for p in tf["provider"]
        ),
        metal_pairs=tuple(
            MetalPair(
                tensorflow=_spec(p["tensorflow"]),
                metal=_spec(p["metal"]),
                min_macos=parse_macos(p.get("min_macos", metal["min_macos"])),
                state=p["state"],
                literal=p.get("literal", ""),
                evidence=p.get("evidence", ""),
                source=p.get("evidence_source", metal["source"]),
            )
            for p in metal["pair"]
        ),
        metal_source=metal["source"],
        companions={
            canonicalize_name(c["name"]): Companion(
                name=canonicalize_name(c["name"]),
                same_minor=bool(c.get("same_minor", False)),
                versions={k: _spec(v) for k, v in c.get("versions", {}).items()},
                min_tensorflow=Version(c["min_tensorflow"]) if "min_tensorflow" in c else None,
                source=c["source"],
            )
            for c in tf["companion"]
        },
        wheels={
            canonicalize_name(pkg): {
                py: tuple(sorted((Version(v) for v in vs), reverse=True))
                for py, vs in table.items()
                if py != "source"
            }
            for pkg, table in wheels["wheels"].items()
        },
        wheels_source={canonicalize_name(pkg): t["source"] for pkg, t in wheels["wheels"].items()},
        elsewhere=tuple(
            ElsewhereRename(canonicalize_name(e["name"]), canonicalize_name(e["becomes"]), e["reason"], e["source"])
            for e in tf.get("elsewhere", [])
        ),
        undeclared=tuple(
            UndeclaredBound(_spec(u["tensorflow"]), u["constraint"], u["reason"], u["source"])
            for u in tf.get("undeclared", [])
        ),
        boundaries={
            name: Boundary(name, _spec(b["tensorflow"]), b["reason"], b["source"])
            for name, b in tf.get("boundaries", {}).items()
        },
    )
