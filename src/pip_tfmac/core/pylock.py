"""PEP 751 lock files (pylock.toml) as values: written from planned resolutions, read back.

One requirement set, several targets: each target is an environment of the lock (its marker in
`environments`), each package carries the marker of the targets it belongs to, each wheel its
sha256. The wheels pip-tfmac built (aliases, patched) are referenced by a `path` relative to the
lock (a folder next to it) or by the URL of the index they were published to. What pip-tfmac
planned per target (TensorFlow and tensorflow-metal) goes into `[tool.pip-tfmac]`.

Pure: dictionaries in, dictionaries out; the TOML text is written and read by flows/lock.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pip_tfmac.core.errors import BadInputError, UsageError
from pip_tfmac.core.target import MACOS_ARM64, Target

LOCK_VERSION = "1.0"
TOOL = "pip-tfmac"
# Linux shorthands: glibc 2.28 (manylinux_2_28) and every older manylinux tag, newest first (pip
# does not expand manylinux_2_x tags itself; it adds manylinux2010/1 to manylinux2014 on x86_64).
LINUX_GLIBC = 28
LINUX_TAGS = {
    f"linux-{arch}": tuple(f"manylinux_2_{minor}_{arch}" for minor in range(LINUX_GLIBC, 16, -1)) + (f"manylinux2014_{arch}",)
    for arch in ("x86_64", "aarch64")
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class TargetEnv:
    """One `--target-env PLATFORM@PYTHON` value: pip --platform tags (or a shorthand) and a Python."""

    platforms: tuple[str, ...]
    python: str
    text: str

    def pip_options(self) -> list[str]:
        out: list[str] = []
        for tag in self.platforms:
            out += ["--platform", tag]
        return out + ["--python-version", self.python]


def parse_target_env(text: str) -> TargetEnv:
    """`macos-arm64@3.11`, `linux-x86_64@3.12`, or pip tags: `manylinux_2_17_x86_64,linux_x86_64@3.11`."""
    platform, at, python = text.strip().partition("@")
    if not at or not platform or not re.fullmatch(r"3\.\d+", python):
        raise UsageError(
            f"--target-env {text!r} is not PLATFORM@PYTHON.",
            "for example --target-env macos-arm64@3.11 --target-env linux-x86_64@3.11 "
            "(or pip tags: --target-env manylinux_2_17_x86_64@3.11)",
        )
    if platform in (MACOS_ARM64, "macos_arm64"):
        return TargetEnv((MACOS_ARM64,), python, text)
    tags = LINUX_TAGS.get(platform) or tuple(t for t in platform.split(",") if t)
    return TargetEnv(tags, python, text)


def env_marker(target: Target) -> str:
    """The marker that says "this target": OS, machine and Python minor."""
    sys_platform = {"macos": "darwin", "linux": "linux", "windows": "win32"}.get(target.system, target.system)
    machine = target.markers.get("platform_machine") or target.machine
    return (f"sys_platform == '{sys_platform}' and platform_machine == '{machine}' "
            f"and python_version == '{target.python_version}'")


def target_env_text(target: Target) -> str:
    """The `--target-env` value that locks for this target again."""
    if target.is_macos_arm64:
        platform = MACOS_ARM64
    elif target.system == "linux" and f"linux-{target.machine}" in LINUX_TAGS:
        platform = f"linux-{target.machine}"
    else:
        platform = ",".join(target.pip_platforms) or f"{target.system}-{target.machine}"
    return f"{platform}@{target.python_version}"


@dataclass(frozen=True)
class LockedWheel:
    name: str  # canonical project name
    version: str
    filename: str
    sha256: str
    url: str = ""  # where pip found it (empty when `path` is used)
    path: str = ""  # relative to the lock file, for wheels pip-tfmac built


@dataclass(frozen=True)
class LockedEnv:
    """One target's resolved set, with what pip-tfmac planned for it."""

    target: Target
    wheels: tuple[LockedWheel, ...]
    tensorflow: Optional[str] = None  # "tensorflow==2.18.1" (or tensorflow-macos==...)
    metal: Optional[str] = None  # "tensorflow-metal==1.2.0"
    built: tuple[str, ...] = ()  # filenames of the wheels pip-tfmac built for it

    @property
    def marker(self) -> str:
        return env_marker(self.target)


def requires_python(envs: Sequence[LockedEnv]) -> str:
    versions = sorted({e.target.python_version for e in envs}, key=lambda v: tuple(int(p) for p in v.split(".")))
    return f"=={versions[0]}.*" if len(versions) == 1 else f">={versions[0]}"


