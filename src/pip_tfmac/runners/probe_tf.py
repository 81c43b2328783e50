"""Run the GPU probe (runners/_probe.py) inside the target interpreter, in its own process group
and with a time limit: importing TensorFlow can crash, hang or take a minute on a cold disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from pip_tfmac.core.verify_report import DEFAULT_TIMEOUT, ProbeRun, SCHEMA, STAGE_PREFIX


PROBE_SCRIPT = Path(__file__).parent.parent / "runners" / "_probe.py"


def run_probe(
    python: str,
    mode: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict[str, str] | None = None,
    size: int = 1024,
    repeats: int = 5,
) -> ProbeRun:
    """Run _probe.py in `python` (isolated mode: no cwd or PYTHONPATH shadowing) and collect.

    The child gets its own process group so a timeout kills whatever TensorFlow started too.
    """
    argv = [python, "-I", *_probe_source(), mode, str(size), str(repeats)]
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=(os.name == "posix"),
        )
    except OSError as exc:
        return ProbeRun(None, None, None, {}, "", False, 0.0, launch_error=str(exc))
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a grandchild that left the group holds the pipes
            out, err = b"", b""
    elapsed = time.monotonic() - start
    stderr = err.decode("utf-8", "replace")
    stage, so_far, rest = _read_stages(stderr)
    payload = None if timed_out else _parse_payload(out.decode("utf-8", "replace"))
    return ProbeRun(proc.returncode, payload, stage, so_far, rest, timed_out, elapsed)

def _probe_source() -> list[str]:
    """The probe as a file when pip-tfmac is installed as files, else its text for `-c`
    (a zipped install has no file path another interpreter could open)."""
    if PROBE_SCRIPT.is_file():
        return [str(PROBE_SCRIPT)]
    from importlib import resources

    return ["-c", resources.files("pip_tfmac").joinpath("runners").joinpath("_probe.py").read_text("utf-8")]

def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        proc.kill()

def _read_stages(stderr: str) -> tuple[str | None, dict[str, Any], str]:
    """Split our stage markers from the rest of stderr; the last marker tells where we died."""
    stage: str | None = None
    so_far: dict[str, Any] = {}
    rest: list[str] = []
    for line in stderr.splitlines():
        if line.startswith(STAGE_PREFIX):
            try:
                marker = json.loads(line[len(STAGE_PREFIX) :])
            except ValueError:
                continue
            stage = marker.get("stage")
            if marker.get("so_far"):
                so_far = marker["so_far"]
        else:
            rest.append(line)
    return stage, so_far, "\n".join(rest)

def _parse_payload(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("schema") == SCHEMA:
            return data
    return None
