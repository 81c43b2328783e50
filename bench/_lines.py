"""Shared by model_maker_lines.py and mediapipe_lines.py: cold and warm `pip-tfmac install`
of one project per Python, the disk it costs, and plain pip's warm install of the same pins.

Per Python, in a work folder of its own, with pip isolated from the machine's configuration
(PIP_CONFIG_FILE=/dev/null, no PIP_* variable but the certificate bundle, no PYTHON* variable):

1. cold: empty pip cache, empty pip-tfmac wheelhouse, fresh venv: `pip-tfmac --python VENV
   install PROJECT` timed (venv creation is not);
2. sizes after the cold run: the venv, the wheelhouse, the pip cache (files only, bytes >> 20);
3. `pip-tfmac plan --json PROJECT` against a fresh venv (not timed): its "resolved" list is the
   final pinned set;
4. warm: the same caches, another fresh venv, the same command timed;
5. plain pip warm: the same caches, a third fresh venv, `python -m pip install NAME==VERSION ...`
   of that pinned set with `--find-links` to the wheelhouse (the patched wheels live only there)
   timed: pip-tfmac's warm time over this is its own overhead (planning, patched wheels looked
   up, verify).

The load average (1 min) is read before and after every timed run: other work on the machine
moves wall times, so read the figures with it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOL = [sys.executable, "-m", "pip_tfmac"]


def interpreter(version: str) -> str | None:
    """A Python X.Y that really runs X.Y (a pyenv shim answers to every pythonX.Y name)."""
    pyenv = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python"))
    for found in filter(None, [str(p) for p in reversed(pyenv)] + [shutil.which(f"python{version}")]):
        probe = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return found
    return None


def isolated_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               PIP_CACHE_DIR=str(base / "pip-cache"), PIP_TFMAC_CACHE_DIR=str(base / "wheelhouse"))
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env["PYTHONPATH"] = str(REPO / "src")  # this checkout's pip-tfmac, whatever runs the script
    return env


def size_mb(path: Path) -> int:
    if not path.exists():
        return 0
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total >> 20


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _timed(argv: list[str], env: dict[str, str], what: str) -> dict[str, object]:
    before = _load()
    start = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-5000:])
        raise SystemExit(f"{what} failed (exit {done.returncode})")
    return {"seconds": round(seconds, 1), "load": f"{before}-{_load()}"}


def _venv(python: str, path: Path, env: dict[str, str]) -> Path:
    subprocess.run([python, "-m", "venv", str(path)], check=True, env=env)
    return path / "bin" / "python"


def _versions(vpython: Path, env: dict[str, str]) -> dict[str, str]:
    listing = subprocess.run([str(vpython), "-m", "pip", "list", "--format=json"],
                             env=env, capture_output=True, text=True, check=True)
    return {p["name"].lower(): p["version"] for p in json.loads(listing.stdout)}


def measure_line(project: str, version: str, base: Path, plain: bool) -> dict[str, object]:
    python = interpreter(version)
    if python is None:
        raise SystemExit(f"no Python {version} interpreter")
    env = isolated_env(base)
    install = [*TOOL, "--python", "{py}", "install", project]
    row: dict[str, object] = {"project": project, "python": version}

    vpy = _venv(python, base / "venv-cold", env)
    row["cold"] = _timed([a.format(py=vpy) for a in install], env, f"cold install ({version})")
    versions = _versions(vpy, env)
    row.update(line=versions.get(project), tensorflow=versions.get("tensorflow"),
               packages=len(versions), venv_mb=size_mb(base / "venv-cold"),
               wheelhouse_mb=size_mb(base / "wheelhouse"), pip_cache_mb=size_mb(base / "pip-cache"))
    print(json.dumps(row), file=sys.stderr, flush=True)
    shutil.rmtree(base / "venv-cold", ignore_errors=True)

    vpy = _venv(python, base / "venv-warm", env)
    plan = subprocess.run([*TOOL, "--python", str(vpy), "plan", "--json", project],
                          env=env, capture_output=True, text=True, check=True)
    planned = json.loads(plan.stdout)
    pins = [f"{r['name']}=={r['version']}" for r in planned["resolved"]]
    row["warm"] = _timed([a.format(py=vpy) for a in install], env, f"warm install ({version})")
    row["warm_venv_mb"] = size_mb(base / "venv-warm")
    shutil.rmtree(base / "venv-warm", ignore_errors=True)

    if plain:
        vpy = _venv(python, base / "venv-plain", env)
        links = [x for d in planned.get("find_links", []) for x in ("--find-links", d)]
        row["plain_pins"] = len(pins)
        row["plain"] = _timed([str(vpy), "-m", "pip", "install", *links, *pins], env,
                              f"plain pip install of the pins ({version})")
        shutil.rmtree(base / "venv-plain", ignore_errors=True)
        row["ratio"] = round(row["warm"]["seconds"] / row["plain"]["seconds"], 2)  # type: ignore[index]
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def table(rows: list[dict[str, object]]) -> str:
    out = ["| line | Python | TensorFlow | packages | cold s (load) | warm s (load) | venv MB "
           "| wheelhouse MB | pip cache MB | plain pip warm s (load) | warm / plain |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        cold, warm, plain = r["cold"], r["warm"], r.get("plain")
        plain_cell = f"{plain['seconds']} ({plain['load']})" if plain else "-"  # type: ignore[index]
        out.append(f"| {r['line']} | {r['python']} | {r['tensorflow']} | {r['packages']} "
                   f"| {cold['seconds']} ({cold['load']}) | {warm['seconds']} ({warm['load']}) "  # type: ignore[index]
                   f"| {r['venv_mb']} | {r['wheelhouse_mb']} | {r['pip_cache_mb']} "
                   f"| {plain_cell} | {str(r['ratio']) + 'x' if plain else '-'} |")
    return "\n".join(out)


def main(project: str, doc: str, default_pythons: list[str]) -> None:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--python", action="append",
                        help=f"X.Y (repeatable; default {', '.join(default_pythons)})")
    parser.add_argument("--no-plain", action="store_true",
                        help="skip plain pip's warm install of the pinned set")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the caches")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.system()} "
          f"{platform.machine()}, nproc={os.cpu_count()}, load {os.getloadavg()}; "
          f"pip-tfmac from {REPO}", file=sys.stderr)
    rows = []
    for version in args.python or default_pythons:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix=f"lines-{project}-{version}-", dir=args.keep))
        try:
            rows.append(measure_line(project, version, base, plain=not args.no_plain))
        finally:
            if args.keep is None:
                shutil.rmtree(base, ignore_errors=True)
    print(table(rows))
