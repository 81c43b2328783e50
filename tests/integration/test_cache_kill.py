"""A reduced run of bench/kill_stress.py: SIGKILL at random points never leaves a corrupt
wheel visible, and the next run succeeds (the full >= 50-trial run is the bench script)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STRESS = Path(__file__).resolve().parents[2] / "bench" / "kill_stress.py"


def test_sigkill_at_random_points_leaves_no_corrupt_entry(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(STRESS),
            "--trials",
            "8",
            "--seed",
            "20261124",
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8/8 trials passed" in proc.stdout
