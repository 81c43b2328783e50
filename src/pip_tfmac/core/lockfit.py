"""Does a pylock.toml fit the target? PURE: (lock, target, knowledge) -> problems.

A lock fits when one of its environments holds for the target, every package selected for the
target has a file, and on a Mac (arm64, a Python tensorflow-metal has wheels for) its
TensorFlow and tensorflow-metal are a pair the knowledge does not call broken, and the plugin is
there when the knowledge has one for that TensorFlow. Every problem names the `pip-tfmac lock`
command that writes a lock that fits (NoConsistentSetError, exit 67).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pip_tfmac.core.knowledge import BROKEN, Knowledge
from pip_tfmac.core.plan import Problem
from pip_tfmac.core.pylock import LockView, target_env_text
from pip_tfmac.core.target import Target

KIND = "NoConsistentSetError"
TF_NAMES = ("tensorflow", "tensorflow-macos")


def marker_env(target: Target) -> dict[str, str]:
    """The target's marker values (a probed target carries none: made from its facts)."""
    if target.markers:
        return target.marker_env()
    sys_platform = {"macos": "darwin", "linux": "linux", "windows": "win32"}.get(target.system, target.system)
    system = {"macos": "Darwin", "linux": "Linux", "windows": "Windows"}.get(target.system, target.system)
    return {"sys_platform": sys_platform, "platform_system": system, "platform_machine": target.machine,
            "python_version": target.python_version,
            "python_full_version": target.python_full or target.python_version + ".0"}


def fix_command(view: LockView, target: Target, lock_path: str, requirements: str) -> str:
    """`pip-tfmac lock` for every target the lock had, plus this one."""
    envs = [str(t.get("target-env")) for t in view.targets if t.get("target-env")]
    mine = target_env_text(target)
    if mine not in envs:
        envs.append(mine)
    options = " ".join(f"--target-env {e}" for e in envs)
    return f"pip-tfmac lock -o {shlex.quote(lock_path)} {options} {requirements}"


def requirements_hint(view: LockView) -> str:
    """What the lock was made from (pip-tfmac records it); for another tool's lock, PEP 751 does
    not record the requested names: a placeholder naming its TensorFlow."""
    if view.lock_args:
        return shlex.join(view.lock_args)
    names = {canonicalize_name(str(p.get("name", ""))) for p in view.packages}
    tf = [n for n in TF_NAMES if n in names]
    return "REQUIREMENTS" if not tf else f"{tf[0]} ...  (the lock's own requirements)"


def lock_problems(view: LockView, target: Target, knowledge: Knowledge, lock_path: str) -> list[Problem]:
    markers = marker_env(target)
    fix = fix_command(view, target, lock_path, requirements_hint(view))
    if not view.fits(markers):
        made_for = "; ".join(str(t.get("target", "?")) for t in view.targets) or "; ".join(view.environments)
        return [Problem(KIND, f"{lock_path} has no environment for {target.describe} (it was locked for: "
                        f"{made_for}); nothing was installed.", fix)]
    problems: list[Problem] = []
    missing = [str(p.get("name")) for p in view.packages if _selected(p, markers) and not _has_file(p)]
    if missing:
        problems.append(Problem(KIND, f"{lock_path} lists no file for {', '.join(missing)} on {target.describe}; "
                                "nothing was installed.", fix))
    if target.is_macos_arm64:
        problems += _metal_problems(view.select(markers), target, knowledge, lock_path, fix)
    return problems


def _selected(package: Mapping[str, object], markers: Mapping[str, str]) -> bool:
    marker = package.get("marker")
    return not marker or Marker(str(marker)).evaluate(dict(markers))


def _has_file(package: Mapping[str, object]) -> bool:
    return any(package.get(key) for key in ("wheels", "sdist", "archive", "directory", "vcs"))


def _metal_problems(selected: Mapping[str, str], target: Target, knowledge: Knowledge,
                    lock_path: str, fix: str) -> list[Problem]:
    tf_name = next((n for n in TF_NAMES if n in selected), None)
    if tf_name is None:
        return []
    try:
        tf = Version(Version(selected[tf_name]).public)
        metal = Version(selected["tensorflow-metal"]) if "tensorflow-metal" in selected else None
    except InvalidVersion:
        return []
    if metal is None:
        choice = knowledge.metal_choice(tf, target.python_version)
        if choice is None:
            return []  # no plugin exists for this TensorFlow and Python: CPU only, as planned
        return [Problem(KIND, f"{lock_path} installs {tf_name} {tf} on {target.describe} without tensorflow-metal "
                        f"(the GPU plugin; {choice.version} pairs with it): TensorFlow would run on the CPU only. "
                        "Nothing was installed.", fix)]
    pair = knowledge.metal_state(tf, metal)
    if pair is not None and pair.state == BROKEN:
        return [Problem(KIND, f"{lock_path} pairs {tf_name} {tf} with tensorflow-metal {metal}, a pair known not to "
                        f"work ({pair.source}); nothing was installed.", fix)]
    return []
