"""Reinstall from a warm local wheel set into a fresh venv (issue 3 / issue 6, item 4).

Compares, on the same wheel files, each into its own fresh venv (venv creation not timed):

- `pip`:                 pip install --no-index --find-links DIR --no-deps WHEELS (compiles .pyc)
- `pip --no-compile`:    the same without bytecode
- `tfmac fast`:          pip_tfmac.wheelhouse.fastinstall from the wheel files (installer, threads;
                         .pyc by the target's compileall -j 0): the first install of a plan
- `tfmac cached`:        the same with the wheelhouse's unpacked trees (unzipped and compiled
                         once per target Python, in the warm-up round): files copied, .pyc
                         included, mtimes kept; `--hardlink` links them instead (as uv does)
- `uv` / `uv --compile-bytecode`: uv pip install of the same files with its warm cache
                         (`pip install uv` into a bench venv first; skipped if that fails)

Goal (issue 3): pip-tfmac's cached reinstall <= 0.6x pip. Every tfmac variant leaves .pyc files
like pip's default; uv compiles nothing unless asked (`--compile-bytecode`), so compare
`tfmac cached` with `uv --compile-bytecode` for like-for-like.

Usage:
    python bench/reinstall.py [--wheels DIR | --requirement SPEC ...] [--rounds 5] [--no-uv]
Without --wheels, `pip download` (pip's own network settings) fetches the requirement set
(default: tensorflow-cpu==2.16.2, the heavy case) into $TMPDIR/pip-tfmac-bench-wheels.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from _bench import REPO, Comparison, Measured, _timed, table

DEFAULT_SET = ["tensorflow-cpu==2.16.2"]


def clean_env() -> dict[str, str]:
    """No machine pip config (find-links, constraints): every tool sees only the wheel folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_NO_CONFIG="1")
    env["PYTHONPATH"] = str(REPO / "src")  # fastinstall from this checkout
    return env


def fetch(requirements: list[str], dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    if not any(dest.glob("*.whl")):
        print(f"# pip download {' '.join(requirements)} -> {dest}", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary=:all:",
                "-d",
                str(dest),
                *requirements,
            ],
            check=True,
        )
    return dest


def find_uv(work: Path) -> str | None:
    found = shutil.which("uv")
    if found:
        return found
    uv_venv = work / "uv-venv"
    try:
        venv.EnvBuilder(with_pip=True).create(uv_venv)
        subprocess.run(
            [str(uv_venv / "bin" / "python"), "-m", "pip", "install", "-q", "uv"], check=True
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"# uv not available ({exc}); skipped", file=sys.stderr)
        return None
    return str(uv_venv / "bin" / "uv")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", help="folder of wheels to install (all of them)")
    ap.add_argument("--requirement", action="append", help="what to pip download instead")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-uv", action="store_true")
    ap.add_argument("--python", default=sys.executable, help="Python of the fresh venvs")
    opts = ap.parse_args()

    wheels_dir = (
        Path(opts.wheels)
        if opts.wheels
        else fetch(
            opts.requirement or DEFAULT_SET, Path(tempfile.gettempdir()) / "pip-tfmac-bench-wheels"
        )
    )
    wheels = sorted(str(p) for p in wheels_dir.glob("*.whl"))
    if not wheels:
        print(f"no wheels in {wheels_dir}", file=sys.stderr)
        return 1
    size = sum(Path(w).stat().st_size for w in wheels)
    work = Path(tempfile.mkdtemp(prefix="pip-tfmac-bench-reinstall-"))
    env = clean_env()
    env["UV_CACHE_DIR"] = str(work / "uv-cache")
    try:
        pip = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            "{py}",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheels_dir),
            "--no-deps",
            *wheels,
        ]
        fast = [sys.executable, "-m", "pip_tfmac.wheelhouse.fastinstall", "{py}", *wheels]
        store = [
            sys.executable,
            "-m",
            "pip_tfmac.wheelhouse.fastinstall",
            "--wheelhouse",
            str(work / "wheelhouse"),
            "{py}",
            *wheels,
        ]
        commands: dict[str, list[str]] = {
            "pip": pip,
            "pip --no-compile": [*pip, "--no-compile"],
            "tfmac fast": fast,
            "tfmac cached": store,
            "tfmac cached --hardlink": [*store, "--hardlink"],
        }
        uv = None if opts.no_uv else find_uv(work)
        if uv:
            uv_cmd = [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                "{py}",
                "--no-index",
                "--find-links",
                str(wheels_dir),
                "--no-deps",
                *wheels,
            ]
            commands["uv"] = uv_cmd
            commands["uv --compile-bytecode"] = [*uv_cmd, "--compile-bytecode"]

        counter = iter(range(10**6))

        def run_once(label: str) -> tuple[float, float]:
            # Venvs are deleted only at the end: on file systems mounted with `discard`,
            # deleting a TensorFlow venv takes minutes and would slow the next timed run.
            target = work / f"venv-{next(counter)}"
            subprocess.run([opts.python, "-m", "venv", "--without-pip", str(target)], check=True)
            py = str(target / "bin" / "python")
            argv = [a.replace("{py}", py) for a in commands[label]]
            return _timed(argv, env)

        labels = list(commands)
        for label in labels:
            if label.startswith(("tfmac cached", "uv")):
                run_once(label)  # warm-up: fills the wheelhouse's unpacked trees, uv's cache
        times: dict[str, list[float]] = {label: [] for label in labels}
        cpu: dict[str, list[float]] = {label: [] for label in labels}
        for r in range(opts.rounds):
            order = labels[r % len(labels) :] + labels[: r % len(labels)]
            for label in order:
                wall, used = run_once(label)
                times[label].append(wall)
                cpu[label].append(used)
                print(f"# round {r + 1}: {label}: {wall:.2f} s", file=sys.stderr)
        results = {k: Measured(k, tuple(times[k]), tuple(cpu[k])) for k in labels}
        report(results, wheels, wheels_dir, size, opts.rounds)
    finally:
        print(f"# removing {work}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(
    results: dict[str, Measured], wheels: list[str], wheels_dir: Path, size: int, rounds: int
) -> None:

    import platform
    import time

    print(
        f"Reinstall of {len(wheels)} wheels ({size / 1e6:.0f} MB) from {wheels_dir}, "
        f"{rounds} rounds; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{platform.system()} {platform.machine()}, nproc={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}; Python {platform.python_version()}\n"
    )
    comps = [
        Comparison("pip", None),
        Comparison("tfmac cached", "pip", "<= 0.6x"),
        Comparison("tfmac cached --hardlink", "pip", "<= 0.6x"),
        Comparison("tfmac fast", "pip"),
        Comparison("pip --no-compile", "pip"),
    ]
    if "uv" in results:
        comps += [
            Comparison("uv", "pip"),
            Comparison("uv --compile-bytecode", "pip"),
            Comparison("tfmac cached", "uv --compile-bytecode"),
            Comparison("tfmac cached --hardlink", "uv --compile-bytecode"),
        ]
    print(table(results, comps), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
