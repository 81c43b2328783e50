"""Benchmark of issue 17: the uv backend against pip-tfmac's pip backend, plain pip and plain uv.

1. The headline plan, `plan --platform macos-arm64 --python-version 3.11 tflite-model-maker`,
   cold (each command its own empty pip/uv caches and wheelhouse) then warm (the same caches
   again): pip-tfmac (pip), pip-tfmac (uv), plain pip's dry run of the pip plan's final
   requirements/constraints/find-links, and `uv pip compile` of the uv plan's final set with the
   same local wheels (the uv plan's wheelhouse: the recipe's patched wheel, built by pip-tfmac;
   under --backend uv the recipe's sdists are uv's to build, for both). The final sets and local
   wheels come from an untimed first run in other caches.
2. An install into a fresh Python 3.11 venv from warm caches (one warming install each first) of
   a Linux set, `tensorflow-cpu==2.15.1` (this machine is Linux): pip-tfmac (pip) and (uv), both
   with --no-verify (the verify's TensorFlow import is the same for both and not part of the
   install), against plain `pip install` and plain `uv pip install`, the commands alternating.

`--baseline CHECKOUT` adds pip-tfmac (pip) from another checkout (e.g. main) to both tables, in
a venv of its own: "pip-tfmac (pip) no slower than before" measured in the same run.

Goals: pip-tfmac (uv) within 1.5x of uv's compile (plan) and 1.2x of uv's install; pip-tfmac (pip)
no slower than before. Each table says the load average before and after it (2 cores).

    .venv/bin/python bench/uv_backend.py --baseline /work/main --rounds 1 --uv-rounds 5

Run with the venv pip-tfmac is installed in, uv installed there too (`pip install -e '.[uv]'`).
pip's and uv's configuration are isolated (PIP_CONFIG_FILE=/dev/null, UV_NO_CONFIG=1); Markdown
goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import machine  # noqa: E402, I001

MAC_TAGS = [f"macosx_{m}_0_arm64" for m in (11, 12, 13, 14)]
INSTALL_SET = "tensorflow-cpu==2.15.1"
PLAN_ARGS = ["plan", "--platform", "macos-arm64", "--python-version", "3.11", "tflite-model-maker", "--json"]


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def timed_run(argv: list[str], env: dict[str, str], stdout: "int | object" = subprocess.DEVNULL) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of argv (os.wait4: that child's own rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=stdout)  # type: ignore[arg-type]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), argv)
    return wall, usage.ru_utime + usage.ru_stime


def isolated(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    for sub in ("xdg-cache", "uv-cache", "wheelhouse"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_NO_CONFIG="1",
               XDG_CACHE_HOME=str(base / "xdg-cache"), UV_CACHE_DIR=str(base / "uv-cache"),
               PIP_TFMAC_CACHE_DIR=str(base / "wheelhouse"))
    env.pop("VIRTUAL_ENV", None)
    return env


class Table:
    def __init__(self) -> None:
        self.runs: dict[str, list[tuple[float, float]]] = {}
        self.loads: list[str] = [load()]

    def add(self, label: str, result: tuple[float, float]) -> None:
        self.runs.setdefault(label, []).append(result)

    def wall(self, label: str) -> float:
        return statistics.median(w for w, _ in self.runs[label])

    def render(self, rows: list[tuple[str, "str | None", str]]) -> str:
        self.loads.append(load())
        out = [f"load average {self.loads[0]} before, {self.loads[-1]} after\n",
               "| command | runs | wall median s | wall min-max s | CPU median s | vs | goal |",
               "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
        for label, vs, goal in rows:
            if label not in self.runs:
                continue
            walls = [w for w, _ in self.runs[label]]
            cpu = statistics.median(c for _, c in self.runs[label])
            ratio = f"{self.wall(label) / self.wall(vs):.2f}x `{vs}`" if vs and vs in self.runs else "-"
            out.append(f"| {label} | {len(walls)} | {self.wall(label):.2f} | {min(walls):.2f}-{max(walls):.2f} | "
                       f"{cpu:.2f} | {ratio} | {goal} |")
        return "\n".join(out) + "\n"


def baseline_tool(checkout: str, work: Path, py: str) -> str:
    venv = work / "baseline-venv"
    subprocess.run([py, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", checkout],
                   check=True, env=isolated(work / "baseline-build"))
    return str(venv / "bin" / "pip-tfmac")


def plan_json(tool: str, backend: str, env: dict[str, str], out: Path) -> dict:
    with open(out, "w") as handle:
        timed_run([tool, *PLAN_ARGS, "--backend", backend], env, handle)
    return json.loads(out.read_text())


def final_set(plan: dict, work: Path, name: str) -> tuple[Path, Path, list[str]]:
    req, cons = work / f"{name}-req.txt", work / f"{name}-cons.txt"
    req.write_text("\n".join(plan["requirements"]) + "\n")
    cons.write_text("\n".join(plan["constraints"]) + "\n")
    return req, cons, list(plan["find_links"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="a pip-tfmac checkout to measure the pip backend of, beside this one")
    ap.add_argument("--rounds", type=int, default=1, help="warm plan rounds of the pip commands")
    ap.add_argument("--uv-rounds", type=int, default=5, help="warm rounds of the uv commands, installs of all")
    ap.add_argument("--skip-plan", action="store_true")
    ap.add_argument("--skip-install", action="store_true")
    opts = ap.parse_args()
    bindir = Path(sys.executable).parent
    tool, uv, py = str(bindir / "pip-tfmac"), str(bindir / "uv"), sys.executable
    py311 = shutil.which("python3.11") or sys.executable
    work = Path(tempfile.mkdtemp(prefix="pip-tfmac-bench-uv-"))
    uv_version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    base = baseline_tool(opts.baseline, work, py) if opts.baseline else None
    print(f"# uv backend benchmark ({machine(bindir.parent)}; {uv_version}; pip and uv config isolated)\n")
    try:
        if not opts.skip_plan:
            plan_bench(opts, work, tool, base, uv, py)
        if not opts.skip_install:
            install_bench(opts, work, tool, base, uv, py311)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def plan_bench(opts: argparse.Namespace, work: Path, tool: str, base: "str | None", uv: str, py: str) -> None:
    # Untimed: the final sets, and the local wheels the plain commands are given.
    prep = {b: plan_json(tool, b, isolated(work / f"prep-{b}"), work / f"prep-{b}.json") for b in ("pip", "uv")}
    req, cons, links = final_set(prep["pip"], work, "pip")
    floor = [py, "-m", "pip", "install", "--dry-run", "--quiet", "--report", os.devnull, "--target",
             str(work / "t"), "--only-binary=:all:", "--python-version", "3.11", "-r", str(req), "-c", str(cons)]
    floor += [a for tag in MAC_TAGS for a in ("--platform", tag)] + [a for link in links for a in ("--find-links", link)]
    ureq, ucons, ulinks = final_set(prep["uv"], work, "uv")
    compile_ = [uv, "pip", "compile", "--quiet", "--python-platform", "aarch64-apple-darwin", "--python-version",
                "3.11", str(ureq), "--constraint", str(ucons), "-o", os.devnull]
    compile_ += [a for link in ulinks for a in ("--find-links", link)]
    commands = {"pip-tfmac plan (uv)": [tool, *PLAN_ARGS, "--backend", "uv"],
                "uv pip compile of the final set": compile_,
                "pip-tfmac plan (pip)": [tool, *PLAN_ARGS, "--backend", "pip"],
                "pip install --dry-run of the final set": floor}
    if base:
        commands["pip-tfmac plan (pip), baseline"] = [base, *PLAN_ARGS, "--backend", "pip"]
    envs = {label: isolated(work / f"plan-{i}") for i, label in enumerate(commands)}
    fast = ("pip-tfmac plan (uv)", "uv pip compile of the final set")

    def pairs(p: dict) -> str:
        v = {i["name"]: i["version"] for i in p["resolved"]}
        return f"tensorflow {v.get('tensorflow')} + tensorflow-metal {v.get('tensorflow-metal')}, {len(v)} dists"

    print(f"Plan `pip-tfmac {' '.join(PLAN_ARGS[:-1])}`: pip backend {pairs(prep['pip'])}; "
          f"uv backend {pairs(prep['uv'])}; uv's compile is given the uv plan's local wheels "
          f"({', '.join(sorted(os.listdir(ulinks[0]))) if ulinks else 'none'}).\n")
    for phase in ("cold", "warm"):
        table = Table()
        rounds = {label: (1 if phase == "cold" else opts.uv_rounds if label in fast else opts.rounds)
                  for label in commands}
        for r in range(max(rounds.values())):
            for label, argv in commands.items():
                if r < rounds[label]:
                    table.add(label, timed_run(argv, envs[label]))
        print(f"#### Plan, {phase}\n")
        print(table.render([("pip-tfmac plan (uv)", "uv pip compile of the final set", "<= 1.5x"),
                            ("uv pip compile of the final set", None, ""),
                            ("pip-tfmac plan (pip)", "pip install --dry-run of the final set", ""),
                            ("pip-tfmac plan (pip), baseline", "pip install --dry-run of the final set", ""),
                            ("pip install --dry-run of the final set", None, "")]))
        if base:
            print(f"pip backend vs baseline: {table.wall('pip-tfmac plan (pip)') / table.wall('pip-tfmac plan (pip), baseline'):.2f}x wall\n")


def install_bench(opts: argparse.Namespace, work: Path, tool: str, base: "str | None", uv: str, py311: str) -> None:
    env = isolated(work / "install")
    commands = {
        "uv pip install": lambda v: [uv, "pip", "install", "--quiet", "--python", v, INSTALL_SET],
        "pip-tfmac install (uv), --no-verify": lambda v: [tool, "--python", v, "install", "--quiet", "--no-verify",
                                                          "--backend", "uv", INSTALL_SET],
        "pip install": lambda v: [py311, "-m", "pip", "--python", v, "install", "--quiet", INSTALL_SET],
        "pip-tfmac install (pip), --no-verify": lambda v: [tool, "--python", v, "install", "--quiet", "--no-verify",
                                                           "--backend", "pip", INSTALL_SET],
    }
    if base:
        commands["pip-tfmac install (pip), --no-verify, baseline"] = lambda v: [
            base, "--python", v, "install", "--quiet", "--no-verify", "--backend", "pip", INSTALL_SET]
    fast = ("uv pip install", "pip-tfmac install (uv), --no-verify")
    table = Table()
    n = 0
    for phase in ("warmup", "timed"):
        rounds = 1 if phase == "warmup" else opts.uv_rounds
        for r in range(rounds):
            for label, make in commands.items():
                if phase == "timed" and label not in fast and r >= max(opts.rounds, 1):
                    continue
                n += 1
                venv = work / f"venv-{n}"
                subprocess.run([py311, "-m", "venv", "--without-pip", str(venv)], check=True)
                argv = make(str(venv / "bin" / "python"))
                if phase == "warmup":
                    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
                    table.loads[0] = load()
                else:
                    table.add(label, timed_run(argv, env))
                shutil.rmtree(venv, ignore_errors=True)
    print(f"#### Install `{INSTALL_SET}` into a fresh Python 3.11 venv, warm caches\n")
    print(table.render([("pip-tfmac install (uv), --no-verify", "uv pip install", "<= 1.2x"),
                        ("uv pip install", None, ""),
                        ("pip-tfmac install (pip), --no-verify", "pip install", ""),
                        ("pip-tfmac install (pip), --no-verify, baseline", "pip install", ""),
                        ("pip install", None, "")]))
    if base:
        print(f"pip backend vs baseline: {table.wall('pip-tfmac install (pip), --no-verify') / table.wall('pip-tfmac install (pip), --no-verify, baseline'):.2f}x wall\n")


if __name__ == "__main__":
    main()
