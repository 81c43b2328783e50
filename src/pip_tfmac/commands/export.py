"""`pip-tfmac export --uv [--target-env macos-arm64@X.Y ...] [install options] REQS`.

Prints the `[tool.uv]` settings (core/uvexport.py) that make `uv lock`/`uv sync` of a project
give the GPU-paired set on a Mac: plan the project's TensorFlow requirements for each Mac
target (default: macos-arm64 with this interpreter's Python), then paste the output into the
project's pyproject.toml and add the plugin dependency it names. With `-o DIR` the built wheels
(aliases, patched Model Maker) are copied to DIR/wheels and `find-links` points there
(relative: an explicit flat index that `[tool.uv.sources]` names on the Mac); `--built-wheels-url
URL` points it at a team index instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from pip_tfmac.commands._common import asks_for_help
from pip_tfmac.commands.lock import split_lock_options
from pip_tfmac.commands.progress import StepProgress
from pip_tfmac.core.pylock import parse_target_env
from pip_tfmac.core.uvexport import uv_export
from pip_tfmac.errors import UsageError
from pip_tfmac.flows.lock import WHEELS_DIR, LockRequest, copy_wheels, resolve_envs


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    tokens = list(args[index + 1 :])
    if asks_for_help(tokens):
        print(__doc__)
        return 0
    if "--uv" not in tokens:
        raise UsageError("`pip-tfmac export` needs a format: --uv.", "pip-tfmac export --uv tensorflow")
    tokens.remove("--uv")
    found, rest = split_lock_options(tokens)
    if not rest:
        raise UsageError("`export --uv` needs the project's requirements.", "pip-tfmac export --uv tensorflow")
    targets = tuple(parse_target_env(t) for t in found["target"]) or (
        parse_target_env("macos-arm64@%d.%d" % sys.version_info[:2]),)
    out_dir = Path(found["output"][0]) if found["output"] else None
    request = LockRequest(general=tuple(args[:index]), install_args=tuple(rest), targets=targets,
                          output=(out_dir or Path(".")) / "pylock.toml",
                          built_wheels_url=found["url"][0] if found["url"] else None)
    progress = StepProgress(enabled="-q" not in rest)
    try:
        envs, copies = resolve_envs(request, progress)
    finally:
        progress.clear()
    find_links: list[str] = []
    if request.built_wheels_url and any(e.built for e in envs):
        find_links.append(request.built_wheels_url)
    elif copies:
        if out_dir is None:
            raise UsageError("the plan needs wheels pip-tfmac builds; uv must find them somewhere.",
                             "add -o DIR (copies them to DIR/wheels) or --built-wheels-url URL (after publish)")
        copy_wheels(out_dir, copies)
        find_links.append(f"./{WHEELS_DIR}")
    export = uv_export(envs, find_links)
    import tomli_w

    print("# pip-tfmac export --uv: paste into pyproject.toml")
    for note in export.notes:
        print(f"#   {note}")
    if export.dependencies:
        print("# The GPU plugin must be a dependency of the project (settings cannot add one):")
        for line in export.dependencies:
            print(f'#   uv add "{line}"')
    print(tomli_w.dumps({"tool": {"uv": export.settings}}), end="")
    return 0
