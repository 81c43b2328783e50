"""Running pip as a subprocess: every resolve, download and install goes through here.

pip's `--report` JSON (a documented, versioned interface) is how results come back. The pip
that runs is the one pip-tfmac is installed with (a tested version), pointed at the target
interpreter with pip's own `--python` when that is another environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from pip_tfmac.runners.interpreter import same_interpreter


@dataclass(frozen=True)
class ResolvedItem:
    name: str
    version: str
    filename: str
    url: str
    sha256: Optional[str]
    requested: bool
    requires: tuple[str, ...] = ()  # the metadata's Requires-Dist (markers and extras kept)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "filename": self.filename,
                "sha256": self.sha256, "requested": self.requested}


@dataclass(frozen=True)
class PipResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    report: Optional[Mapping[str, Any]] = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def resolved(self) -> tuple[ResolvedItem, ...]:
        if not self.report:
            return ()
        items = []
        for entry in self.report.get("install", []):
            meta = entry.get("metadata", {})
            info = entry.get("download_info", {}) or {}
            url = info.get("url", "")
            hashes = (info.get("archive_info") or {}).get("hashes") or {}
            items.append(ResolvedItem(
                name=meta.get("name", ""), version=meta.get("version", ""),
                filename=url.rsplit("/", 1)[-1].split("#", 1)[0], url=url,
                sha256=hashes.get("sha256"), requested=bool(entry.get("requested")),
                requires=tuple(meta.get("requires_dist") or ()),
            ))
        return tuple(items)

    def summary(self) -> str:
        """pip's own one-line result ("Would install ...") or its error lines."""
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith(("Would install", "Successfully"))]
        if lines:
            return "\n".join(lines)
        errors = [ln for ln in self.stderr.splitlines() if ln.strip()]
        return "\n".join(errors[-12:])


def base_argv(python: str, general: Sequence[str]) -> list[str]:
    """`python -m pip [general]`, aimed at the target interpreter."""
    argv = [sys.executable, "-m", "pip", *general]
    if "--python" not in general and not any(g.startswith("--python=") for g in general):
        if not same_interpreter(python, sys.executable):
            argv += ["--python", python]
    return argv


def run(argv: Sequence[str], *, capture: bool = True, env: Optional[Mapping[str, str]] = None,
        stdout_to_stderr: bool = False) -> PipResult:
    if capture:
        proc = subprocess.run(list(argv), capture_output=True, text=True, errors="replace",
                              env=dict(env) if env is not None else None)
        return PipResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    sys.stdout.flush()
    code = subprocess.call(list(argv), env=dict(env) if env is not None else None,
                           stdout=sys.stderr.fileno() if stdout_to_stderr else None)
    return PipResult(tuple(argv), code, "", "")


def run_with_report(argv: Sequence[str], *, capture: bool = True) -> PipResult:
    """Run pip with `--report` into a temporary file and read it back."""
    fd, path = tempfile.mkstemp(prefix="pip-tfmac-report-", suffix=".json")
    os.close(fd)
    try:
        result = run([*argv, "--report", path], capture=capture)
        report = None
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            report = json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            report = None
        return PipResult(result.argv, result.returncode, result.stdout, result.stderr, report)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
