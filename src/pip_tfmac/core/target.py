"""What we install into: OS, architecture, Python, macOS version, Rosetta.

Two ways to get a Target: from a real interpreter's facts (runners/probe_target.py asks it), or from
pip's cross-target options (`--platform`, `--python-version`, our `macos-arm64` shorthand).
The Target is a plain value; the planner never probes anything itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from packaging.tags import mac_platforms

from pip_tfmac.core.errors import UsageError

MACOS_ARM64 = "macos-arm64"
DEFAULT_MACOS = (14, 0)  # the oldest macOS the shorthand plans for (see README)


@dataclass(frozen=True)
class Target:
    system: str  # "macos", "linux", "windows" or another platform.system().lower()
    machine: str  # "arm64", "x86_64", "aarch64", ...
    python_version: str  # "3.11"
    python_full: str = ""
    macos_version: Optional[tuple[int, int]] = None
    rosetta: bool = False  # an x86_64 process translated on an arm64 Mac
    cross: bool = False  # planned from --platform/--python-version, not probed
    pip_platforms: tuple[str, ...] = ()  # the --platform tags handed to pip (cross only)
    interpreter: Optional[str] = None
    installed: Mapping[str, str] = field(default_factory=dict)  # family dists already present
    markers: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_macos_arm64(self) -> bool:
        return self.system == "macos" and self.machine == "arm64" and not self.rosetta

    @property
    def is_arm64_mac_hardware(self) -> bool:
        return self.system == "macos" and (self.machine == "arm64" or self.rosetta)

    @property
    def describe(self) -> str:
        if self.system == "macos":
            os_ = "macOS %d.%d" % self.macos_version if self.macos_version else "macOS"
        else:
            os_ = self.system.capitalize()
        arch = "x86_64 under Rosetta" if self.rosetta else self.machine
        return f"{os_} {arch}, Python {self.python_version}" + (" (cross-target)" if self.cross else "")

    def marker_env(self) -> dict[str, str]:
        return dict(self.markers)

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": f"{self.system}-{self.machine}",
            "system": self.system,
            "machine": self.machine,
            "python_version": self.python_version,
            "python_full_version": self.python_full or None,
            "macos_version": "%d.%d" % self.macos_version if self.macos_version else None,
            "rosetta": self.rosetta,
            "cross": self.cross,
            "pip_platforms": list(self.pip_platforms),
            "interpreter": self.interpreter,
            "installed": dict(self.installed),
        }


# -- cross targets -----------------------------------------------------------------------------

_MAC_TAG = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")


def _markers(system: str, machine: str, python: str, macos: Optional[tuple[int, int]]) -> dict[str, str]:
    sys_platform = {"macos": "darwin", "linux": "linux", "windows": "win32"}.get(system, system)
    platform_system = {"macos": "Darwin", "linux": "Linux", "windows": "Windows"}.get(system, system)
    release = ""
    if macos:  # Darwin kernel major = macOS major + 9 (macOS 11 and later)
        release = f"{macos[0] + 9}.0.0"
    full = python if python.count(".") >= 2 else python + ".0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "nt" if system == "windows" else "posix",
        "platform_machine": {"windows": "AMD64"}.get(system, machine) if machine == "x86_64" else machine,
        "platform_release": release,
        "platform_system": platform_system,
        "platform_version": "",
        "python_full_version": full,
        "platform_python_implementation": "CPython",
        "python_version": ".".join(python.split(".")[:2]),
        "sys_platform": sys_platform,
    }


def parse_python_version(text: str) -> str:
    """pip accepts "3.11", "311" and "3"; we need major.minor."""
    if re.fullmatch(r"\d\.\d+(\.\d+)?", text):
        return ".".join(text.split(".")[:2])
    if re.fullmatch(r"\d\d+", text):
        return f"{text[0]}.{text[1:]}"
    raise UsageError(
        f"--python-version {text!r} is not a Python version.",
        "give major.minor, for example --python-version 3.11",
    )


def parse_macos_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", text.strip())
    if not match or int(match.group(1)) < 11:
        raise UsageError(
            f"--macos-version {text!r} is not a macOS version on Apple Silicon.",
            "give 11 or later, for example --macos-version 14",
        )
    return int(match.group(1)), int(match.group(2) or 0)


def cross_target(
    platforms: Sequence[str], python_version: str, macos_version: Optional[str] = None
) -> Target:
    """A Target from pip's --platform values (or our shorthand) and --python-version."""
    python = parse_python_version(python_version)
    if MACOS_ARM64 in platforms or "macos_arm64" in platforms:
        others = [p for p in platforms if p not in (MACOS_ARM64, "macos_arm64")]
        if others:
            raise UsageError(
                f"--platform {MACOS_ARM64} cannot be combined with other --platform values ({', '.join(others)}).",
                "use either the shorthand (with --macos-version) or pip's own tags",
            )
        macos = parse_macos_version(macos_version) if macos_version else DEFAULT_MACOS
        tags = tuple(mac_platforms(macos, "arm64"))
        return Target("macos", "arm64", python, python, macos, cross=True, pip_platforms=tags,
                      markers=_markers("macos", "arm64", python, macos))
    if macos_version:
        raise UsageError(
            "--macos-version only applies to --platform macos-arm64.",
            "add --platform macos-arm64, or drop --macos-version",
        )
    system, machine, tag_macos = _classify_tags(platforms)
    return Target(system, machine, python, python, tag_macos, cross=True, pip_platforms=manylinux_ladder(platforms),
                  markers=_markers(system, machine, python, tag_macos))


