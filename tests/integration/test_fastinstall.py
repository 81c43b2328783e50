"""The fast reinstall path (src/pip_tfmac/fastinstall.py) leaves what pip would leave."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from helpers import isolated_env, venv_bin
from pip_tfmac.wheelhouse.fastinstall import FastInstallUnavailable, install_wheels
from pip_tfmac.wheelhouse.wheelfile import Provenance, build_wheel

PROV = Provenance("test", "tests/integration/test_fastinstall.py")


def _wheels(folder: Path) -> list[Path]:
    folder.mkdir()
    built = [
        build_wheel(
            "alpha",
            "1.0",
            {
                "alpha/__init__.py": b"def main():\n    print('alpha ran')\n",
                "ns/alpha_part.py": b"A = 1\n",
            },
            requires_dist=[],
            summary="",
            provenance=PROV,
            dist_info_files={"entry_points.txt": b"[console_scripts]\nalpha = alpha:main\n"},
        ),
        build_wheel(
            "beta",
            "2.0",
            {"beta.py": b"import alpha\n", "ns/beta_part.py": b"B = 2\n"},
            requires_dist=["alpha>=1"],
            summary="",
            provenance=PROV,
        ),
    ]
    paths = []
    for name, data in built:
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def _venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(path)
    return venv_bin(path, "python")


def _pip(tmp: Path, python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--python", str(python), *args]
    return subprocess.run(
        cmd, env=isolated_env(tmp / "home"), capture_output=True, text=True, check=False
    )


def _site(python: Path) -> Path:
    return Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_installed_set_works_with_pip_list_check_freeze_and_uninstall(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "wheels")
    python = _venv(tmp_path / "venv")
    site = _site(python)
    pristine = _tree(site)
    result = install_wheels(wheels, str(python), requested=["beta"])
    assert result.summary() == "Successfully installed alpha-1.0 beta-2.0"
    freeze = _pip(tmp_path, python, "freeze").stdout.split()
    assert freeze == ["alpha==1.0", "beta==2.0"]  # no `@ file://` (no direct_url.json)
    assert _pip(tmp_path, python, "check").returncode == 0
    assert (site / "alpha-1.0.dist-info" / "INSTALLER").read_text() == "pip\n"
    assert (site / "beta-2.0.dist-info" / "REQUESTED").exists()
    assert not (site / "alpha-1.0.dist-info" / "REQUESTED").exists()
    record = (site / "alpha-1.0.dist-info" / "RECORD").read_text()
    assert "alpha/__init__.py,sha256=" in record and "../../../bin/alpha,sha256=" in record
    # Both wheels share the `ns` folder; the console script runs with the venv's python.
    assert {"alpha_part.py", "beta_part.py"} <= {p.name for p in (site / "ns").iterdir()}
    script = venv_bin(tmp_path / "venv", "alpha")
    assert (
        subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout
        == "alpha ran\n"
    )
    assert list((site / "alpha").glob("__pycache__/__init__.*.pyc"))  # compiled like pip
    listed = _pip(tmp_path, python, "list", "--format=json")
    assert '"name": "alpha"' in listed.stdout
    removed = _pip(tmp_path, python, "uninstall", "-y", "alpha", "beta")
    assert removed.returncode == 0, removed.stderr
    assert _tree(site) == pristine
    assert not script.exists()


def test_direct_url_is_written_only_when_asked(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "wheels")
    python = _venv(tmp_path / "venv")
    install_wheels(wheels, str(python), direct_url=True, compile_bytecode=False)
    freeze = _pip(tmp_path, python, "freeze").stdout
    assert "alpha @ file://" in freeze


def test_already_installed_distribution_means_use_pip(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "wheels")
    python = _venv(tmp_path / "venv")
    install_wheels(wheels[:1], str(python), compile_bytecode=False)
    with pytest.raises(FastInstallUnavailable, match="already installed.*alpha"):
        install_wheels(wheels, str(python))


def test_a_failure_halfway_leaves_the_environment_unchanged(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "wheels")
    broken = tmp_path / "wheels" / "gamma-1.0-py3-none-any.whl"
    broken.write_bytes(wheels[0].read_bytes()[:300])  # truncated download
    python = _venv(tmp_path / "venv")
    site = _site(python)
    pristine = _tree(site)
    bin_before = _tree(tmp_path / "venv" / "bin")
    with pytest.raises(Exception):  # noqa: B017 (whatever the zip reader raises)
        install_wheels([*wheels, broken], str(python))
    assert _tree(site) == pristine
    assert _tree(tmp_path / "venv" / "bin") == bin_before


def test_cached_trees_install_with_valid_bytecode_and_uninstall_cleanly(tmp_path: Path) -> None:
    """Unpacked and compiled once into the wheelhouse, then copied into each new venv."""
    from pip_tfmac.wheelhouse.store import Wheelhouse

    house = Wheelhouse(tmp_path / "wh")
    wheels = _wheels(tmp_path / "wheels")
    first = _venv(tmp_path / "venv1")
    install_wheels(wheels, str(first), wheelhouse=house, requested=["beta"])
    trees = sorted(p.name for p in house.unpacked_dir.iterdir())
    assert len(trees) == 2 and all(t.endswith("-" + sys.implementation.cache_tag) for t in trees)

    manifests = sorted(house.unpacked_dir.glob("*/tfmac-manifest.json"))
    stamps = [m.stat().st_mtime_ns for m in manifests]
    second = _venv(tmp_path / "venv2")
    site = _site(second)
    pristine = _tree(site)
    result = install_wheels(wheels, str(second), wheelhouse=house, requested=["beta"])
    assert result.summary() == "Successfully installed alpha-1.0 beta-2.0"
    assert sorted(p.name for p in house.unpacked_dir.iterdir()) == trees
    assert [m.stat().st_mtime_ns for m in manifests] == stamps  # reused, not rebuilt
    # The copied .pyc is valid for the copied source: Python uses it instead of recompiling.
    verbose = subprocess.run(
        [str(second), "-v", "-c", "import alpha"], capture_output=True, text=True, check=True
    ).stderr
    assert any(
        "alpha/__pycache__/__init__." in line and " matches " in line
        for line in verbose.splitlines()
    ), verbose[-2000:]
    assert _pip(tmp_path, second, "freeze").stdout.split() == ["alpha==1.0", "beta==2.0"]
    assert _pip(tmp_path, second, "check").returncode == 0
    record = (site / "alpha-1.0.dist-info" / "RECORD").read_text()
    assert "../../../bin/alpha,sha256=" in record and "__pycache__/__init__." in record
    assert (site / "beta-2.0.dist-info" / "REQUESTED").exists()
    script = venv_bin(tmp_path / "venv2", "alpha")
    assert script.read_text().startswith(f"#!{second}")
    assert (
        subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout
        == "alpha ran\n"
    )
    assert _pip(tmp_path, second, "uninstall", "-y", "alpha", "beta").returncode == 0
    assert _tree(site) == pristine


def test_hardlink_mode_shares_files_with_the_store(tmp_path: Path) -> None:
    from pip_tfmac.wheelhouse.store import Wheelhouse

    house = Wheelhouse(tmp_path / "wh")
    wheels = _wheels(tmp_path / "wheels")
    copy_env, link_env = _venv(tmp_path / "copy"), _venv(tmp_path / "link")
    install_wheels(wheels, str(copy_env), wheelhouse=house)
    install_wheels(wheels, str(link_env), wheelhouse=house, link_mode="hardlink")
    assert (_site(copy_env) / "alpha" / "__init__.py").stat().st_nlink == 1
    assert (_site(link_env) / "alpha" / "__init__.py").stat().st_nlink == 2


def test_install_from_wheelhouse_refuses_a_corrupt_file(tmp_path: Path) -> None:
    from pip_tfmac.wheelhouse.store import Wheelhouse
    from pip_tfmac.wheelhouse.fastinstall import install_from_wheelhouse

    house = Wheelhouse(tmp_path / "wh", warn=lambda _m: None)
    names = []
    for wheel in _wheels(tmp_path / "wheels"):
        data = wheel.read_bytes()
        house.ensure_built(wheel.name, lambda data=data: data, PROV)
        names.append(wheel.name)
    python = _venv(tmp_path / "venv")
    path = house.path_of(names[0])
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(FastInstallUnavailable, match="not in the wheelhouse"):
        install_from_wheelhouse(house, names, str(python))
    assert _pip(tmp_path, python, "freeze").stdout == ""


def test_a_damaged_unpacked_tree_is_rebuilt_not_installed(tmp_path: Path) -> None:
    from pip_tfmac.wheelhouse.store import Wheelhouse

    seen: list[str] = []
    house = Wheelhouse(tmp_path / "wh", warn=seen.append)
    wheels = _wheels(tmp_path / "wheels")
    install_wheels(wheels, str(_venv(tmp_path / "venv1")), wheelhouse=house)
    [stored] = list(house.unpacked_dir.glob("*/purelib/alpha/__init__.py"))
    stored.write_bytes(b"def main():\n    print('tampered')\n")
    second = _venv(tmp_path / "venv2")
    install_wheels(wheels, str(second), wheelhouse=house)
    assert seen and "does not match its hash" in seen[0]
    installed = _site(second) / "alpha" / "__init__.py"
    assert b"tampered" not in installed.read_bytes()
    assert b"tampered" not in stored.read_bytes() if stored.exists() else True
    assert _pip(tmp_path, second, "check").returncode == 0


def test_a_wheel_that_ships_bytecode_installs_from_the_store(tmp_path: Path) -> None:
    """numpy ships a .pyc that compiling rewrites: the tree records what is on disk."""
    from pip_tfmac.wheelhouse.store import Wheelhouse

    tag = sys.implementation.cache_tag
    name, data = build_wheel(
        "shipsbytecode",
        "1.0",
        {"sb/mod.py": b"X = 1\n", f"sb/__pycache__/mod.{tag}.pyc": b"stale bytecode"},
        requires_dist=[],
        summary="",
        provenance=PROV,
    )
    wheel = tmp_path / name
    wheel.write_bytes(data)
    house = Wheelhouse(tmp_path / "wh", warn=lambda m: pytest.fail(m))
    for venv_name in ("venv1", "venv2"):
        python = _venv(tmp_path / venv_name)
        install_wheels([wheel], str(python), wheelhouse=house)
        out = subprocess.run(
            [str(python), "-c", "import sb.mod; print(sb.mod.X)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out == "1\n"


def test_trees_ready_after_warming(tmp_path: Path) -> None:
    from pip_tfmac.wheelhouse.store import Wheelhouse
    from pip_tfmac.runners.probe_scheme import probe_target
    from pip_tfmac.wheelhouse.fastinstall import trees_ready, warm_trees

    house = Wheelhouse(tmp_path / "wh")
    names = []
    for wheel in _wheels(tmp_path / "wheels"):
        data = wheel.read_bytes()
        house.ensure_built(wheel.name, lambda data=data: data, PROV)
        names.append(wheel.name)
    python = _venv(tmp_path / "venv")
    target = probe_target(str(python))
    assert not trees_ready(house, names, target)
    assert warm_trees(house, names, str(python)) == 2
    assert trees_ready(house, names, target)
