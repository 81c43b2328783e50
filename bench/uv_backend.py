"""Benchmark of issue 17: the uv backend against pip-tfmac's pip backend, plain pip and plain uv.

1. The headline plan, `plan --platform macos-arm64 --python-version 3.11 tflite-model-maker`,
   cold (empty pip/uv caches and wheelhouse, each command its own) then warm (the same caches,
   second run): pip-tfmac (pip), pip-tfmac (uv), plain pip's dry run of the plan's final
   requirements/constraints/find-links, and `uv pip compile` of the same final set.
2. An install into a fresh Python 3.11 venv from warm caches (one warming install each first) of
   a Linux set, `tensorflow-cpu==2.15.1` (this machine is Linux): pip-tfmac (pip), pip-tfmac (uv),
   both with --no-verify (the verify's TensorFlow import is the same for both and not part of the
   install), against plain `pip install` and plain `uv pip install`.

Goals: pip-tfmac (uv) within 1.5x of uv's compile (plan) and 1.2x of uv's install; pip-tfmac (pip)
no slower than before (bench/RESULTS.md, issue 6: m02 warm 1.00x the pip floor).

One run each (the brief's budget). Run with the venv pip-tfmac is installed in, uv installed there
too (`pip install -e '.[uv]'`):

    .venv/bin/python bench/uv_backend.py

pip's and uv's configuration are isolated (PIP_CONFIG_FILE=/dev/null, UV_NO_CONFIG=1); Markdown
goes to stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import machine  # noqa: E402, I001

MAC_TAGS = [f"macosx_{m}_0_arm64" for m in (11, 12, 13, 14)]
INSTALL_SET = "tensorflow-cpu==2.15.1"


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


def row(label: str, wall: float, cpu: float, vs: "tuple[str, float] | None" = None, goal: str = "") -> str:
    ratio = f"{wall / vs[1]:.2f}x `{vs[0]}`" if vs else "-"
    return f"| {label} | {wall:.2f} | {cpu:.2f} | {ratio} | {goal} |"


HEAD = "| command | wall s | CPU s | vs | goal |\n| --- | ---: | ---: | --- | --- |"


def main() -> None:
    bindir = Path(sys.executable).parent
    tool, uv, py = str(bindir / "pip-tfmac"), str(bindir / "uv"), sys.executable
    py311 = shutil.which("python3.11") or sys.executable
    work = Path(tempfile.mkdtemp(prefix="pip-tfmac-bench-uv-"))
    uv_version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        plan_args = ["plan", "--platform", "macos-arm64", "--python-version", "3.11", "tflite-model-maker", "--json"]
        # The plan, once per backend, cold: also gives the final set for plain pip and uv.
        envs = {name: isolated(work / f"plan-{name}") for name in ("pip", "uv", "floor", "compile")}
        cold: dict[str, tuple[float, float]] = {}
        plans: dict[str, dict] = {}
        for name in ("pip", "uv"):
            out = work / f"plan-{name}.json"
            with open(out, "w") as handle:
                cold[name] = timed_run([tool, *plan_args, "--backend", name], envs[name], handle)
            plans[name] = json.loads(out.read_text())
        plan = plans["pip"]
        final, cons = work / "req.txt", work / "cons.txt"
        final.write_text("\n".join(plan["requirements"]) + "\n")
        cons.write_text("\n".join(plan["constraints"]) + "\n")
        floor = [py, "-m", "pip", "install", "--dry-run", "--quiet", "--report", os.devnull, "--target",
                 str(work / "t"), "--only-binary=:all:", "--python-version", "3.11", "-r", str(final), "-c", str(cons)]
        for tag in MAC_TAGS:
            floor += ["--platform", tag]
        compile_ = [uv, "pip", "compile", "--quiet", "--python-platform", "aarch64-apple-darwin", "--python-version",
                    "3.11", str(final), "--constraint", str(cons), "-o", os.devnull]
        for link in plan["find_links"]:
            floor += ["--find-links", link]
            compile_ += ["--find-links", link]
        cold["floor"] = timed_run(floor, envs["floor"])
        cold["compile"] = timed_run(compile_, envs["compile"])
        warm = {"pip": timed_run([tool, *plan_args, "--backend", "pip"], envs["pip"]),
                "uv": timed_run([tool, *plan_args, "--backend", "uv"], envs["uv"]),
                "floor": timed_run(floor, envs["floor"]), "compile": timed_run(compile_, envs["compile"])}

        def pairs(p: dict) -> str:
            v = {i["name"]: i["version"] for i in p["resolved"]}
            return f"tensorflow {v.get('tensorflow')} + tensorflow-metal {v.get('tensorflow-metal')}, {len(v)} dists"

        print(f"# uv backend benchmark ({machine(bindir.parent)}; {uv_version}; one run each, pip and uv config isolated)\n")
        print(f"Plan `pip-tfmac {' '.join(plan_args[:-1])}`: pip backend {pairs(plans['pip'])}; "
              f"uv backend {pairs(plans['uv'])}.\n")
        for label, t in (("cold", cold), ("warm", warm)):
            print(f"#### Plan, {label}\n\n{HEAD}")
            print(row("pip-tfmac plan (pip)", *t["pip"], ("pip dry run", t["floor"][0]), "no slower than before"))
            print(row("pip-tfmac plan (uv)", *t["uv"], ("uv pip compile", t["compile"][0]), "<= 1.5x"))
            print(row("pip install --dry-run of the final set", *t["floor"]))
            print(row("uv pip compile of the final set", *t["compile"]))
            print(f"\nuv backend vs pip backend: {t['uv'][0] / t['pip'][0]:.2f}x wall\n")

        # 2. Install of a Linux set into fresh venvs from warm caches.
        env = isolated(work / "install")
        commands = {
            "pip install": lambda v: [py, "-m", "pip", "--python", v, "install", "--quiet", INSTALL_SET],
            "uv pip install": lambda v: [uv, "pip", "install", "--quiet", "--python", v, INSTALL_SET],
            "pip-tfmac install (pip)": lambda v: [tool, "--python", v, "install", "--quiet", "--no-verify",
                                                  "--backend", "pip", INSTALL_SET],
            "pip-tfmac install (uv)": lambda v: [tool, "--python", v, "install", "--quiet", "--no-verify",
                                                 "--backend", "uv", INSTALL_SET],
        }
        timed: dict[str, tuple[float, float]] = {}
        for phase in ("warmup", "timed"):
            for i, (label, make) in enumerate(commands.items()):
                venv = work / f"venv-{phase}-{i}"
                subprocess.run([py311, "-m", "venv", "--without-pip", str(venv)], check=True)
                argv = make(str(venv / "bin" / "python"))
                if phase == "warmup":
                    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
                else:
                    timed[label] = timed_run(argv, env)
        print(f"#### Install `{INSTALL_SET}` into a fresh Python 3.11 venv, warm caches\n\n{HEAD}")
        print(row("pip install", *timed["pip install"]))
        print(row("uv pip install", *timed["uv pip install"]))
        print(row("pip-tfmac install (pip), --no-verify", *timed["pip-tfmac install (pip)"],
                  ("pip install", timed["pip install"][0])))
        print(row("pip-tfmac install (uv), --no-verify", *timed["pip-tfmac install (uv)"],
                  ("uv pip install", timed["uv pip install"][0]), "<= 1.2x"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