_MANYLINUX = re.compile(r"^manylinux_2_(\d+)_(\w+)$")
_MANYLINUX2014 = re.compile(r"^manylinux2014_(\w+)$")


def manylinux_ladder(platforms: Sequence[str]) -> tuple[str, ...]:
    """pip matches each --platform tag exactly, but a machine with glibc 2.N runs every wheel
    for 2.17..2.N: `manylinux_2_28_aarch64` alone would miss TensorFlow's manylinux2014 wheels,
    and manylinux2014 is the old name of manylinux_2_17 (PEP 600), which some projects' wheels
    carry alone (ai-edge-litert 1.x on aarch64). Each manylinux_2_N tag (N >= 17) or
    manylinux2014 tag is followed by the older ones down to 2.17 and manylinux2014."""
    out: list[str] = []
    for tag in platforms:
        out.append(tag)
        m = _MANYLINUX.match(tag)
        old = _MANYLINUX2014.match(tag)
        if old:
            out += [f"manylinux_2_17_{old.group(1)}"]
        elif m and int(m.group(1)) >= 17:
            arch = m.group(2)
            out += [f"manylinux_2_{n}_{arch}" for n in range(int(m.group(1)) - 1, 16, -1)]
            out.append(f"manylinux2014_{arch}")
    return tuple(dict.fromkeys(out))


def _classify_tags(platforms: Sequence[str]) -> tuple[str, str, Optional[tuple[int, int]]]:
    systems: set[tuple[str, str]] = set()
    macos: Optional[tuple[int, int]] = None
    for tag in platforms:
        mac = _MAC_TAG.match(tag)
        if mac:
            arch = mac.group(3)
            arch = "arm64" if arch in ("arm64", "universal2") else arch
            systems.add(("macos", arch))
            version = (int(mac.group(1)), int(mac.group(2)))
            macos = max(macos, version) if macos else version
        elif tag.startswith(("manylinux", "musllinux", "linux")):
            systems.add(("linux", tag.split("_", 1)[1].split("_", 2)[-1] if "_" in tag else "x86_64"))
        elif tag.startswith("win"):
            systems.add(("windows", "arm64" if "arm64" in tag else "x86_64"))
        elif tag == "any":
            continue
        else:
            systems.add(("other", tag))
    # "macosx_14_0_arm64 macosx_14_0_universal2" is one target; two different OSes are not.
    if len({s for s, _ in systems}) != 1:
        raise UsageError(
            f"--platform values describe more than one kind of machine: {', '.join(platforms)}.",
            "plan for one target at a time",
        )
    system, machine = sorted(systems)[0]
    if system == "linux":
        machine = _linux_arch(platforms)
    return system, machine, macos


def _linux_arch(platforms: Sequence[str]) -> str:
    for tag in platforms:
        for arch in ("x86_64", "aarch64", "i686", "ppc64le", "s390x", "armv7l"):
            if tag.endswith(arch):
                return arch
    return "x86_64"


# -- from an interpreter's facts (gathered by runners/probe_target.py) ---------------------------


def target_from_facts(facts: Mapping[str, Any], python: Optional[str] = None) -> Target:
    """Build a Target from the probe's facts (also the seam tests use to inject a Mac)."""
    raw_system = str(facts["system"]).lower()
    system = {"darwin": "macos"}.get(raw_system, raw_system)
    machine = str(facts["machine"]).lower()
    machine = {"amd64": "x86_64"}.get(machine, machine)
    rosetta = bool(facts.get("translated")) and system == "macos"
    macos: Optional[tuple[int, int]] = None
    if system == "macos" and facts.get("mac_ver"):
        parts = [int(p) for p in str(facts["mac_ver"]).split(".")[:2]]
        macos = (parts[0], parts[1] if len(parts) > 1 else 0)
    full = str(facts["python_full"])
    return Target(
        system=system,
        machine=machine,
        python_version=".".join(full.split(".")[:2]),
        python_full=full,
        macos_version=macos,
        rosetta=rosetta,
        interpreter=facts.get("executable") or python,
        installed=dict(facts.get("installed", {})),
        markers=dict(facts.get("markers", {})),
    )
