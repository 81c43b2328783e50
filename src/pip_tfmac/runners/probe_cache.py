"""What a probe of an interpreter (or a `uv --version`) answered, kept between runs and used again
only while nothing it depends on has changed.

Why: every planned install asks the target interpreter what it is (~30-100 ms: a Python start,
importlib.metadata over every installed distribution); a venv that has not changed gives the same
answer. An entry is keyed by the interpreter's path and carries the `os.stat` of every file and
folder its answer depends on (the interpreter binary it resolves to, pyvenv.cfg, every existing
folder on its sys.path, whose mtime moves when a distribution is installed or removed) and this
host's `uname` (the kernel release and version are marker values). A stamp that differs, a file
that cannot be read or a value of the wrong shape is a miss: the probe runs again.

Where: `probes/` next to the default wheelhouse (the per-user cache), or inside an explicit
`--tfmac-cache-dir`/`$PIP_TFMAC_CACHE_DIR`; `--no-tfmac-cache` keeps no entries. Writes are atomic
(temporary file + rename); two runs writing the same entry leave one whole answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any, Optional, Sequence

SCHEMA = 1
ENV_VAR = "PIP_TFMAC_CACHE_DIR"
_FOLDER = "probes"


def cache_folder(cache_dir: Optional[str] = None, no_cache: bool = False) -> Optional[str]:
    """The probe cache's folder for these options (None: keep nothing)."""
    if no_cache:
        return None
    explicit = cache_dir or os.environ.get(ENV_VAR)
    if explicit:
        return os.path.join(os.path.expanduser(explicit), _FOLDER)
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - a dependency
        return None
    return os.path.join(platformdirs.user_cache_dir("pip-tfmac", appauthor=False), _FOLDER)


def _stat(path: str) -> Optional[list[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def stamp(paths: Sequence[str]) -> dict[str, Any]:
    """The state of `paths` (stat of each; None for a missing one) and of this host."""
    try:
        host = list(os.uname())
    except AttributeError:  # pragma: no cover - Windows
        import platform

        host = list(platform.uname())
    return {"paths": {p: _stat(p) for p in sorted(set(paths))}, "host": host}


def interpreter_paths(python: str) -> list[str]:
    """The files an interpreter's answer depends on before we know its sys.path."""
    python = os.path.abspath(python)
    env = os.path.dirname(os.path.dirname(python))
    return [python, os.path.realpath(python), os.path.join(env, "pyvenv.cfg")]


def _entry_path(folder: str, kind: str, key: str) -> str:
    digest = hashlib.sha256(f"{kind}\0{key}".encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return os.path.join(folder, f"{kind}-{digest}.json")


def load(folder: Optional[str], kind: str, key: str, version: str) -> Optional[dict[str, Any]]:
    """The cached answer for `key` when every stamp it recorded still holds, else None."""
    if folder is None:
        return None
    try:
        with open(_entry_path(folder, kind, key), encoding="utf-8") as handle:
            entry = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("schema") != SCHEMA or entry.get("key") != key:
        return None
    if entry.get("version") != version:
        return None
    recorded = entry.get("stamp")
    answer = entry.get("answer")
    if not isinstance(recorded, dict) or not isinstance(answer, dict):
        return None
    paths = recorded.get("paths")
    if not isinstance(paths, dict) or stamp(list(paths)) != recorded:
        return None
    return answer


def save(folder: Optional[str], kind: str, key: str, version: str, paths: Sequence[str],
         answer: dict[str, Any], before: Optional[dict[str, Any]] = None) -> None:
    """Keep `answer`, stamped with the state of `paths` now. `before`: the stamp taken before the
    probe ran; when anything moved meanwhile the answer may be stale and is not kept. Never
    raises (a cache that cannot be written is only slower)."""
    if folder is None:
        return
    now = stamp(paths)
    if before is not None and any(now["paths"].get(p) != s for p, s in before["paths"].items()):
        return
    entry = {"schema": SCHEMA, "key": key, "version": version, "stamp": now, "answer": answer}
    try:
        for made in (os.path.dirname(folder), folder):  # private, as the wheelhouse's folders
            if not os.path.isdir(made):
                os.makedirs(made, mode=0o700, exist_ok=True)
                os.chmod(made, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=".probe-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(tmp, _entry_path(folder, kind, key))
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
