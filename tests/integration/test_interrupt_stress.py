"""Interrupt stress (issue 13, "Nothing lost, nothing half-done"): a real planned install of the
TensorFlow family (stand-in wheels, offline) is interrupted at random moments, and every trial
must leave the target exactly as before or exactly as planned, with a message saying which.

Test doubles: "tensorflow" 2.18.1 and "tensorflow-metal" 1.2.0 are small py3-none-any stand-ins
(300 and 100 modules, so that pip's install step takes a visible share of the run), and
PIP_TFMAC_PROBE_FACTS makes the target look like macOS 14 arm64. pip, the planner, the wheelhouse
and the signal handling are the real ones.

Signal targets, TRIALS each, moments drawn by a seeded RNG over one measured run's duration:
SIGINT to the process group (Ctrl-C), SIGINT to pip-tfmac alone, SIGTERM to pip-tfmac alone.
Moments start after START: the interpreter's own start-up, before any pip-tfmac code runs, is
Python's (a KeyboardInterrupt there is the interpreter's traceback, and nothing can have changed).
Marked slow (offline, ~2 minutes on 2 cores): `pytest -m slow tests/integration/test_interrupt_stress.py`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import isolated_env, run, tool_command, venv_bin
from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance, build_wheel

pytestmark = pytest.mark.slow

TRIALS = 20  # per signal target
SEED = 13
START = 0.25  # seconds: see the module doc
TARGETS = (("SIGINT-group", signal.SIGINT, True), ("SIGINT-alone", signal.SIGINT, False),
           ("SIGTERM-alone", signal.SIGTERM, False))
PROV = Provenance("test stand-in", "tests/integration", (Origin("stand-in", "0"),))

# The target's state: its distributions and a hash of every file of site-packages.
_STATE = """
import hashlib, importlib.metadata as md, json, os, sysconfig
root = sysconfig.get_path('purelib')
h = hashlib.sha256()
for here, dirs, files in sorted(os.walk(root)):
    dirs.sort()
    if '__pycache__' in here:
        continue
    for f in sorted(files):
        p = os.path.join(here, f)
        h.update(os.path.relpath(p, root).encode() + b'\\0')
        with open(p, 'rb') as fh:
            h.update(hashlib.sha256(fh.read()).digest())
print(json.dumps([sorted(f"{d.metadata['Name']}=={d.version}" for d in md.distributions()), h.hexdigest()]))
"""


@dataclass(frozen=True)
class Trial:
    target: str
    moment: float
    code: int
    state: str  # "before", "after" or "between"
    stderr: str


def _state(python: Path, env: dict[str, str]) -> str:
    result = run([python, "-I", "-c", _STATE], env, timeout=120)
    assert result.returncode == 0, result.describe()
    return result.stdout


def _world(root: Path) -> tuple[Path, dict[str, str]]:
    links = root / "links"
    links.mkdir()
    for name, version, package, count in (("tensorflow", "2.18.1", "tensorflow", 300),
                                          ("tensorflow-metal", "1.2.0", "tensorflow_metal", 100)):
        files = {f"{package}/m{i}.py": b"x = 1\n" * 200 for i in range(count)}
        filename, data = build_wheel(name, version, files, requires_dist=[], summary="stand-in", provenance=PROV)
        (links / filename).write_bytes(data)
    facts = root / "mac.json"
    facts.write_text(json.dumps({"sys_platform": "darwin", "machine": "arm64", "macos_version": "14.5"}))
    env = isolated_env(root / "home", {"PIP_TFMAC_PROBE_FACTS": facts, "PIP_TFMAC_CACHE_DIR": root / "wh"})
    return links, env


def _argv(python: Path, links: Path) -> list[str]:
    return [*tool_command(), "--python", str(python), "install", "--no-index", "--find-links", str(links),
            "tensorflow", "--no-verify"]


def test_every_interrupt_leaves_before_or_planned_after(tmp_path: Path) -> None:
    links, env = _world(tmp_path)
    reference = tmp_path / "reference"
    venv.EnvBuilder(with_pip=False).create(reference)
    ref_python = venv_bin(reference, "python")
    before = _state(ref_python, env)
    started = time.monotonic()
    first = run(_argv(ref_python, links), env, timeout=600)
    duration = time.monotonic() - started
    assert first.returncode == 0, first.describe()
    after = _state(ref_python, env)
    assert "tensorflow-metal==1.2.0" in after and before != after

    rng = random.Random(SEED)
    plan = [(name, sig, group, rng.uniform(START, duration * 1.1))
            for name, sig, group in TARGETS for _ in range(TRIALS)]

    def trial(index: int) -> Trial:
        name, sig, group, moment = plan[index]
        target = tmp_path / f"t{index}"
        venv.EnvBuilder(with_pip=False).create(target)
        python = venv_bin(target, "python")
        proc = subprocess.Popen(_argv(python, links), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        time.sleep(moment)
        if proc.poll() is None:
            if group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=300)
        assert "Traceback" not in out + err, f"{name} at {moment:.2f}s\n{err}"
        now = _state(python, env)
        state = "before" if now == before else "after" if now == after else "between"
        return Trial(name, moment, proc.returncode, state, err)

    with ThreadPoolExecutor(max_workers=2) as pool:
        trials = list(pool.map(trial, range(len(plan))))

    lines = []
    for t in trials:
        expected = {"SIGINT": 130, "SIGTERM": 143}[t.target.split("-")[0]]
        said_after = "the environment is complete" in t.stderr
        said_before = "the environment was not changed" in t.stderr or "unchanged" in t.stderr
        lines.append(f"{t.target:14} {t.moment:5.2f}s exit {t.code:3} {t.state:7} "
                     f"says {'after' if said_after else 'before' if said_before else '-'}")
        assert t.state != "between", "half-done:\n" + "\n".join(lines) + "\n" + t.stderr
        if t.code == 0:  # the run ended before the signal was sent
            assert t.state == "after", t.stderr
            continue
        assert t.code == expected, f"{t}\n" + t.stderr
        assert said_after != said_before, f"the message must say which:\n{t.stderr}"
        assert (t.state == "after") == said_after, f"the message is untrue:\n{t.stderr}"
    print(f"{len(trials)} interrupt trials (seed {SEED}, run {duration:.1f}s):")
    print("\n".join(lines))
    counts = {s: sum(t.state == s for t in trials) for s in ("before", "after")}
    assert len(trials) == TRIALS * len(TARGETS)
    assert counts["before"] and counts["after"], f"the moments missed one side: {counts}"
