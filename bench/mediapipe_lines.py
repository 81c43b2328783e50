"""Cold and warm `pip-tfmac install mediapipe-model-maker` per recipe line (issue 15, item 6).

For each Python (default 3.12: the default line, TF 2.18.1; 3.13: lines/tf220-py313.toml, TF
2.20.0), into a fresh venv of that Python (venv creation not timed):

- cold: an empty pip-tfmac wheelhouse and an empty pip cache (fetch and patch the original
  wheel, pre-build the sdists, resolve, download everything, install, verify);
- warm: a second fresh venv with the wheelhouse and pip cache the cold run left.

Reports wall seconds and the venv's size on disk (MB, files only, symlinks not followed).
pip runs with this machine's pip configuration switched off (PIP_CONFIG_FILE=/dev/null, no PIP_*
variables but the certificate bundle), as the tests do.

Usage:
    python bench/mediapipe_lines.py [--python 3.12 --python 3.13] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOL = Path(sys.executable).with_name("pip-tfmac")


def _interpreter(version: str) -> str | None:
    found = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python"))
    return str(found[-1]) if found else shutil.which(f"python{version}")


def _env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_CACHE_DIR=str(base / "pip-cache"), PIP_TFMAC_CACHE_DIR=str(base / "wheelhouse"))
    return env


def _size_mb(path: Path) -> int:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total >> 20


def _install(python: str, base: Path, name: str) -> dict[str, object]:
    env = _env(base)
    venv = base / name
    subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env)
    start = time.monotonic()
    done = subprocess.run([str(TOOL), "--python", str(venv / "bin" / "python"), "install",
                           "mediapipe-model-maker"], env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{name}: pip-tfmac install failed ({done.returncode})\n{done.stderr[-3000:]}")
    listing = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                             env=env, capture_output=True, text=True, check=True)
    versions = {p["name"].lower(): p["version"] for p in json.loads(listing.stdout)}
    return {"seconds": round(seconds, 1), "venv_mb": _size_mb(venv),
            "line": versions.get("mediapipe-model-maker"), "tensorflow": versions.get("tensorflow")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="X.Y (repeatable; default 3.12 and 3.13)")
    parser.add_argument("--keep", help="work in this folder and keep it")
    args = parser.parse_args()
    rows = []
    for version in args.python or ["3.12", "3.13"]:
        python = _interpreter(version)
        if python is None:
            print(f"Python {version}: no interpreter, skipped")
            continue
        base = Path(args.keep or tempfile.mkdtemp(prefix="pip-tfmac-bench-mp-")) / version
        base.mkdir(parents=True, exist_ok=True)
        cold = _install(python, base, "cold")
        warm = _install(python, base, "warm")
        rows.append((version, cold, warm))
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("| Python | line | tensorflow | cold install s | warm install s | venv MB |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for version, cold, warm in rows:
        print(f"| {version} | {cold['line']} | {cold['tensorflow']} | {cold['seconds']} | "
              f"{warm['seconds']} | {warm['venv_mb']} |")


if __name__ == "__main__":
    main()
