"""SIGKILL a wheelhouse writer at random moments; no corrupt wheel may ever be visible.

Each trial starts a child that works on one shared wheelhouse the way pip-tfmac runs do:
builds wheels of a few MB (so writes take a while), adds a "fetched" wheel, removes one and
rebuilds it, re-verifies. The parent kills it with SIGKILL after a random delay spread over
the child's whole run, then checks, with the same rules pip-tfmac applies before handing the
folder to pip:

- every `*.whl` in the find-links folder hashes to its index entry (nothing corrupt visible);
- the index parses;
- allowed leftovers: temp files (never `.whl` names) and index entries whose file is missing.

After the kill, a child run to completion must succeed and leave a clean `verify()`.

Usage: python bench/kill_stress.py [--trials 50] [--seed N] [--root DIR]
Exit 0 when every trial passed. tests/integration/test_cache_kill.py runs a few trials.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _payload(seed: int, size: int) -> bytes:
    """Deterministic incompressible bytes (so every build of a wheel is the same)."""
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


def _slow_disk() -> None:
    """Make every write land in 64 kB pieces with a pause between them, as on a slow or busy
    disk, so a kill often lands in the middle of a file (otherwise a 3 MB write is one syscall
    and the window a kill can hit is tiny)."""
    real_write = os.write

    def slow_write(fd: int, data: bytes | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)[: 64 * 1024]
        time.sleep(0.0005)
        return real_write(fd, view)

    os.write = slow_write  # type: ignore[assignment]


def child(root: str) -> int:
    _slow_disk()
    from pip_tfmac.wheelhouse.store import Wheelhouse
    from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance, build_wheel

    house = Wheelhouse.from_options(root, False)
    prov = Provenance("stress", "bench/kill_stress.py", (Origin("x", "1", "0" * 64),))

    def built(i: int) -> tuple[str, bytes]:
        return build_wheel(
            f"stress{i}",
            "1.0+tfmac.1",
            {f"stress{i}/blob.bin": _payload(i, 3 << 20)},
            requires_dist=[],
            summary="",
            provenance=prov,
        )

    for i in range(3):
        name, data = built(i)
        house.ensure_built(name, lambda data=data: data, prov)
    # A "fetched" wheel: pip would have downloaded it into incoming/.
    name, data = built(10)
    with house.incoming_dir() as incoming:
        download = incoming / name
        download.write_bytes(data)
        house.add_fetched(
            download, hashlib.sha256(data).hexdigest(), "https://index.invalid/" + name
        )
    house.remove("stress1")
    name, data = built(1)
    house.ensure_built(name, lambda: data, prov)
    problems = [p for p in house.verify() if p.kind != "leftover"]
    if problems:
        print("child found problems:", problems, file=sys.stderr)
        return 1
    return 0


def visible_problems(root: Path) -> list[str]:
    """What a pip run could be handed or trip over right now."""
    out: list[str] = []
    index_path = root / "index.json"
    entries: dict[str, dict[str, object]] = {}
    if index_path.exists():
        try:
            entries = json.loads(index_path.read_text())["entries"]
        except (ValueError, KeyError) as exc:
            return [f"index.json unreadable: {exc}"]
    wheels = root / "wheels"
    for path in sorted(wheels.glob("*.whl")) if wheels.exists() else []:
        entry = entries.get(path.name)
        if entry is None:
            out.append(f"{path.name}: visible without an index entry")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            out.append(f"{path.name}: visible with the wrong sha256")
    return out


def run_child(root: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--root", help="wheelhouse to torture (default: a temporary folder)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.child:
        return child(opts.child)

    seed = opts.seed if opts.seed is not None else int(time.time())
    rng = random.Random(seed)
    env = dict(
        os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    base = Path(opts.root) if opts.root else Path(tempfile.mkdtemp(prefix="pip-tfmac-kill-"))
    root = base / "wh"
    # How long an uninterrupted run takes, to spread the kills over all of it.
    started = time.perf_counter()
    first = run_child(root, env)
    _, err = first.communicate()
    if first.returncode != 0:
        print(err.decode(), file=sys.stderr)
        return 1
    duration = time.perf_counter() - started
    print(f"seed {seed}; an uninterrupted run takes {duration:.2f} s; {opts.trials} trials")
    failures = 0
    killed_mid_run = 0
    for trial in range(opts.trials):
        if rng.random() < 0.3:
            shutil.rmtree(root, ignore_errors=True)  # also kill runs into an empty wheelhouse
        delay = rng.uniform(0.0, duration * 1.1)
        proc = run_child(root, env)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait()
        found = visible_problems(root)
        after = run_child(root, env)
        _, err = after.communicate()
        if after.returncode != 0:
            found.append("the next run failed: " + err.decode()[-800:])
        found += visible_problems(root)
        if found:
            failures += 1
            print(f"trial {trial} (kill after {delay:.3f} s): FAIL")
            for line in found:
                print(f"  {line}")
    print(
        f"{opts.trials - failures}/{opts.trials} trials passed "
        f"({killed_mid_run} runs killed mid-way)"
    )
    if not opts.root:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
