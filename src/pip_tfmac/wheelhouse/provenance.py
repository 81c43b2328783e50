"""Why a built wheel exists: Provenance (the rule, its source, what it was made from).

Recorded in the wheel (`<dist-info>/pip_tfmac_provenance.json`) and in the wheelhouse index,
so a wheel pip-tfmac built can always be traced back to the knowledge that asked for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pip_tfmac.wheelhouse.wheelread import (
    WheelSource,
    find_dist_info,
    open_zip,
    read_wheel_metadata,
)

PROVENANCE_FILE = "pip_tfmac_provenance.json"
PROVENANCE_FORMAT = 1
GENERATOR = "pip-tfmac"  # no version: a builder upgrade must not change the bytes by itself


@dataclass(frozen=True)
class Origin:
    """One distribution a built wheel was made from (or stands in for)."""

    name: str
    version: str
    sha256: str = ""  # of the original wheel file; empty when there is no file (alias target)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Origin:
        return cls(str(data["name"]), str(data["version"]), str(data.get("sha256", "")))

    @classmethod
    def of_wheel(cls, wheel: bytes) -> Origin:
        """The Origin of an original wheel's bytes: its metadata name/version and sha256."""
        meta = read_wheel_metadata(wheel)
        return cls(str(meta["Name"]), str(meta["Version"]), hashlib.sha256(wheel).hexdigest())


@dataclass(frozen=True)
class Provenance:
    """Why a wheel exists: the knowledge rule that asked for it and what it was made from."""

    rule: str
    source: str
    made_from: tuple[Origin, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "source": self.source,
            "made_from": [origin.to_json() for origin in self.made_from],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(
            rule=str(data.get("rule", "")),
            source=str(data.get("source", "")),
            made_from=tuple(Origin.from_json(o) for o in data.get("made_from", ())),
        )


def provenance_bytes(provenance: Provenance, name: str, version: str) -> bytes:
    payload = {
        "format": PROVENANCE_FORMAT,
        "built_by": GENERATOR,
        "name": name,
        "version": version,
        **provenance.to_json(),
    }
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode("utf-8")


def read_wheel_provenance(wheel: WheelSource) -> Provenance | None:
    """The provenance recorded in a wheel pip-tfmac built, or None for any other wheel."""
    with open_zip(wheel) as zf:
        path = f"{find_dist_info(zf)}/{PROVENANCE_FILE}"
        if path not in zf.namelist():
            return None
        return Provenance.from_json(json.loads(zf.read(path)))
