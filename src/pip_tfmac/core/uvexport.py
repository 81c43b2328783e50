"""`export --uv`: the `[tool.uv]` settings that make `uv lock`/`uv sync` give the planned set on a
Mac. PURE: locked targets in, TOML-ready values out.

uv resolves one universal lock for every platform, so what pip-tfmac planned for macOS arm64 goes
in as `constraint-dependencies` limited by the target's marker (TensorFlow pinned to the version
the tensorflow-metal plugin pairs with, and the plugin itself). Constraints, not
`override-dependencies`: an override replaces every requirement on the package on every
platform (a Mac-only override would drop TensorFlow from Linux), a constraint only narrows it
where its marker holds. Settings cannot add a package, so the plugin must be a dependency of the
project: the output says the `uv add` line. Wheels pip-tfmac built (aliases, patched Model
Maker) come from an explicit flat index (`[[tool.uv.index]]`, format "flat": the `wheels/`
folder, or the team index) that `[tool.uv.sources]` names for those packages on the Mac only: a
plain `find-links` loses to the default index under uv's first-index strategy. uv honours
sources for the project's direct dependencies only, so a built wheel's package (an alias
`tensorflow`, a patched `tflite-model-maker`) must be one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import parse_wheel_filename

from pip_tfmac.core.pylock import LockedEnv

BUILT_INDEX = "pip-tfmac-built"
MAC_MARKER = "sys_platform == 'darwin' and platform_machine == 'arm64'"


@dataclass(frozen=True)
class UvExport:
    settings: dict[str, Any]  # the [tool.uv] table
    dependencies: tuple[str, ...]  # lines the project must list itself (the Mac's plugin)
    notes: tuple[str, ...]


def uv_export(envs: Sequence[LockedEnv], find_links: Sequence[str]) -> UvExport:
    constraints: list[str] = []
    dependencies: list[str] = []
    notes: list[str] = []
    for env in envs:
        if not env.target.is_macos_arm64:
            continue
        marker = f"{MAC_MARKER} and python_version == '{env.target.python_version}'"
        pair = [p for p in (env.tensorflow, env.metal) if p]
        notes.append(f"{env.target.describe}: " + (" + ".join(pair) if pair else "no TensorFlow in the plan"))
        for line in pair:
            constraints.append(f"{line}; {marker}")
        if env.metal:
            dependencies.append(f"{env.metal}; {marker}")
    settings: dict[str, Any] = {}
    if constraints:
        settings["constraint-dependencies"] = constraints
    sources: dict[str, list[dict[str, str]]] = {}
    for env in envs:
        if env.target.is_macos_arm64:
            marker = f"{MAC_MARKER} and python_version == '{env.target.python_version}'"
            for filename in env.built:
                name = str(parse_wheel_filename(filename)[0])
                sources.setdefault(name, []).append({"index": BUILT_INDEX, "marker": marker})
    if find_links and sources:
        settings["index"] = [{"name": BUILT_INDEX, "url": find_links[0], "format": "flat", "explicit": True}]
        settings["sources"] = dict(sorted(sources.items()))
    return UvExport(settings, tuple(dependencies), tuple(notes))
