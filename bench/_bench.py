"""Shared by the benchmarks: temporary venvs with pip-tfmac, alternating timed runs, a table.

Not a test: the figures depend on the machine. Each benchmark runs the compared commands in
the same run, alternately (the order rotates every round so neither side always runs on a
warmer cache), and reports median and min-max of wall time per command plus the ratio of
medians against the baseline command.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    """Wall time and CPU time (user + system, of the command and what it execs) per run.

    CPU time barely moves when other work shares the machine, so its ratio is the steadier
    figure for an overhead; wall time is what a user waits.
    """

    label: str
    times: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


@dataclass(frozen=True)
class Comparison:
    """`candidate` against `baseline`; `goal` is the ratio (or seconds) the issue asks for."""

    candidate: str
    baseline: str | None
    goal: str = ""


def bench_env(venv: Path) -> dict[str, str]:
    """The user's environment with `venv` activated, and pip's self version check off (it
    may reach the network and would dominate the figures)."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def _run(argv: Sequence[str], env: dict[str, str]) -> None:
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)


def _timed(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run; os.wait4 gives the rusage of that one child."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, list(argv))
    return wall, usage.ru_utime + usage.ru_stime


@contextmanager
def bench_venvs(keep: str | None, editable: bool) -> Iterator[dict[str, Path]]:
    """Fresh venvs (same Python as this script) with pip-tfmac installed from this checkout:
    "wheel" (a built wheel, as users install it) and, if asked, "editable" (pip install -e)."""
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="pip-tfmac-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        venvs = {"wheel": root / "venv-wheel"}
        if editable:
            venvs["editable"] = root / "venv-editable"
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
        for kind, venv in venvs.items():
            if (venv / "bin" / "pip-tfmac").exists():
                continue
            print(f"# creating {venv} ({kind} install of {REPO})", file=sys.stderr)
            _run([sys.executable, "-m", "venv", str(venv)], env)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            _run([*pip, "--upgrade", "pip"], env)
            if kind == "wheel":
                wheels = root / "wheels"
                shutil.rmtree(wheels, ignore_errors=True)
                _run(
                    [*pip[:-2], "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO)], env
                )
                _run([*pip, *map(str, wheels.glob("pip_tfmac-*.whl"))], env)
            else:
                _run([*pip, "-e", str(REPO)], env)
        yield venvs
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def measure(
    commands: dict[str, list[str]], env: dict[str, str], rounds: int, warmup: int = 2
) -> dict[str, Measured]:
    """Run every command once per round, in an order that rotates each round."""
    labels = list(commands)
    for _ in range(warmup):
        for label in labels:
            _run(commands[label], env)
    times: dict[str, list[float]] = {label: [] for label in labels}
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    for r in range(rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        for label in order:
            wall, used = _timed(commands[label], env)
            times[label].append(wall)
            cpu[label].append(used)
    return {label: Measured(label, tuple(times[label]), tuple(cpu[label])) for label in labels}


def table(results: dict[str, Measured], comparisons: Sequence[Comparison]) -> str:
    header = "| command | wall median s | wall min-max s | CPU median s | vs | wall ratio "
    header += "| CPU ratio | goal |"
    lines = [header, "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |"]
    for comp in comparisons:
        m = results[comp.candidate]
        if comp.baseline:
            base = results[comp.baseline]
            ratio = f"{m.median / base.median:.3f}x"
            cpu_ratio = f"{m.cpu_median / base.cpu_median:.3f}x"
            vs = f"`{comp.baseline}`"
        else:
            ratio = cpu_ratio = vs = "-"
        lines.append(
            f"| `{m.label}` | {m.median:.3f} | {min(m.times):.3f}-{max(m.times):.3f} "
            f"| {m.cpu_median:.3f} | {vs} | {ratio} | {cpu_ratio} | {comp.goal} |"
        )
    return "\n".join(lines)


def machine(venv: Path) -> str:
    pip_version = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.system()} "
        f"{platform.machine()}, nproc={os.cpu_count()}; Python {platform.python_version()}; "
        f"pip {pip_version} in the venv"
    )


def per_install_kind(
    doc: str,
    title: str,
    rounds: int,
    commands_for: Callable[[Path], tuple[dict[str, list[str]], list[Comparison]]],
) -> int:
    """The shared main of startup.py and passthrough.py: options, venvs, one table per install
    kind (from a wheel, and editable with --editable)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--editable", action="store_true", help="also measure an editable install")
    ap.add_argument("--keep", help="create (or reuse) the venvs in this folder and keep them")
    opts = ap.parse_args()
    with bench_venvs(opts.keep, opts.editable) as venvs:
        print(f"{title}, {opts.rounds} rounds; {machine(venvs['wheel'])}\n")
        for kind, venv in venvs.items():
            commands, comparisons = commands_for(venv)
            results = measure(commands, bench_env(venv), opts.rounds)
            print(f"### pip-tfmac installed {'editable' if kind == 'editable' else 'from a wheel'}\n")
            print(table(results, comparisons))
            print()
    return 0
