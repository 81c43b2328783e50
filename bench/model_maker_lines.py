"""`pip-tfmac install tflite-model-maker` on the recipe's newer lines: cold and warm time, venv size.

For each Python (default 3.12 and 3.13, the TF 2.18 and TF 2.20 lines) on this Linux x86_64
machine, with pip isolated from the machine's configuration:

- cold: empty pip cache and empty pip-tfmac cache (everything downloaded, the patched wheel and
  its stand-ins built, promise pre-built), fresh venv;
- warm: the same caches again, another fresh venv (pip's HTTP cache and pip-tfmac's wheelhouse
  are filled; pip still unpacks and compiles every wheel).

Venv creation is not timed. The size is every regular file under the venv (`du`-like, bytes).

Usage:
    python bench/model_maker_lines.py [--python 3.12 --python 3.13] [--keep DIR]
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

REPO = Path(__file__).resolve().parents[1]


def _interpreter(version: str) -> str | None:
    found = shutil.which(f"python{version}")
    if found:
        return found
    pyenv = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python"))
    return str(pyenv[-1]) if pyenv else None


def _env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_CACHE_DIR=str(base / "pip-cache"),
        PIP_TFMAC_CACHE_DIR=str(base / "pip-tfmac-cache"),
    )
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _install(python: str, base: Path, name: str, env: dict[str, str]) -> dict[str, object]:
    venv = base / name
    subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env)
    tool = [sys.executable, "-m", "pip_tfmac"]
    start = time.monotonic()
    done = subprocess.run(
        [*tool, "--python", str(venv / "bin" / "python"), "install", "tflite-model-maker"],
        env=env, capture_output=True, text=True,
    )
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"install failed ({name}, exit {done.returncode})")
    listing = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                             env=env, capture_output=True, text=True, check=True)
    versions = {p["name"].lower(): p["version"] for p in json.loads(listing.stdout)}
    return {"seconds": round(seconds, 1), "venv_mb": round(_size(venv) / 2**20),
            "packages": len(versions), "tflite-model-maker": versions.get("tflite-model-maker"),
            "tensorflow": versions.get("tensorflow")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="X.Y (repeatable; default 3.12, 3.13)")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()
    rows = []
    for version in args.python or ["3.12", "3.13"]:
        python = _interpreter(version)
        if python is None:
            print(f"# no Python {version} interpreter: skipped", file=sys.stderr)
            continue
        base = Path(tempfile.mkdtemp(prefix=f"mm-lines-{version}-", dir=args.keep))
        env = _env(base)
        env["PYTHONPATH"] = str(REPO / "src")
        cold = _install(python, base, "venv-cold", env)
        warm = _install(python, base, "venv-warm", env)
        rows.append({"python": version, "cold": cold, "warm": warm})
        print(json.dumps(rows[-1]), flush=True)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print("\n| Python | line | TensorFlow | cold install | warm install | venv size | packages |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cold, warm = row["cold"], row["warm"]
        print(f"| {row['python']} | {cold['tflite-model-maker']} | {cold['tensorflow']} | {cold['seconds']} s "
              f"| {warm['seconds']} s | {cold['venv_mb']} MB | {cold['packages']} |")


if __name__ == "__main__":
    main()
