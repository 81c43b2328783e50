"""Checking a pylock.toml the way a target machine would, from this Linux machine.

pip reads pylock.toml for the machine it runs on only (its selection uses this interpreter's
markers and tags, even with --platform), so the Mac environment of a lock is checked in two
steps: packaging's PEP 751 selector picks the packages a Mac would install, then a plain pip dry
run with macOS arm64 tags (`--platform macosx_14_0_arm64 --only-binary=:all: --require-hashes`)
proves that exactly that set, with those hashes, resolves for the Mac and needs nothing more.
Imported as `lockcheck` (tests/conftest.py puts tests/ on sys.path).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

from packaging.markers import default_environment
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import canonicalize_name

from helpers import run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tox on 3.9/3.10
    import tomli as tomllib
from packaging.pylock import Pylock  # packaging >= 26.1


def mac_environment(python: str) -> dict[str, str]:
    env = dict(default_environment())
    env.update(sys_platform="darwin", platform_system="Darwin", platform_machine="arm64",
               python_version=python, python_full_version=python + ".0", platform_release="23.0.0")
    return env


def mac_tags(python: str) -> list[Tag]:
    """The tags of CPython `python` on macOS 14 arm64, as packaging.tags.sys_tags would list them."""
    version = tuple(int(p) for p in python.split("."))
    platforms = list(mac_platforms((14, 0), "arm64"))
    return [*cpython_tags(version, platforms=platforms),
            *compatible_tags(version, interpreter="cp" + python.replace(".", ""), platforms=platforms)]


def select_for_mac(lock_path: Path, python: str) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256) of what a Mac with this Python installs from the lock."""
    lock = Pylock.from_dict(tomllib.loads(lock_path.read_text()))
    out = {}
    for package, dist in lock.select(environment=mac_environment(python),  # type: ignore[arg-type]
                                     tags=mac_tags(python)):
        out[canonicalize_name(str(package.name))] = (str(package.version), dist.hashes["sha256"])  # type: ignore[union-attr]
    return out


def mac_dry_run(lock_path: Path, python: str, env: Mapping[str, str], tmp: Path,
                extra: tuple[str, ...] = ()) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """(the lock's Mac selection, what pip's dry run with macOS arm64 tags resolves from it)."""
    chosen = select_for_mac(lock_path, python)
    reqs = tmp / "mac-requirements.txt"
    reqs.write_text("".join(f"{n}=={v} --hash=sha256:{h}\n" for n, (v, h) in sorted(chosen.items())))
    wheels = lock_path.parent / "wheels"
    report = tmp / "mac-report.json"
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--platform", "macosx_14_0_arm64", "--python-version", python, "--only-binary=:all:",
            "--target", str(tmp / "mac-scratch"), "--report", str(report), "-r", str(reqs), *extra]
    if wheels.is_dir():
        argv += ["--find-links", str(wheels)]
    result = run(argv, env)
    assert result.returncode == 0, result.describe()
    data = json.loads(report.read_text())
    got = {canonicalize_name(item["metadata"]["name"]): (item["metadata"]["version"],
                                               item["download_info"]["archive_info"]["hashes"]["sha256"])
           for item in data["install"]}
    return chosen, got
