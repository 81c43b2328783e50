"""Finding uv for `--backend uv`: the `uv` package of the `pip-tfmac[uv]` extra, else the uv
beside our interpreter, else PATH's; too old or missing is a usage error (64). Light on
imports: runners/uv_prefetch.py finds uv before pip-tfmac has imported its command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Optional, Sequence

from pip_tfmac.errors import UsageError

MIN_UV = (0, 5, 0)


def version_of(uv: str) -> Optional[tuple[int, ...]]:
    """uv's version (`uv --version`), kept between runs while the binary is unchanged."""
    from pip_tfmac.runners import probe_cache
    from pip_tfmac.runners.probe_target import cache_folder

    folder, key = cache_folder(), os.path.abspath(uv)
    paths = [key, os.path.realpath(key)]
    cached = probe_cache.load(folder, "uv", key, "1")
    if cached is not None and isinstance(cached.get("version"), list):
        return tuple(int(p) for p in cached["version"])
    before = probe_cache.stamp(paths)
    found = _run_version(uv)
    if found is not None:
        probe_cache.save(folder, "uv", key, "1", paths, {"version": list(found)}, before)
    return found


def _run_version(uv: str) -> Optional[tuple[int, ...]]:
    try:
        out = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(p) for p in m.groups()) if m else None


def candidates() -> list[str]:
    """Where uv is looked for: the `uv` package installed with pip-tfmac (the extra), then PATH."""
    found = []
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        found.append(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    beside = os.path.join(os.path.dirname(sys.executable), "uv")
    if os.path.isfile(beside):
        found.append(beside)
    on_path = shutil.which("uv")
    if on_path:
        found.append(on_path)
    return found


_found: dict[tuple[str, ...], str] = {}


def find(candidates: Sequence[str]) -> str:
    """The first of `candidates` recent enough (checked once per process for the same list);
    a usage error naming what was found when none is."""
    found = tuple(candidates)
    if found not in _found:
        _found[found] = _check(found)
    return _found[found]


def _check(found: Sequence[str]) -> str:
    floor = ".".join(map(str, MIN_UV))
    seen = []
    for uv in found:
        version = version_of(uv)
        if version is not None and version >= MIN_UV:
            return uv
        seen.append(f"{uv} ({'.'.join(map(str, version)) if version else 'does not run'})")
    if seen:
        raise UsageError(f"--backend uv needs uv {floor} or later; found only " + ", ".join(seen) + ".",
                         "pip install -U 'pip-tfmac[uv]' (or a newer uv on PATH), or use --backend pip")
    raise UsageError("--backend uv needs uv, and none was found (neither the pip-tfmac[uv] extra nor uv on PATH).",
                     "pip install 'pip-tfmac[uv]', or put uv on PATH, or use --backend pip (the default)")
