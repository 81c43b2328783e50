"""A real install on this Linux machine of a local project that depends on TensorFlow, through
pip-tfmac (issue 18): the project's dependency is not named on the command line, the resolver
hook sees TensorFlow arrive, pip installs it in the same run (nothing on Linux needs a rewrite),
and the install ends with exactly one TensorFlow and the verify block."""

from __future__ import annotations

import shutil
import sys
import textwrap
import venv
from pathlib import Path

import pytest

import helpers

pytestmark = [pytest.mark.network, pytest.mark.slow]

TF = "tensorflow-cpu==2.15.1"  # the CPU build test_verify_real_tf.py uses too (pip's cache shares it)


def test_local_project_depending_on_tensorflow_installs_one_tf_and_verifies(tmp_path: Path) -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("TensorFlow 2.15.1 has Linux wheels for CPython 3.9-3.11; run on 3.11")
    project = tmp_path / "uses-tf"
    project.mkdir()
    (project / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "uses-tf"
        version = "0.1"
        dependencies = ["{TF}"]
        [tool.setuptools]
        py-modules = []
        """))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = helpers.venv_bin(env_dir, "python")
    env = helpers.isolated_env(tmp_path / "iso", {"PIP_TFMAC_CACHE_DIR": tmp_path / "wh"})
    result = helpers.run([*helpers.tool_command(), "--python", python, "install", str(project)],
                         env, timeout=1800)
    assert result.returncode == 0, result.describe()
    assert "Successfully installed" in result.stdout and "uses-tf" in result.stdout
    # The verify block, read from the installed TensorFlow.
    assert "TensorFlow" in result.stdout and "2.15.1" in result.stdout, result.describe()
    assert "pip-tfmac verify" in result.stdout and "GPUs" in result.stdout, result.describe()
    freeze = helpers.run([python, "-m", "pip", "freeze"], env).stdout.lower()
    tfs = [line for line in freeze.splitlines()
           if line.split("==")[0] in ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel")]
    assert len(tfs) == 1, freeze
    shutil.rmtree(env_dir, ignore_errors=True)
