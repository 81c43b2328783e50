"""Link check cost per pair, from local wheels (issue 12): goals two-level <= 1 s a pair, flat
part under 500 MB peak memory (its time reported).

    python bench/linkcheck.py --wheels DIR [--pairs 2.18.1:1.1.0,2.17.1:1.1.0] [--rounds 3]
                              [--whole]

Each measurement runs in a fresh child process (so its peak RSS, ru_maxrss, is its own) with
no symbol cache, except the "cached" row, which reads the tables a previous child wrote:

- every part is timed after `import lief` (a one-time cost per process, its own column);
- two-level: the plugin member (LIEF, whole) + _pywrap_tensorflow_internal.so (streamed
  skeleton) + the check; the wheels' sha256 is timed apart ("hash" row: both wheels);
- flat: everything (+ libtensorflow_cc and libtensorflow_framework, streamed) + the check;
- cached: the full check from the symbol cache (what a second `check-pair` does);
- whole (with --whole, one round): LIEF parsing libtensorflow_cc whole, the approach the
  skeleton replaces, for its time and memory.
Wheel names are found in DIR as pip saves them (tensorflow-X-cp311-...whl).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wheel(folder: Path, prefix: str) -> Path:
    found = sorted(folder.glob(f"{prefix}-*macosx*arm64.whl"))
    if not found:
        raise SystemExit(f"no {prefix}-*.whl in {folder}")
    return found[0]


def child(mode: str, tf_wheel: Path, metal_wheel: Path, cache_dir: str) -> dict[str, float]:
    from pip_tfmac.core.linkcheck import SCOPE_FULL, SCOPE_TWO_LEVEL, WheelRef, check
    from pip_tfmac.wheelhouse import macho
    from pip_tfmac.wheelhouse.symbols import SymbolCache

    fake = WheelRef("x", "0" * 64)  # sha256 timed in its own row
    before = time.perf_counter()
    import lief  # noqa: F401 - once per process (about 0.3-0.9 s here): reported apart

    imported = time.perf_counter() - before
    started = time.perf_counter()
    if mode == "hash":
        macho.wheel_ref(tf_wheel)
        macho.wheel_ref(metal_wheel)
    elif mode == "whole":
        import zipfile

        import lief

        member = "tensorflow/libtensorflow_cc.2.dylib"
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(tf_wheel) as zf:
            path = zf.extract(member, tmp)
            extracted = time.perf_counter() - started
            binary = lief.MachO.parse(path).at(0)
            macho.image_exports(binary, member, fake)
        return {"seconds": time.perf_counter() - started, "extract": extracted,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    else:
        cache = SymbolCache(Path(cache_dir) if mode in ("cached", "fill") else None)
        plugin = cache.plugin(metal_wheel, fake)
        found = macho.scan_wheel(tf_wheel, fake)
        members = found.images
        scope = SCOPE_FULL
        if mode == "two-level":
            members = tuple(m for m in members if macho.TWO_LEVEL_ONLY_MEMBER.match(m))
            scope = SCOPE_TWO_LEVEL
        verdict = check(plugin, cache.images(tf_wheel, fake, members), scope=scope)
        return {"seconds": time.perf_counter() - started, "import": imported,
                "links": float(verdict.links),
                "missing": float(len(verdict.fatal())),
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    return {"seconds": time.perf_counter() - started,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def spawn(mode: str, tf_wheel: Path, metal_wheel: Path, cache_dir: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(tf_wheel),
                          str(metal_wheel), cache_dir], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--wheels", type=Path)
    p.add_argument("--pairs", default="2.18.1:1.1.0,2.17.1:1.1.0,2.18.1:1.2.0")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--whole", action="store_true")
    p.add_argument("--child", nargs=4, metavar=("MODE", "TF", "METAL", "CACHE"))
    ns = p.parse_args()
    if ns.child:
        mode, tf, metal, cache = ns.child
        print(json.dumps(child(mode, Path(tf), Path(metal), cache)))
        return 0
    assert ns.wheels, "--wheels DIR"
    print(f"Link check, {ns.rounds} rounds; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{platform.system()} {platform.machine()}, {len(__import__('os').sched_getaffinity(0))} "
          f"cores; Python {platform.python_version()}\n")
    print("| pair (tf x metal) | part | median s | min-max s | + import lief s | peak RSS MB "
          "| verdict |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for pair in ns.pairs.split(","):
        tf, metal = pair.split(":")
        tf_wheel = _wheel(ns.wheels, f"tensorflow-{tf}")
        metal_wheel = _wheel(ns.wheels, f"tensorflow_metal-{metal}")
        with tempfile.TemporaryDirectory() as cache:
            spawn("fill", tf_wheel, metal_wheel, cache)
            modes = ["hash", "two-level", "flat", "cached"]
            rows: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
            for _ in range(ns.rounds):
                for mode in modes:
                    rows[mode].append(spawn(mode, tf_wheel, metal_wheel, cache))
            if ns.whole:
                rows["whole"] = [spawn("whole", tf_wheel, metal_wheel, cache)]
        for mode, runs in rows.items():
            secs = [r["seconds"] for r in runs]
            rss = max(r["rss_mb"] for r in runs)
            verdict = ""
            if "links" in runs[0]:
                verdict = "links" if runs[0]["links"] else f"broken ({int(runs[0]['missing'])})"
            imp = (f"{statistics.median(r['import'] for r in runs):.2f}"
                   if "import" in runs[0] else "")
            print(f"| {tf} x {metal} | {mode} | {statistics.median(secs):.2f} | "
                  f"{min(secs):.2f}-{max(secs):.2f} | {imp} | {rss:.0f} | {verdict} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
