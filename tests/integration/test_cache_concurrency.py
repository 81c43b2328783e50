"""8 processes sharing one wheelhouse: all succeed, no partial or duplicate entries."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pip_tfmac.wheelhouse.store import Wheelhouse

PROCESSES = 8

# Each worker builds the same five alias wheels (in its own order, slowly, so the runs overlap),
# then asks for the folder it would hand to pip and checks every wheel there itself.
WORKER = textwrap.dedent(
    """
    import hashlib, os, random, sys, time
    from pathlib import Path
    from pip_tfmac.wheelhouse.store import Wheelhouse
    from pip_tfmac.wheelhouse.wheelfile import Provenance, build_alias_wheel

    root, log, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    random.seed(seed)
    house = Wheelhouse.from_options(root, False)
    names = ["tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tensorflow-intel"]
    random.shuffle(names)
    for name in names:
        prov = Provenance(f"alias {name}", "test")
        filename, data = build_alias_wheel(name, "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0",
                                           provenance=prov)

        def build(data=data, filename=filename):
            with open(log, "a") as handle:  # O_APPEND: one line per real build
                handle.write(filename + "\\n")
            time.sleep(0.05)
            return data

        path = house.ensure_built(filename, build, prov)
        assert path.read_bytes() == data, filename
    links = house.prepare()
    for wheel in links.glob("*.whl"):
        entry = house.entries()[wheel.name]
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry.sha256
    print("ok")
    """
)


def test_eight_concurrent_runs_share_one_wheelhouse(tmp_path: Path) -> None:
    root = tmp_path / "wh"
    log = tmp_path / "builds.log"
    log.touch()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), str(log), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in range(PROCESSES)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
        assert "Traceback" not in err and "warning" not in err

    wheels = sorted(p.name for p in (root / "wheels").iterdir())
    assert len(wheels) == 5 and all(w.endswith(".whl") for w in wheels)  # no temp leftovers
    index = json.loads((root / "index.json").read_text())["entries"]
    assert sorted(index) == wheels  # exactly one entry per wheel
    for name in wheels:
        data = (root / "wheels" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == index[name]["sha256"]
    builds = log.read_text().split()
    assert sorted(builds) == wheels  # each wheel built once, by whichever run got there first
    assert Wheelhouse(root).verify(repair=False) == []
