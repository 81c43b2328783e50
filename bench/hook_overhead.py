"""Resolver-hook overhead: plain pip against pip under runners/pip_hook.py and against the whole
`pip-tfmac install` of the same set (issue 18, item 7).

Goal: an install that brings no TensorFlow in stays <= 1.10x plain pip. Usage:
    python bench/hook_overhead.py [--rounds 5] [--packages requests pandas] [--dry-run]
Both sides use this environment's pip and the machine's pip configuration (warm cache), act
on a fresh pip-less venv through `--python` (as pip-tfmac does), alternate each round (the
order flips every round), and the hook watches the TensorFlow family with stop_on_watch on.
Prints a Markdown table: median and min-max wall seconds, median CPU seconds, ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from pip_tfmac.runners.pip import base_argv, hooked_argv, read_hook_result, write_hook_config

WATCH = ("tensorflow", "tensorflow-macos", "tensorflow-cpu", "tensorflow-metal", "tf-keras")


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (children's user + system) seconds of one run; fails loudly."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}")
    cpu = (after.children_user - before.children_user) + (after.children_system
                                                          - before.children_system)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--packages", nargs="+", default=["requests", "pandas"])
    parser.add_argument("--dry-run", action="store_true", help="pip install --dry-run")
    opts = parser.parse_args()
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    install = ["install", *(["--dry-run"] if opts.dry_run else []), *opts.packages]
    sides = ("pip", "hooked", "tfmac")
    times: dict[str, list[float]] = {side: [] for side in sides}
    cpus: dict[str, list[float]] = {side: [] for side in sides}
    tool = str(Path(sys.executable).with_name("pip-tfmac"))
    with tempfile.TemporaryDirectory(prefix="hook-bench-") as tmp:
        config, out = Path(tmp, "config.json"), Path(tmp, "out.json")
        write_hook_config(str(config), watch=WATCH, out=str(out))
        # Warm the cache (and check both sides work) once, untimed.
        for round_ in range(opts.rounds + 1):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for side in order:
                target = Path(tmp, f"venv-{side}-{round_}")
                venv.EnvBuilder(with_pip=False).create(target)
                python = str(target / "bin" / "python")
                general = ["--python", python]
                if side == "tfmac":
                    argv = [tool, *general, *install]
                else:
                    argv = (base_argv(python, general) if side == "pip"
                            else hooked_argv(python, general, str(config))) + install
                wall, cpu = timed(argv, env)
                if side == "hooked":
                    result = read_hook_result(str(out))
                    assert result is not None and not result.stopped, result
                if round_:
                    times[side].append(wall)
                    cpus[side].append(cpu)
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpus.items()}
    print(f"`pip {' '.join(install)}` into a fresh venv, {opts.rounds} alternating rounds, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}:\n")
    print("| command | median s | min-max s | CPU median s | vs pip |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for side, label in (("pip", "pip"), ("hooked", "pip under the resolver hook"),
                        ("tfmac", "pip-tfmac install")):
        ratio = "-" if side == "pip" else (f"{med[side] / med['pip']:.2f}x "
                                          f"(CPU {cpu_med[side] / cpu_med['pip']:.2f}x)")
        print(f"| {label} | {med[side]:.2f} | {min(times[side]):.2f}-{max(times[side]):.2f} "
              f"| {cpu_med[side]:.2f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
