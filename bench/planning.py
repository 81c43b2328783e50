"""Benchmark 3 of issue 6: planning time against its floor, cold and warm.

For each acceptance set: `pip-tfmac plan --platform macos-arm64 ...` with a warm pip cache
against the floor, one plain `pip install --dry-run --report` of the plan's final requirements,
constraints and find-links (what pip alone needs once the answer is known); the cold times (empty
pip cache and wheelhouse, --cold-rounds runs, against the floor run cold as well); and, as the speed record, `uv pip compile
--python-platform aarch64-apple-darwin` of the same final requirements when uv is installable.
Goals: warm <= 1.3x the floor; cold <= 60 s for the Model Maker set.

    python bench/planning.py [--rounds 3] [--cold-rounds 3] [--sets a01,a02,m02]

pip's configuration is isolated (PIP_CONFIG_FILE=/dev/null) so that every command sees the
same index; the figures go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import Comparison, Measured, bench_venvs, machine, measure, table  # noqa: E402, I001

ACCEPTANCE = Path(__file__).resolve().parents[1] / "tests" / "acceptance"
MAC_TAGS = [f"macosx_{m}_0_arm64" for m in (11, 12, 13, 14)]


def isolated(base: Path, venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
        XDG_CACHE_HOME=str(base / "xdg-cache"), PIP_TFMAC_CACHE_DIR=str(base / "wheelhouse"),
        VIRTUAL_ENV=str(venv), PATH=str(venv / "bin") + os.pathsep + os.environ.get("PATH", ""),
    )
    return env


def python_of(path: Path) -> str:
    match = re.search(r"#\s*python:\s*(\S+)", path.read_text())
    assert match, path
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sets", default="a01,a02,m02")
    parser.add_argument("--cold-rounds", type=int, default=3)
    parser.add_argument("--keep", help="reuse bench venvs in this folder")
    opts = parser.parse_args()
    with bench_venvs(opts.keep, editable=False) as venvs:
        venv = venvs["wheel"]
        tool = str(venv / "bin" / "pip-tfmac")
        py = str(venv / "bin" / "python")
        uv_ok = subprocess.run([py, "-m", "pip", "install", "--quiet", "uv"], check=False,
                               env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")).returncode == 0
        work = Path(tempfile.mkdtemp(prefix="pip-tfmac-bench-plan-"))
        try:
            rows: list[str] = []
            results: dict[str, Measured] = {}
            comparisons: list[Comparison] = []
            for set_id in opts.sets.split(","):
                path = sorted(ACCEPTANCE.glob(f"{set_id}-*.txt"))[0]
                version = python_of(path)
                plan_cmd = [tool, "plan", "--platform", "macos-arm64", "--python-version", version,
                            "-r", str(path), "--json"]
                # Cold: an empty pip cache and wheelhouse, --cold-rounds times (the index's
                # latency moves these by 2x from one minute to the next: one run says little).
                colds: list[float] = []
                plan = None
                for i in range(opts.cold_rounds):
                    cold_env = isolated(work / f"cold-{set_id}-{i}", venv)
                    start = time.perf_counter()
                    out = subprocess.run(plan_cmd, env=cold_env, capture_output=True, text=True, check=False)
                    colds.append(time.perf_counter() - start)
                    if out.returncode != 0:
                        print(f"# {set_id}: plan failed ({out.returncode}): {out.stderr[-400:]}", file=sys.stderr)
                        break
                    plan = json.loads(out.stdout)
                if plan is None:
                    continue
                final = work / f"{set_id}-req.txt"
                final.write_text("\n".join(plan["requirements"]) + "\n")
                cons = work / f"{set_id}-cons.txt"
                cons.write_text("\n".join(plan["constraints"]) + "\n")
                floor = [py, "-m", "pip", "install", "--dry-run", "--quiet", "--report", os.devnull,
                         "--target", str(work / "t"), "--only-binary=:all:", "--python-version", version,
                         "-r", str(final), "-c", str(cons)]
                for tag in MAC_TAGS:
                    floor += ["--platform", tag]
                for link in plan["find_links"]:
                    floor += ["--find-links", link]
                cold_floors: list[float] = []
                for i in range(opts.cold_rounds):
                    floor_env = isolated(work / f"cold-floor-{set_id}-{i}", venv)
                    start = time.perf_counter()
                    subprocess.run(floor, env=floor_env, check=True)
                    cold_floors.append(time.perf_counter() - start)
                commands = {f"{set_id}: pip-tfmac plan": plan_cmd, f"{set_id}: pip dry run (floor)": floor}
                if uv_ok:
                    uv = [str(venv / "bin" / "uv"), "pip", "compile", "--quiet", "--python-platform",
                          "aarch64-apple-darwin", "--python-version", version, str(final),
                          "--constraint", str(cons), "-o", os.devnull]
                    for link in plan["find_links"]:
                        uv += ["--find-links", link]
                    commands[f"{set_id}: uv pip compile"] = uv
                warm_env = cold_env  # the last cold run's caches, now warm
                try:
                    measured = measure(commands, warm_env, opts.rounds, warmup=1)
                except subprocess.CalledProcessError as exc:
                    print(f"# {set_id}: {exc}", file=sys.stderr)
                    measured = measure({k: v for k, v in commands.items() if "uv" not in k},
                                       warm_env, opts.rounds, warmup=1)
                results.update(measured)
                comparisons.append(Comparison(f"{set_id}: pip-tfmac plan", f"{set_id}: pip dry run (floor)",
                                              "<= 1.3x"))
                comparisons.append(Comparison(f"{set_id}: pip dry run (floor)", None))
                if f"{set_id}: uv pip compile" in measured:
                    comparisons.append(Comparison(f"{set_id}: uv pip compile", f"{set_id}: pip dry run (floor)",
                                                  "speed record"))
                goal = "<= 60 s" if set_id.startswith("m") else ""
                plan_med, floor_med = statistics.median(colds), statistics.median(cold_floors)
                rows.append(f"| {set_id} | {plan_med:.1f} | {min(colds):.1f}-{max(colds):.1f} | {floor_med:.1f} "
                            f"| {min(cold_floors):.1f}-{max(cold_floors):.1f} | {plan_med / floor_med:.2f}x | {goal} |")
            print(f"# Planning benchmark ({machine(venv)}, {opts.rounds} rounds, pip config isolated)\n")
            print("Warm pip cache:\n")
            print(table(results, comparisons))
            print(f"\nCold (empty pip cache and wheelhouse; {opts.cold_rounds} runs each, median and min-max):\n")
            print("| set | plan s | plan min-max s | floor s | floor min-max s | ratio | goal |\n"
                  "| --- | ---: | ---: | ---: | ---: | ---: | --- |")
            print("\n".join(rows))
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
