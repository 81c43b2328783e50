"""pip itself accepts the wheels pip-tfmac builds (offline, from a local folder)."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from helpers import isolated_env, venv_bin
from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance, build_alias_wheel, build_wheel

PROV = Provenance(
    "tensorflow-alias", "knowledge/tensorflow.toml", (Origin("tensorflow-macos", "2.12.0"),)
)


def _pip(tmp: Path, python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The dev environment's pip acting on `python` (the venv has no pip of its own: faster)."""
    cmd = [sys.executable, "-m", "pip", "--python", str(python), *args]
    proc = subprocess.run(
        cmd, env=isolated_env(tmp / "home"), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _write(folder: Path, built: tuple[str, bytes]) -> None:
    (folder / built[0]).write_bytes(built[1])


def test_alias_wheel_satisfies_a_package_that_requires_plain_tensorflow(tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    # Stand-ins for the real distributions (TensorFlow itself cannot be installed offline):
    # a tiny "tensorflow-macos" and a package that declares `tensorflow<2.13,>=2.10`.
    _write(
        links,
        build_wheel(
            "tensorflow-macos",
            "2.12.0",
            {"tensorflow/__init__.py": b"__version__ = '2.12.0'\n"},
            requires_dist=[],
            summary="stand-in",
            provenance=PROV,
        ),
    )
    _write(
        links,
        build_wheel(
            "needs-tf",
            "1.0",
            {"needs_tf.py": b""},
            requires_dist=["tensorflow<2.13,>=2.10"],
            summary="",
            provenance=PROV,
        ),
    )
    _write(
        links,
        build_alias_wheel(
            "tensorflow", "2.12.0+tfmac.1", "tensorflow-macos", "2.12.0", provenance=PROV
        ),
    )
    venv.EnvBuilder(with_pip=False).create(tmp_path / "venv")
    python = venv_bin(tmp_path / "venv", "python")

    def pip(*args: str) -> subprocess.CompletedProcess[str]:
        return _pip(tmp_path, python, *args)

    pip("install", "--no-index", "--find-links", str(links), "needs-tf")
    listed = pip("list", "--format=freeze").stdout.split()
    assert "tensorflow==2.12.0+tfmac.1" in listed
    assert "tensorflow-macos==2.12.0" in listed
    assert "needs-tf==1.0" in listed
    assert pip("check").returncode == 0
    # The alias is a normal distribution: pip can uninstall it cleanly.
    pip("uninstall", "-y", "tensorflow")
    assert "tensorflow==2.12.0+tfmac.1" not in pip("list", "--format=freeze").stdout
