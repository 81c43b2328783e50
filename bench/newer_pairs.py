"""A plan meeting a release newer than the knowledge (issue 12 part 4): the first plan fetches
the two wheels through pip and link-checks the pair; a later plan reads the verdict kept in the
wheelhouse. Times one plan of each kind, against the same plan with the knowledge judging the
pair itself (no check at all).

    python bench/newer_pairs.py [--tf 2.17.1] [--constraint "tensorflow-metal<1.2"] [--rounds 3]

"Newer" is played by the test seam PIP_TFMAC_KNOWLEDGE_CUT="tensorflow<2.17 tensorflow-metal<1.2"
(the knowledge then ends at 2.16.2 / 1.1.0); the constraint (a `-c` file) holds pip at the 1.1.0
plugin, else it picks the index's newest. Each round uses a fresh wheelhouse (so the first
plan computes), then plans again (cached), then plans without the cut (baseline). pip runs with
the machine's pip configuration removed and its own cache under the bench folder: round 1 pays
the downloads, later rounds get the wheels from pip's HTTP cache (copied, re-hashed, checked).
Per row: wall time of the whole `pip-tfmac plan` (two pip dry runs of TensorFlow's dependency
set from the index included) and the seconds the plan's JSON reports for the link check
(`link_checks[0].seconds`: fetching, hashing, reading the symbols, the check; near 0 cached).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CUT = "tensorflow<2.17 tensorflow-metal<1.2"


def env_for(base: Path, house: Path, cut: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    for sub in ("xdg-config", "xdg-cache"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               XDG_CONFIG_HOME=str(base / "xdg-config"), XDG_CACHE_HOME=str(base / "xdg-cache"),
               PIP_TFMAC_CACHE_DIR=str(house))
    if cut:
        env["PIP_TFMAC_KNOWLEDGE_CUT"] = CUT
    return env


def plan(tf: str, env: dict[str, str], constraints: Path) -> tuple[float, dict]:
    tool = Path(sys.executable).with_name("pip-tfmac")
    argv = [str(tool) if tool.exists() else sys.executable, *([] if tool.exists() else ["-m", "pip_tfmac"]),
            "plan", "--platform", "macos-arm64", "--python-version", "3.11", "-c", str(constraints),
            f"tensorflow=={tf}", "--json"]
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"plan failed ({out.returncode}):\n{out.stderr}")
    return wall, json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf", default="2.17.1")
    parser.add_argument("--constraint", default="tensorflow-metal<1.2")
    parser.add_argument("--rounds", type=int, default=3)
    ns = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-newer-"))
    constraints = base / "constraints.txt"
    constraints.write_text(ns.constraint + "\n", encoding="utf-8")
    rows: dict[str, list[tuple[float, float]]] = {"first (computes)": [], "second (cached)": [],
                                                   "knowledge judges (no check)": []}
    state = ""
    try:
        for n in range(ns.rounds):
            house = base / f"wheelhouse-{n}"
            wall, data = plan(ns.tf, env_for(base, house, cut=True), constraints)
            (check,) = data["link_checks"]
            assert check["computed"], check
            state = f"{check['tensorflow']} x {check['tensorflow_metal']}: {check['state']}"
            rows["first (computes)"].append((wall, check["seconds"]))
            wall, data = plan(ns.tf, env_for(base, house, cut=True), constraints)
            (check,) = data["link_checks"]
            assert not check["computed"], check
            rows["second (cached)"].append((wall, check["seconds"]))
            wall, data = plan(ns.tf, env_for(base, house, cut=False), constraints)
            assert data["link_checks"] == []
            rows["knowledge judges (no check)"].append((wall, 0.0))
            shutil.rmtree(house, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"pair {state}; {ns.rounds} rounds; {platform.platform()}, {os.cpu_count()} CPUs")
    print("| plan | wall median (min-max) s | link check median s | round 1 wall / check s |")
    print("| --- | --- | --- | --- |")
    for label, values in rows.items():
        walls = [w for w, _ in values]
        checks = [c for _, c in values]
        print(f"| {label} | {statistics.median(walls):.1f} ({min(walls):.1f}-{max(walls):.1f}) | "
              f"{statistics.median(checks):.2f} | {walls[0]:.1f} / {checks[0]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
