"""8 concurrent real `pip-tfmac plan` runs (macOS arm64 target, real index) share one
wheelhouse: all succeed, and it holds exactly one complete alias wheel afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.network
@pytest.mark.slow
def test_eight_concurrent_plans_share_one_wheelhouse(tmp_path: Path) -> None:
    root = tmp_path / "wh"
    env = dict(os.environ, PIP_TFMAC_CACHE_DIR=str(root))
    argv = [
        sys.executable,
        "-m",
        "pip_tfmac",
        "plan",
        "--platform",
        "macos-arm64",
        "--python-version",
        "3.10",
        "tensorflow==2.12.0",
    ]
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    wheels = sorted(p.name for p in (root / "wheels").iterdir())
    assert wheels == ["tensorflow-2.12.0+tfmac.1-py3-none-any.whl"]
    entries = json.loads((root / "index.json").read_text())["entries"]
    assert sorted(entries) == wheels
    data = (root / "wheels" / wheels[0]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entries[wheels[0]]["sha256"]
