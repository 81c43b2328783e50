"""What a fast install returns, and what both fast paths share: bytecode, rollback.

Why apart: the wheel-file path (fastinstall.py) and the unpacked-tree path (fromstore.py)
report the same result and undo a failed install the same way, so an interrupted or failed
install leaves the environment as it was, whichever path ran.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pip_tfmac.core.install_scheme import TargetEnv


class FastInstallUnavailable(Exception):
    """The fast path does not apply here; install with plain pip instead (reason in str())."""


@dataclass(frozen=True)
class InstalledWheel:
    name: str
    version: str
    filename: str
    files: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "files": self.files,
        }


@dataclass(frozen=True)
class FastInstallResult:
    target: TargetEnv
    installed: tuple[InstalledWheel, ...]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target.to_json(),
            "installed": [w.to_json() for w in self.installed],
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """pip's closing line, so scripts reading it keep working."""
        names = " ".join(f"{w.name}-{w.version}" for w in self.installed)
        return f"Successfully installed {names}"


def direct_url_bytes(wheel: Path) -> bytes:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    payload = {
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
        "url": wheel.resolve().as_uri(),
    }
    return json.dumps(payload, sort_keys=True).encode()


def compile_files(python: str, files: list[Path]) -> None:
    """Bytecode by the target interpreter itself (its magic number), all cores, one process.

    Like pip, a file that does not compile is not an error (pip ignores compile failures).
    """
    if not files:
        return
    subprocess.run(
        [python, "-I", "-m", "compileall", "-q", "-j", "0", "-i", "-"],
        input="\n".join(str(f) for f in files),
        text=True,
        capture_output=True,
        check=False,
    )


def rollback(written: list[Path]) -> None:
    """Remove every file of a failed install (and its bytecode, and emptied folders)."""
    for path in written:
        if path.suffix == ".py":
            with contextlib.suppress(OSError):
                for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
                    pyc.unlink()
    for path in reversed(written):
        with contextlib.suppress(OSError):
            path.unlink()
    parents = {p.parent for p in written} | {p.parent / "__pycache__" for p in written}
    for folder in sorted(parents, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if now empty
