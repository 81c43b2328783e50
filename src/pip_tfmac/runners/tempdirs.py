"""pip-tfmac's own temporary files and folders outside the wheelhouse, and the cleaning of those
that killed runs left behind.

Why: a SIGKILL (or a power cut) skips every `finally`, so a plan's work folder or a pip report
stays in the temp dir for ever. Every name carries the pid of the run that made it
(`pip-tfmac-<kind>-p<pid>-...`); the next run of one of our commands removes entries that are
its own user's, older than STALE_MINUTES and whose run is gone. A live run's files are never
touched (its pid is alive), nor another user's, nor anything that is not ours by name.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time

STALE_MINUTES = 30
_OURS = re.compile(r"^pip-tfmac-[a-z]+-p(\d+)-")


def prefix(kind: str) -> str:
    """The name prefix of a temporary entry of this run: `kind` says what it is for."""
    return f"pip-tfmac-{kind}-p{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


def sweep_stale(folder: str | None = None, *, minutes: float = STALE_MINUTES) -> int:
    """Remove leftovers of killed runs from the temp dir; returns how many. Never raises: this
    is housekeeping, and a failure to clean must not stop the command the user asked for."""
    folder = folder or tempfile.gettempdir()
    removed = 0
    cutoff = time.time() - minutes * 60
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        match = _OURS.match(name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
            if info.st_uid != os.getuid() or info.st_mtime > cutoff or _alive(int(match.group(1))):
                continue
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(path)  # does not follow links inside
            else:
                os.unlink(path)  # a file or a link itself, never its target
            removed += 1
        except OSError:
            continue
    return removed
