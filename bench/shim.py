"""The shim's cost (issue 16): a hooked environment against an identical plain one.

Goal: a hooked non-install pip command <= 1.05x plain pip; every other start of that Python
(`python -c pass`) pays only the .pth line's gate. Usage:
    python bench/shim.py [--rounds 30] [--keep DIR]
Creates (or reuses with --keep) a venv with pip-tfmac installed from a built wheel (as users
install it) and two more venvs, "plain" and "hooked", with the same pip; `pip-tfmac shim enable`
is run on "hooked" only. Commands of both are timed alternately, in the same run. Also prints the
gate's own cost per start, timed in-process (it cannot be seen in wall time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import timeit
from pathlib import Path

from _bench import REPO, Comparison, bench_env, bench_venvs, machine, measure, table

COMMANDS = {
    "python -c pass": ["{bin}/python", "-c", "pass"],
    "python -m pip --version": ["{bin}/python", "-m", "pip", "--version"],
    "pip list": ["{bin}/pip", "list"],
    "python -m pip list": ["{bin}/python", "-m", "pip", "list"],
    "pip freeze": ["{bin}/pip", "freeze"],
}


def make(venv: Path, pip_version: str) -> None:
    if (venv / "bin" / "python").exists():
        return
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"pip=={pip_version}"],
        check=True,
        env=env,
    )


def gate_cost() -> float:
    """Seconds per execution of the .pth line in a process that is not pip (what every
    `python` start of a hooked environment pays), measured on this interpreter."""
    sys.path.insert(0, str(REPO / "src"))
    from pip_tfmac.runners.shim_hook import PTH_LINE

    code = compile(PTH_LINE, "<pth>", "exec")
    saved = sys.argv
    sys.argv = ["-c"]
    try:
        runs = 200_000
        return timeit.timeit(lambda: exec(code, {}), number=runs) / runs
    finally:
        sys.argv = saved


def hook_import_cost(venv: Path, runs: int = 20) -> tuple[float, float]:
    """Median microseconds that `python -X importtime -m pip --version` spends importing the
    hook (self, cumulative) in the hooked venv: the hook's own cost in a pip start, read from
    the interpreter, steadier than a wall-time difference on a loaded machine."""
    selfs, cumuls = [], []
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PIP_TFMAC_SHIM", None)
    for _ in range(runs):
        proc = subprocess.run(
            [str(venv / "bin" / "python"), "-X", "importtime", "-m", "pip", "--version"],
            capture_output=True, text=True, check=True, env=env,
        )
        for line in proc.stderr.splitlines():
            if line.split("|")[-1].strip() == "pip_tfmac_shim":
                own, cumulative = (int(x) for x in line.split(":", 1)[1].split("|")[:2])
                selfs.append(own)
                cumuls.append(cumulative)
    if not selfs:
        return float("nan"), float("nan")
    return statistics.median(selfs), statistics.median(cumuls)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--keep", help="create (or reuse) the venvs in this folder and keep them")
    opts = ap.parse_args()
    with bench_venvs(opts.keep, editable=False) as venvs:
        tool_venv = venvs["wheel"]
        pip_version = subprocess.run(
            [str(tool_venv / "bin" / "python"), "-m", "pip", "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[1]
        root = tool_venv.parent
        plain, hooked = root / "venv-plain", root / "venv-hooked"
        for venv in (plain, hooked):
            make(venv, pip_version)
        subprocess.run(
            [str(tool_venv / "bin" / "pip-tfmac"), "shim", "enable", "--python", str(hooked)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        commands: dict[str, list[str]] = {}
        comparisons = []
        for label, argv in COMMANDS.items():
            for kind, venv in (("plain", plain), ("hooked", hooked)):
                commands[f"{kind}: {label}"] = [a.format(bin=venv / "bin") for a in argv]
            comparisons.append(Comparison(f"plain: {label}", None))
            comparisons.append(Comparison(f"hooked: {label}", f"plain: {label}", "<= 1.05x"))
        env = bench_env(plain)
        env.pop("VIRTUAL_ENV", None)
        env.pop("PIP_TFMAC_SHIM", None)
        results = measure(commands, env, opts.rounds)
        print(f"Shim overhead, {opts.rounds} rounds; {machine(tool_venv)}\n")
        print(table(results, comparisons))
        print(f"\nThe .pth gate in a start that is not pip: {gate_cost() * 1e6:.2f} us per start")
        own, cumulative = hook_import_cost(hooked)
        print(f"Import of the hook in a pip start (-X importtime, median of 20): self {own:.0f} us,"
              f" cumulative {cumulative:.0f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
