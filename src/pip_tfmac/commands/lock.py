"""`pip-tfmac lock -o FILE [--target-env PLATFORM@PYTHON ...] [install options] REQS`.

Writes a PEP 751 pylock.toml (pip 26's own `pip lock` spelling: `-o/--output`, default
`pylock.toml`). Targets: each `--target-env` (repeatable: `macos-arm64@3.11`,
`linux-x86_64@3.11`, `linux-aarch64@3.12`, or pip tags `manylinux_2_17_x86_64@3.11`) is one
environment of the lock; without it, pip's own `--platform/--python-version` (or this
interpreter) describe the one target. `--built-wheels-url URL` references the wheels pip-tfmac
built by their URL on a team index (after `pip-tfmac wheelhouse publish`) instead of copying
them into `wheels/` next to the lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pip_tfmac.commands._common import asks_for_help
from pip_tfmac.commands.progress import StepProgress
from pip_tfmac.core.pylock import TargetEnv, parse_target_env
from pip_tfmac.errors import UsageError
from pip_tfmac.flows.lock import WHEELS_DIR, LockRequest, lock

_VALUED = {"-o": "output", "--output": "output", "--target-env": "target",
           "--built-wheels-url": "url"}


def split_lock_options(tokens: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Take lock's own options out of the arguments; the rest are install options and reqs."""
    found: dict[str, list[str]] = {"output": [], "target": [], "url": []}
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, eq, inline = token.partition("=")
        if token == "--":
            rest.extend(tokens[i:])
            break
        if name in _VALUED and (eq or i + 1 < len(tokens)):
            found[_VALUED[name]].append(inline if eq else tokens[i + 1])
            i += 1 if eq else 2
            continue
        if name in _VALUED:
            raise UsageError(f"{name} needs a value.", f"for example {name} " +
                             {"output": "pylock.toml", "target": "macos-arm64@3.11", "url": "URL"}[_VALUED[name]])
        if token.startswith("-o") and len(token) > 2 and not token.startswith("--"):
            found["output"].append(token[2:])
            i += 1
            continue
        rest.append(token)
        i += 1
    return found, rest


def run(args: list[str], index: Optional[int]) -> int:
    assert index is not None
    if asks_for_help(args[index + 1 :]):
        print(__doc__)
        return 0
    found, rest = split_lock_options(list(args[index + 1 :]))
    if len(found["output"]) > 1 or len(found["url"]) > 1:
        raise UsageError("-o/--output and --built-wheels-url may be given once.", "name one lock file")
    targets: tuple[TargetEnv, ...] = tuple(parse_target_env(t) for t in found["target"])
    if targets and any(t in ("--platform", "--python-version") or t.startswith(("--platform=", "--python-version="))
                       for t in rest):
        raise UsageError("--target-env and --platform/--python-version describe targets twice.",
                         "give every target as --target-env PLATFORM@PYTHON")
    if len({(t.platforms, t.python) for t in targets}) != len(targets):
        raise UsageError("the same --target-env is given twice.", "name each target once")
    request = LockRequest(
        general=tuple(args[:index]), install_args=tuple(rest), targets=targets,
        output=Path(found["output"][0] if found["output"] else "pylock.toml"),
        built_wheels_url=found["url"][0] if found["url"] else None,
    )
    if not rest:
        raise UsageError("`pip-tfmac lock` needs requirements to lock.",
                         "pip-tfmac lock -o pylock.toml --target-env macos-arm64@3.11 -r requirements.txt")
    progress = StepProgress(enabled="-q" not in rest)
    try:
        outcome = lock(request, progress)
    finally:
        progress.clear()
    print(f"Wrote {outcome.path} ({len(outcome.envs)} environment{'s' if len(outcome.envs) != 1 else ''})")
    for env in outcome.envs:
        pair = ", ".join(p for p in (env.tensorflow, env.metal) if p) or "no TensorFlow"
        print(f"  {env.target.describe}: {len(env.wheels)} packages; {pair}")
    if outcome.copied:
        print(f"  {len(outcome.copied)} built wheel(s) in {outcome.path.parent / WHEELS_DIR}: keep them next to the lock "
              "(or publish them: pip-tfmac wheelhouse publish URL)")
    return 0
