"""The GPU probe against a real TensorFlow: a CPU build installed from the package index into
a temporary venv (this machine has no GPU, so the answer must be "zero GPUs, op on the CPU").

The venv is built once and reused across sessions under $PIP_TFMAC_TEST_CACHE (default: a
folder in the system temp dir), keyed on Python and TensorFlow version; a marker file written
last tells a finished venv from an interrupted one. pip runs isolated from this machine's pip
configuration (no config file, no PIP_* variables except the certificate bundle), so the
install comes from the default index as it would for a user.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock

import helpers
from pip_tfmac.flows import doctor
from pip_tfmac.core import verify_report
from pip_tfmac.flows import verify

pytestmark = [pytest.mark.network, pytest.mark.slow]

TF_DIST = "tensorflow-cpu"
TF_VERSION = "2.15.1"  # has Linux wheels for CPython 3.9-3.11
PYTHON = "3.11"
DONE_MARKER = ".pip-tfmac-complete"


def _cache_root() -> Path:
    root = os.environ.get("PIP_TFMAC_TEST_CACHE") or os.path.join(
        tempfile.gettempdir(), "pip-tfmac-test-cache"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tf_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Python of a venv holding the real TensorFlow CPU build (built once, then reused)."""
    base = helpers.find_python(PYTHON)
    if base is None:
        pytest.skip(
            f"needs a Python {PYTHON} interpreter (TF {TF_VERSION} has no wheel for others)"
        )
    root = _cache_root()
    venv_dir = root / f"venv-py{PYTHON}-{TF_DIST}-{TF_VERSION}"
    py = helpers.venv_bin(venv_dir, "python")
    with FileLock(str(venv_dir) + ".lock", timeout=1800):
        if not (venv_dir / DONE_MARKER).exists():
            shutil.rmtree(venv_dir, ignore_errors=True)
            extra = {k: os.environ[k] for k in ("PIP_CERT",) if k in os.environ}
            env = helpers.isolated_env(tmp_path_factory.mktemp("pip-iso"), extra)
            made = helpers.run([base, "-m", "venv", "--without-pip", str(venv_dir)], env)
            assert made.returncode == 0, made.describe()
            # pip-tfmac's own (recent) pip installs into the venv through --python.
            installed = helpers.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "--python",
                    str(py),
                    "install",
                    "--no-cache-dir",
                    f"{TF_DIST}=={TF_VERSION}",
                ],
                env,
                timeout=1800,
            )
            assert installed.returncode == 0, installed.describe()
            (venv_dir / DONE_MARKER).write_text(f"{TF_DIST}=={TF_VERSION}\n")
    return py


def test_probe_reports_real_tensorflow_with_zero_gpus_and_the_op_on_the_cpu(
    tf_python: Path,
) -> None:
    report = verify.verify(str(tf_python), timeout=600)
    assert report.status == verify_report.NO_GPU, (report.diagnosis, report.stderr_tail)
    assert report.tensorflow_version == TF_VERSION
    assert dict(report.tensorflow_distributions) == {TF_DIST: TF_VERSION}
    assert report.gpus == ()
    # The device is what TensorFlow says it used for the op pinned to /GPU:0.
    assert report.gpu_run is not None and report.gpu_run.requested == "/GPU:0"
    assert report.gpu_run.device_kind == "CPU:0"
    assert report.gpu_run.checksum_ok is True
    assert report.cpu_run is not None and report.cpu_run.device_kind == "CPU:0"
    assert report.gpu_run.median_ms and report.cpu_run.median_ms
    assert report.loaded_plugins == () and report.facts is not None and report.facts.injected == ()
    print(
        f"\nreal TF {TF_VERSION}: probe {report.elapsed_seconds:.2f} s, import "
        f"{report.import_seconds} s, matmul 1024 pinned /GPU:0 -> {report.gpu_run.device_kind} "
        f"{report.gpu_run.median_ms} ms, /CPU:0 {report.cpu_run.median_ms} ms"
    )


def test_verify_command_exit_codes_on_real_tensorflow(tf_python: Path, tmp_path: Path) -> None:
    env = helpers.isolated_env(tmp_path)
    strict = helpers.run(
        [*helpers.tool_command(), "verify", "--python", str(tf_python), "--require-gpu"], env
    )
    assert strict.returncode == 70, strict.describe()
    assert "FAILED (70)" in strict.stdout
    relaxed = helpers.run(
        [*helpers.tool_command(), "verify", "--python", str(tf_python), "--json"], env
    )
    assert relaxed.returncode == 0, relaxed.describe()
    data = json.loads(relaxed.stdout)
    assert data["status"] == "no-gpu" and data["gpus"] == []
    assert data["tensorflow"]["version"] == TF_VERSION
    assert data["matmul"]["gpu"]["ran_on"].endswith("device:CPU:0")


def test_doctor_finds_nothing_wrong_with_a_plain_install(tf_python: Path) -> None:
    report = doctor.doctor(str(tf_python))
    assert report.problems == (), [f.to_json() for f in report.problems]
