"""`pip-tfmac install` of a request that does not name TensorFlow, offline, with real pip in a
temporary venv: the resolver hook sees TensorFlow arrive two levels down, pip stops before it
changes anything, and the install is planned as if TensorFlow had been named.

Test doubles, and what they stand in for: the "tensorflow" and "tensorflow-metal" wheels are tiny
py3-none-any stand-ins (the real ones are 200+ MB and macOS-only), and PIP_TFMAC_PROBE_FACTS
tells the target probe it runs on macOS 14 arm64 (there is no Mac here). pip, the hook, the
planner and the wheelhouse are the real ones.
"""

from __future__ import annotations

import json
import venv
from pathlib import Path

from helpers import isolated_env, run, tool_command, venv_bin
from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance, build_wheel

PROV = Provenance("test stand-in", "tests/integration", (Origin("stand-in", "0"),))


def _wheel(folder: Path, name: str, version: str, requires: list[str], files: dict[str, bytes]) -> None:
    filename, data = build_wheel(name, version, files, requires_dist=requires, summary="stand-in",
                                 provenance=PROV)
    (folder / filename).write_bytes(data)


def _world(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    links = tmp_path / "links"
    links.mkdir()
    _wheel(links, "tensorflow", "2.18.1", [], {"tensorflow/__init__.py": b"__version__ = '2.18.1'\n"})
    _wheel(links, "tensorflow-metal", "1.2.0", [], {"tensorflow_metal_stub.py": b""})
    _wheel(links, "needs-tf", "1.0", ["tensorflow>=2.15"], {"needs_tf.py": b""})
    _wheel(links, "deeper", "1.0", ["needs-tf"], {"deeper.py": b""})
    _wheel(links, "plain", "1.0", [], {"plain.py": b""})
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    facts = tmp_path / "mac.json"
    facts.write_text(json.dumps({"sys_platform": "darwin", "machine": "arm64", "macos_version": "14.5"}))
    env = isolated_env(tmp_path / "home", {"PIP_TFMAC_PROBE_FACTS": facts,
                                           "PIP_TFMAC_CACHE_DIR": tmp_path / "wheelhouse"})
    return links, venv_bin(tmp_path / "venv", "python"), env


def _freeze(python: Path, env: dict[str, str]) -> set[str]:
    return set(run([python, "-m", "pip", "freeze"], env).stdout.split())


def test_tensorflow_two_levels_down_is_planned_with_its_plugin(tmp_path: Path) -> None:
    links, python, env = _world(tmp_path)
    result = run([*tool_command(), "--python", python, "install", "--no-index", "--find-links", links,
                  "deeper", "--no-verify"], env, timeout=600)
    assert result.returncode == 0, result.describe()
    assert "TensorFlow comes in through tensorflow (from needs-tf)" in result.stderr, result.describe()
    assert "add      + tensorflow-metal==1.2.0" in result.stdout, result.describe()  # the plan block
    installed = _freeze(python, env)
    assert {"deeper==1.0", "needs-tf==1.0", "tensorflow==2.18.1", "tensorflow-metal==1.2.0"} <= installed


def test_a_request_without_tensorflow_is_plain_pip_through_the_hook(tmp_path: Path) -> None:
    links, python, env = _world(tmp_path)
    before = _freeze(python, env)
    argv = ["install", "--no-index", "--find-links", str(links), "plain"]
    result = run([*tool_command(), "--python", python, *argv], env, timeout=600)
    assert result.returncode == 0, result.describe()
    assert "pip-tfmac" not in result.stdout + result.stderr
    assert _freeze(python, env) == before | {"plain==1.0"}


def test_the_escape_hatch_skips_the_hook(tmp_path: Path) -> None:
    links, python, env = _world(tmp_path)
    env["PIP_TFMAC_ANY_ROAD"] = "0"
    result = run([*tool_command(), "--python", python, "install", "--no-index", "--find-links", links,
                  "deeper"], env, timeout=600)
    assert result.returncode == 0, result.describe()
    assert "tensorflow-metal" not in _freeze(python, env)  # plain pip: no plan, no plugin


def test_a_stopped_run_changed_nothing_when_the_plan_then_fails(tmp_path: Path) -> None:
    """The plan pairs tensorflow-metal 1.2.0; without that wheel the planned resolve fails, and
    the environment is exactly as before (the hook stopped pip before it installed anything)."""
    links, python, env = _world(tmp_path)
    (next(links.glob("tensorflow_metal-*.whl"))).unlink()
    before = _freeze(python, env)
    result = run([*tool_command(), "--python", python, "install", "--no-index", "--find-links", links,
                  "deeper", "--no-verify"], env, timeout=600)
    assert result.returncode == 72, result.describe()
    assert "Traceback" not in result.stderr
    assert _freeze(python, env) == before