def build_lock(envs: Sequence[LockedEnv], lock_args: Sequence[str] = ()) -> dict[str, Any]:
    """The pylock.toml document (a dict for tomli-w) for these targets. `lock_args`: the
    requirements and install options it was locked from (no credentials), to lock it again."""
    markers = [e.marker for e in envs]
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for env in envs:
        for wheel in env.wheels:
            key = (wheel.name, wheel.version)
            entry = by_key.setdefault(key, {"envs": [], "wheels": {}})
            if env.marker not in entry["envs"]:
                entry["envs"].append(env.marker)
            entry["wheels"].setdefault(wheel.filename, wheel)
    packages = []
    for (name, version), entry in sorted(by_key.items()):
        package: dict[str, Any] = {"name": name, "version": version}
        if len(entry["envs"]) < len(markers):
            package["marker"] = " or ".join(f"({m})" for m in entry["envs"])
        package["wheels"] = [_wheel_table(w) for _, w in sorted(entry["wheels"].items())]
        packages.append(package)
    tool_envs = []
    for env in envs:
        row: dict[str, Any] = {"marker": env.marker, "target": env.target.describe,
                               "target-env": target_env_text(env.target)}
        if env.tensorflow:
            row["tensorflow"] = env.tensorflow
        if env.metal:
            row["tensorflow-metal"] = env.metal
        if env.built:
            row["built"] = list(env.built)
        tool_envs.append(row)
    return {
        "lock-version": LOCK_VERSION,
        "environments": markers,
        "requires-python": requires_python(envs),
        "created-by": TOOL,
        "packages": packages,
        "tool": {TOOL: {"lock-version": 1, "lock-args": list(lock_args), "targets": tool_envs}},
    }


def _wheel_table(wheel: LockedWheel) -> dict[str, Any]:
    table: dict[str, Any] = {"name": wheel.filename}
    if wheel.path:
        table["path"] = wheel.path
    else:
        table["url"] = wheel.url
    table["hashes"] = {"sha256": wheel.sha256}
    return table


# -- reading a lock back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LockView:
    """What pip-tfmac needs of a lock: its environments, its packages, its planned pairs."""

    environments: tuple[str, ...]
    packages: tuple[Mapping[str, Any], ...]
    targets: tuple[Mapping[str, Any], ...] = field(default=())
    lock_args: tuple[str, ...] = ()  # what pip-tfmac locked it from (empty: another tool's lock)

    def select(self, markers: Mapping[str, str]) -> dict[str, str]:
        """name -> version of the packages whose marker holds for these marker values."""
        out: dict[str, str] = {}
        for package in self.packages:
            marker = package.get("marker")
            if marker and not Marker(marker).evaluate(dict(markers)):
                continue
            out[canonicalize_name(package["name"])] = str(package.get("version", ""))
        return out

    def fits(self, markers: Mapping[str, str]) -> bool:
        return not self.environments or any(Marker(m).evaluate(dict(markers)) for m in self.environments)


def read_lock(data: Mapping[str, Any], where: str) -> LockView:
    """Check the parts of PEP 751 pip-tfmac relies on; a malformed lock is BadInputError (65)."""

    def bad(why: str) -> BadInputError:
        return BadInputError(f"{where} is not a valid pylock.toml: {why}.",
                             "write it again with `pip-tfmac lock -o FILE` (or `pip lock`, `uv export --format pylock.toml`)")

    version = data.get("lock-version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise bad(f"lock-version is {version!r}, expected \"1.0\"")
    environments = data.get("environments", [])
    packages = data.get("packages")
    if not isinstance(environments, list) or not isinstance(packages, list):
        raise bad("`environments` and `packages` must be arrays")
    try:
        for marker in environments:
            Marker(str(marker))
        for package in packages:
            if not isinstance(package, dict) or not isinstance(package.get("name"), str):
                raise bad("a package without a name")
            if "version" in package:
                Version(str(package["version"]))
            if package.get("marker"):
                Marker(str(package["marker"]))
            for wheel in package.get("wheels", []) or []:
                sha = ((wheel.get("hashes") or {}).get("sha256") or "") if isinstance(wheel, dict) else ""
                if not _SHA256.match(str(sha)):
                    raise bad(f"wheel {wheel.get('name', '?') if isinstance(wheel, dict) else wheel!r} of "
                              f"{package['name']} has no valid sha256")
    except (InvalidMarker, InvalidVersion) as exc:
        raise bad(str(exc)) from None
    tool = ((data.get("tool") or {}).get(TOOL) or {}) if isinstance(data.get("tool"), dict) else {}
    targets = tuple(t for t in tool.get("targets", []) if isinstance(t, dict)) if isinstance(tool, dict) else ()
    args = tool.get("lock-args", []) if isinstance(tool, dict) else []
    lock_args = tuple(str(a) for a in args) if isinstance(args, list) else ()
    return LockView(tuple(str(m) for m in environments), tuple(packages), targets, lock_args)
