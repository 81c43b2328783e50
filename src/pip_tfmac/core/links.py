"""Link verdicts of TensorFlow/tensorflow-metal pairs as knowledge (knowledge/links.toml).

The curated pairing (tensorflow.toml) says `verified`, `unverified` or `broken` from the
plugin's own table and public reports. links.toml adds what the wheels themselves say, for every
pair a maintainer regenerated (tools/regen_links.py): `link-checked` (every import of the plugin
is exported by TensorFlow; never run on a Mac) or `link-broken` (with the missing symbols as the
evidence). Each record carries both wheels' sha256, so anyone can re-derive it. This module only
parses the file's content (no I/O); pip_tfmac.knowledge.load_links() reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from packaging.version import Version

from pip_tfmac.core.linkcheck import LINK_BROKEN, LINK_CHECKED, LinkVerdict, Missing, WheelRef, parse_macos

STATES = (LINK_CHECKED, LINK_BROKEN)
KNOWLEDGE = "knowledge"  # a verdict of knowledge/links.toml
HERE = "here"  # a verdict computed on this machine from the wheels pip fetched (wheelhouse)
SOURCE_KNOWLEDGE = "knowledge/links.toml"
SOURCE_HERE = "link check here, from the wheels pip fetched (wheelhouse verdicts/)"
SHOWN_MISSING = 5  # missing symbols a here-computed evidence line names


@dataclass(frozen=True)
class LinkRecord:
    """One pair's verdict as recorded; `missing` lists at most a few symbols (the first, sorted),
    `missing_count` all of them."""

    tensorflow: Version
    metal: Version
    state: str
    tensorflow_distribution: str
    tensorflow_wheel: WheelRef
    metal_wheel: WheelRef
    shim_wheel: Optional[WheelRef]
    missing: tuple[Missing, ...]
    missing_count: int
    min_macos: Mapping[str, Optional[tuple[int, int]]]
    scope: str
    checked_on: str
    tool: str
    origin: str = KNOWLEDGE

    @property
    def links(self) -> bool:
        return self.state == LINK_CHECKED

    @property
    def source(self) -> str:
        return SOURCE_HERE if self.origin == HERE else SOURCE_KNOWLEDGE

    def evidence(self) -> str:
        """One line a plan can print as the source of its choice."""
        wheels = (f"{self.metal_wheel.filename} (sha256 {self.metal_wheel.sha256[:12]}) with "
                  f"{self.tensorflow_wheel.filename} (sha256 {self.tensorflow_wheel.sha256[:12]})")
        if self.origin == HERE:
            # Not the knowledge's word: a release newer than it, checked on this machine.
            said = f"link-checked here from the wheels pip fetched, {wheels}, {self.checked_on}"
            if self.links:
                return f"{said}: links (every import is exported; not run on a Mac)"
            names = ", ".join(m.symbol for m in self.missing[:SHOWN_MISSING])
            more = f" and {self.missing_count - SHOWN_MISSING} more" if self.missing_count > SHOWN_MISSING else ""
            return f"{said}: link-broken, {self.missing_count} missing symbol(s): {names}{more}"
        if self.links:
            return f"link check of {wheels}, {self.checked_on}: every import is exported"
        first = self.missing[0].symbol if self.missing else "?"
        return (f"link check of {wheels}, {self.checked_on}: {self.missing_count} missing "
                f"symbol(s), e.g. {first}")


@dataclass(frozen=True)
class LinkTable:
    records: tuple[LinkRecord, ...]
    generated_on: str
    tool: str
    coverage: str
    source: str

    def record(self, tensorflow: Version, metal: Version) -> Optional[LinkRecord]:
        for rec in self.records:
            if rec.tensorflow == tensorflow and rec.metal == metal:
                return rec
        return None

    def for_tensorflow(self, tensorflow: Version) -> tuple[LinkRecord, ...]:
        """Every recorded plugin for a TensorFlow release, newest plugin first."""
        return tuple(sorted((r for r in self.records if r.tensorflow == tensorflow),
                            key=lambda r: r.metal, reverse=True))

    def linking_metals(self, tensorflow: Version) -> tuple[Version, ...]:
        return tuple(r.metal for r in self.for_tensorflow(tensorflow) if r.links)

    def with_records(self, added: tuple[LinkRecord, ...]) -> LinkTable:
        """This table with `added` (a pair already recorded is replaced by the added record)."""
        keys = {(r.tensorflow, r.metal) for r in added}
        kept = tuple(r for r in self.records if (r.tensorflow, r.metal) not in keys)
        return LinkTable(kept + tuple(added), self.generated_on, self.tool, self.coverage, self.source)


def _wheel(data: Mapping[str, Any], prefix: str) -> Optional[WheelRef]:
    name = data.get(f"{prefix}_wheel")
    if not name:
        return None
    return WheelRef(str(name), str(data[f"{prefix}_sha256"]))


def _missing(item: Mapping[str, Any]) -> Missing:
    library = item.get("library") or None
    return Missing(str(item["symbol"]), library, bool(item.get("lazy", False)),
                   bool(item.get("weak", False)), str(item.get("reason", "")))


def parse_pair(pair: Mapping[str, Any], defaults: Optional[Mapping[str, Any]] = None,
               origin: str = KNOWLEDGE) -> LinkRecord:
    """One record from a `[[pair]]` table (links.toml) or a cached verdict (same shape)."""
    defaults = defaults or {}
    state = str(pair["state"])
    if state not in STATES:
        raise ValueError(f"links.toml: unknown state {state!r} for tensorflow "
                         f"{pair.get('tensorflow')} with metal {pair.get('metal')}")
    tf_wheel = _wheel(pair, "tensorflow")
    metal_wheel = _wheel(pair, "metal")
    if tf_wheel is None or metal_wheel is None:
        raise ValueError("links.toml: every pair names both wheels and their sha256")
    missing = tuple(_missing(m) for m in pair.get("missing", []))
    return LinkRecord(
        tensorflow=Version(str(pair["tensorflow"])),
        metal=Version(str(pair["metal"])),
        state=state,
        tensorflow_distribution=str(pair.get("tensorflow_distribution", "tensorflow")),
        tensorflow_wheel=tf_wheel,
        metal_wheel=metal_wheel,
        shim_wheel=_wheel(pair, "shim"),
        missing=missing,
        missing_count=int(pair.get("missing_count", len(missing))),
        min_macos={str(k): parse_macos(str(v)) for k, v in pair.get("min_macos", {}).items()},
        scope=str(pair.get("scope", "full")),
        checked_on=str(pair.get("checked_on", defaults.get("generated_on", ""))),
        tool=str(pair.get("tool", defaults.get("tool", ""))),
        origin=origin,
    )


def parse_links(data: Mapping[str, Any]) -> LinkTable:
    """A LinkTable from the parsed TOML of knowledge/links.toml."""
    records = [parse_pair(pair, data) for pair in data.get("pair", [])]
    return LinkTable(tuple(records), str(data.get("generated_on", "")), str(data.get("tool", "")),
                     str(data.get("coverage", "")), str(data.get("source", "")))


def pair_of_verdict(tensorflow: str, metal: str, distribution: str, verdict: LinkVerdict,
                    shim: Optional[WheelRef], checked_on: str, tool: str,
                    keep: int = 20) -> dict[str, Any]:
    """A verdict as a `[[pair]]` table of links.toml (the shape parse_pair reads): the fatal
    missing symbols (the first `keep`), all of them counted."""
    tf_wheel = verdict.tensorflow[0]
    fatal = verdict.fatal()
    out: dict[str, Any] = {
        "tensorflow": tensorflow, "metal": metal, "state": verdict.knowledge_state,
        "scope": verdict.scope, "tensorflow_distribution": distribution,
        "tensorflow_wheel": tf_wheel.filename, "tensorflow_sha256": tf_wheel.sha256,
        "metal_wheel": verdict.plugin.filename, "metal_sha256": verdict.plugin.sha256,
        "checked_on": checked_on, "tool": tool, "missing_count": len(fatal),
        "min_macos": {k.rsplit("/", 1)[-1]: ("%d.%d" % mv if mv else "")
                      for k, mv in verdict.min_macos.items()},
        "missing": [{"symbol": m.symbol, "library": m.library, "lazy": m.lazy, "weak": m.weak}
                    for m in fatal[:keep]],
    }
    if shim is not None:
        out["shim_wheel"], out["shim_sha256"] = shim.filename, shim.sha256
    return out
