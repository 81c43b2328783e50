"""The wheelhouse defends itself (issue 13, point 2): every damage reported, repaired, contained.

Each case damages a real wheelhouse the way a user, a tool or a killed run can, then runs the
real commands (`pip-tfmac wheelhouse verify`, `verify --repair`, `purge`, `info`, `list`, the
fast install) and asserts: the exit code, the key words of the message, no traceback, and that
nothing outside the cache changed (a snapshot of a folder next to it, and of the link targets).
Tiny wheels built in memory; no network, no pip runs.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import isolated_env, venv_bin
from pip_tfmac.cli import main
from pip_tfmac.errors import CacheError, ExitCode
from pip_tfmac.wheelhouse import unpacked
from pip_tfmac.wheelhouse.fastinstall import install_wheels, warm_trees
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.wheelhouse.wheelfile import Provenance, build_wheel

PROV = Provenance("test", "tests/integration/test_wheelhouse_defense.py")
GAMMA, GAMMA_DATA = build_wheel(
    "gamma",
    "1.0",
    {
        "gamma/__init__.py": b"def main():\n    print('gamma ran')\n",
        "gamma-1.0.data/scripts/gamma-tool": b"#!python\nprint('the real tool')\n",
        "gamma-1.0.data/data/share/gamma/notes.txt": b"real notes\n",
    },
    requires_dist=[],
    summary="",
    provenance=PROV,
    dist_info_files={"entry_points.txt": b"[console_scripts]\ngamma = gamma:main\n"},
)
DELTA, DELTA_DATA = build_wheel(
    "delta", "2.0", {"delta.py": b"D = 2\n"}, requires_dist=[], summary="", provenance=PROV
)


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A wheelhouse with two wheels and their unpacked trees, and a folder outside it."""
    root = tmp_path / "wh"
    monkeypatch.setenv("PIP_TFMAC_CACHE_DIR", str(root))
    house = Wheelhouse(root)
    house.ensure_built(GAMMA, lambda: GAMMA_DATA, PROV)
    house.ensure_built(DELTA, lambda: DELTA_DATA, PROV)
    assert warm_trees(house, [GAMMA, DELTA], sys.executable) == 2
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("do not touch\n")
    (outside / DELTA).write_bytes(b"not the cache's wheel")  # a wheel-named file elsewhere
    (outside / "sub").mkdir()
    (outside / "sub" / "deep.txt").write_text("deep\n")
    return tmp_path


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under a folder: its kind and content hash (links not followed)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture
def outside(home: Path) -> Iterator[Path]:
    """The folder outside the cache; asserted unchanged after the test."""
    before = _snapshot(home / "outside")
    yield home / "outside"
    assert _snapshot(home / "outside") == before, "something outside the cache changed"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["wheelhouse", *args])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    assert code != ExitCode.INTERNAL, text
    return code, text


def _cli(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = isolated_env(
        home / "env", {"PYTHONPATH": os.pathsep.join(sys.path), "PIP_TFMAC_CACHE_DIR": home / "wh"}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pip_tfmac", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


def _sound(capsys: pytest.CaptureFixture[str]) -> None:
    """After a repair: a plain verify finds nothing, and the cache works for a normal run."""
    code, text = _run(capsys, "verify", "--no-repair")
    assert code == 0, text
    Wheelhouse(Path(os.environ["PIP_TFMAC_CACHE_DIR"]))


def _tree(root: Path, sha: str) -> Path:
    [tree] = list((root / "unpacked").glob(f"{sha[:40]}-*"))
    return tree


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(path)
    return venv_bin(path, "python")


# ---------------------------------------------------------------------------- unpacked trees


@pytest.mark.parametrize(
    "member",
    ["scripts/gamma-tool", "data/share/gamma/notes.txt", "purelib/gamma/__init__.py"],
)
def test_a_tampered_tree_file_is_reported_by_verify_and_repaired(
    home: Path, outside: Path, member: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(home / "wh", _sha(GAMMA_DATA))
    (tree / member).write_bytes(b"print('EVIL-CODE')\n")
    code, text = _run(capsys, "verify")
    assert code == ExitCode.CACHE
    assert member in text and "does not match its hash" in text
    code, text = _run(capsys, "verify", "--repair")
    assert code == 0 and "repaired" in text
    assert not tree.exists()
    _sound(capsys)


def test_a_tampered_script_in_a_tree_is_never_installed(home: Path, outside: Path) -> None:
    seen: list[str] = []
    house = Wheelhouse(home / "wh", warn=seen.append)
    tree = _tree(home / "wh", _sha(GAMMA_DATA))
    (tree / "scripts" / "gamma-tool").write_bytes(b"#!python\nprint('EVIL-CODE')\n")
    python = _venv(home / "venv")
    install_wheels([house.path_of(GAMMA)], str(python), wheelhouse=house)
    assert seen and "scripts/gamma-tool" in seen[0] and "rebuilding" in seen[0]
    tool = (venv_bin(home / "venv", "gamma-tool")).read_text()
    assert "the real tool" in tool and "EVIL-CODE" not in tool


def test_a_tree_file_replaced_by_a_link_to_dev_zero_neither_hangs_nor_installs(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(home / "wh", _sha(GAMMA_DATA))
    target = tree / "data" / "share" / "gamma" / "notes.txt"
    target.unlink()
    target.symlink_to("/dev/zero")
    started = time.monotonic()
    proc = _cli(home, "wheelhouse", "verify", "--no-repair", timeout=60)
    assert proc.returncode == ExitCode.CACHE and "symbolic link" in proc.stdout
    house = Wheelhouse(home / "wh", warn=lambda _m: None)
    install_wheels([house.path_of(GAMMA)], str(_venv(home / "venv")), wheelhouse=house)
    assert time.monotonic() - started < 60
    notes = home / "venv" / "share" / "gamma" / "notes.txt"
    assert notes.read_text() == "real notes\n"


@pytest.mark.parametrize("content", ["[]", '"text"', "{not json", '{"format": 2, "files": 3}'])
def test_a_tree_manifest_that_is_not_an_object_is_reported_and_rebuilt(
    home: Path, outside: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(home / "wh", _sha(DELTA_DATA))
    (tree / unpacked.MANIFEST).write_text(content)
    code, text = _run(capsys, "verify")
    assert code == ExitCode.CACHE and "manifest is damaged" in text
    # An offline-style reinstall does not crash: the tree is rebuilt from its wheel.
    house = Wheelhouse(home / "wh")
    result = install_wheels([house.path_of(DELTA)], str(_venv(home / "venv")), wheelhouse=house)
    assert [w.name for w in result.installed] == ["delta"]
    _sound(capsys)


def test_orphan_and_stray_entries_of_unpacked_are_reported_and_removed(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unpacked_dir = home / "wh" / "unpacked"
    (unpacked_dir / ("0" * 40 + "-cpython-311")).mkdir()
    (unpacked_dir / "junk.txt").write_text("x")
    (unpacked_dir / "a-link").symlink_to(outside)
    code, text = _run(capsys, "verify")
    assert code == ExitCode.CACHE
    assert "no longer in the wheelhouse" in text and "not an unpacked tree" in text
    code, text = _run(capsys, "verify", "--repair")
    assert code == 0
    assert sorted(p.name for p in unpacked_dir.iterdir()) == sorted(
        t.name for t in (_tree(home / "wh", _sha(GAMMA_DATA)), _tree(home / "wh", _sha(DELTA_DATA)))
    )
    _sound(capsys)


# ---------------------------------------------------------------------------- links out


@pytest.mark.parametrize("folder", ["wheels", "unpacked", "incoming", "locks"])
def test_a_cache_folder_replaced_by_a_link_is_never_followed(
    home: Path, outside: Path, folder: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = home / "wh"
    import shutil

    shutil.rmtree(root / folder)
    (root / folder).symlink_to(outside, target_is_directory=True)
    with pytest.raises(CacheError) as info:  # a normal run refuses it, naming the remedy
        Wheelhouse(root)
    assert info.value.exit_code == ExitCode.CACHE
    assert "symbolic link" in info.value.message and "verify --repair" in info.value.remedy
    for action in ("verify", "list", "info"):
        code, text = _run(capsys, action)
        assert code == (ExitCode.CACHE if action == "verify" else 0), text
        assert f"{folder}/" in text and "symbolic link" in text
    code, text = _run(capsys, "verify", "--repair")
    assert code == 0 and "repaired" in text
    assert (root / folder).is_dir() and not (root / folder).is_symlink()
    if folder != "wheels":
        _sound(capsys)


def test_wheels_replaced_by_a_link_is_repaired_by_purge(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    root = home / "wh"
    shutil.rmtree(root / "wheels")
    (root / "wheels").symlink_to(outside, target_is_directory=True)
    code, text = _run(capsys, "purge")
    assert code == 0 and "Files removed" in text
    assert (root / "wheels").is_dir() and not (root / "wheels").is_symlink()
    assert list((root / "unpacked").iterdir()) == []
    _sound(capsys)


def test_a_lock_file_replaced_by_a_link_never_touches_its_target(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = home / "wh" / "locks" / "index.lock"
    lock.unlink()
    lock.symlink_to(outside / "precious.txt")
    house = Wheelhouse(home / "wh")
    house.remove(DELTA)
    code, _text = _run(capsys, "verify", "--repair")
    assert code == 0 and not lock.is_symlink()


def test_a_link_to_dev_zero_named_like_a_wheel_does_not_hang(home: Path, outside: Path) -> None:
    link = home / "wh" / "wheels" / "zero-1.0-py3-none-any.whl"
    link.symlink_to("/dev/zero")
    index = json.loads((home / "wh" / "index.json").read_text())
    entry = dict(index["entries"][DELTA], filename=link.name, size=0)
    index["entries"][link.name] = entry
    (home / "wh" / "index.json").write_text(json.dumps(index))
    proc = _cli(home, "wheelhouse", "verify", timeout=60)
    assert proc.returncode == ExitCode.CACHE
    assert "zero-1.0-py3-none-any.whl" in proc.stdout and "symbolic link" in proc.stdout
    assert not link.is_symlink()  # the link was removed: /dev/zero obviously still exists
    assert os.path.exists("/dev/zero")


def test_a_link_to_an_outside_wheel_is_removed_not_its_target(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = home / "wh" / "wheels" / DELTA
    link.unlink()
    link.symlink_to(outside / DELTA)
    code, text = _run(capsys, "verify")
    assert code == ExitCode.CACHE and "symbolic link" in text and "removed" in text
    assert not link.is_symlink()
    house = Wheelhouse(home / "wh")
    house.ensure_built(DELTA, lambda: DELTA_DATA, PROV)  # rebuilt inside the cache
    assert not link.is_symlink() and link.read_bytes() == DELTA_DATA


def test_a_folder_named_like_a_wheel_is_reported_and_removed(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = home / "wh" / "wheels" / "odd-1.0-py3-none-any.whl"
    (folder / "inside").mkdir(parents=True)
    (folder / "inside" / "escape").symlink_to(outside, target_is_directory=True)
    code, text = _run(capsys, "list")
    assert code == 0
    code, text = _run(capsys, "verify", "--no-repair")
    assert code == ExitCode.CACHE and "a folder named like a wheel" in text
    code, text = _run(capsys, "remove", "odd")
    assert code == 0 and "Files removed: 1" in text
    assert not folder.exists()
    _sound(capsys)


# ---------------------------------------------------------------------------- the index


@pytest.mark.parametrize(
    "key", ["not-a-wheel", "../../outside/precious.txt", "x/../y-1.0-py3-none-any.whl", ""]
)
def test_an_index_key_that_is_not_a_wheel_name_is_dropped(
    home: Path, outside: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    index_path = home / "wh" / "index.json"
    index = json.loads(index_path.read_text())
    index["entries"][key] = dict(index["entries"][DELTA], filename=key)
    index_path.write_text(json.dumps(index))
    code, text = _run(capsys, "verify")
    assert code == ExitCode.CACHE and "index entry dropped" in text
    house = Wheelhouse(home / "wh", warn=lambda _m: None)  # normal runs use the sound entries
    assert set(house.entries()) == {GAMMA, DELTA}
    house.prepare()
    code, text = _run(capsys, "verify", "--repair")
    assert code == 0 and "repaired" in text
    assert set(json.loads(index_path.read_text())["entries"]) == {GAMMA, DELTA}
    _sound(capsys)


@pytest.mark.parametrize(
    "damage", ["folder", "link-out", "list", "bad-sha", "not-json", "entry-not-object"]
)
def test_a_damaged_index_is_reported_repaired_and_purgeable(
    home: Path, outside: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    index_path = home / "wh" / "index.json"
    index = json.loads(index_path.read_text())
    if damage == "folder":
        index_path.unlink()
        (index_path / "inside").mkdir(parents=True)
    elif damage == "link-out":
        index_path.unlink()
        index_path.symlink_to(outside / "precious.txt")
    elif damage == "list":
        index_path.write_text("[1, 2]")
    elif damage == "bad-sha":
        index["entries"][DELTA]["sha256"] = "../../" + "0" * 58
        index_path.write_text(json.dumps(index))
    elif damage == "not-json":
        index_path.write_text("{half")
    else:
        index["entries"][DELTA] = ["not", "an", "object"]
        index_path.write_text(json.dumps(index))
    code, text = _run(capsys, "verify", "--no-repair")
    assert code == ExitCode.CACHE and "index" in text
    code, text = _run(capsys, "verify", "--repair")
    assert code == 0 and "repaired" in text
    assert index_path.is_file() and not index_path.is_symlink()
    _sound(capsys)
    code, text = _run(capsys, "purge")
    assert code == 0 and "Files removed" in text
    _sound(capsys)


def test_purge_works_on_an_index_replaced_by_a_folder(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_path = home / "wh" / "index.json"
    index_path.unlink()
    index_path.mkdir()
    code, text = _run(capsys, "purge")
    assert code == 0 and "Files removed: 2" in text
    assert json.loads(index_path.read_text())["entries"] == {}
    assert list((home / "wh" / "wheels").iterdir()) == []
    _sound(capsys)


def test_a_normal_run_heals_an_index_replaced_by_a_folder(home: Path, outside: Path) -> None:
    index_path = home / "wh" / "index.json"
    index_path.unlink()
    index_path.mkdir()
    seen: list[str] = []
    house = Wheelhouse(home / "wh", warn=seen.append)
    house.ensure_built(DELTA, lambda: DELTA_DATA, PROV)
    assert index_path.is_file() and DELTA in house.entries()
    assert any("damaged" in w for w in seen)


def test_a_stray_file_in_wheels_is_reported_and_removed_by_repair(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stray = home / "wh" / "wheels" / "README.txt"
    stray.write_text("hello")
    code, text = _run(capsys, "verify")
    assert code == ExitCode.CACHE and "not a wheel file name" in text
    code, _text = _run(capsys, "verify", "--repair")
    assert code == 0 and not stray.exists()


# ---------------------------------------------------------------------------- leftovers


def _plant_leftovers(root: Path) -> list[Path]:
    download = root / "incoming" / "dl-killed1"
    download.mkdir()
    (download / "big-1.0-py3-none-any.whl").write_bytes(b"x" * 200_000)
    staged = root / "incoming" / f"{DELTA}.4242.part"
    staged.write_bytes(b"y" * 1000)
    part = root / "wheels" / f".{DELTA}.4242.7.part"
    part.write_bytes(b"z" * 10)
    index_part = root / ".index.json.4242.7.part"
    index_part.write_text("{")
    tree = _tree(root, _sha(DELTA_DATA))
    removing = tree.with_name(f".{tree.name}.removing")
    removing.mkdir()
    (removing / "f.py").write_text("x = 1\n")
    half_built = tree.with_name(f".{tree.name}.abc123")
    half_built.mkdir()
    return [download, staged, part, index_part, removing, half_built]


def test_leftovers_of_killed_runs_are_counted_and_cleaned(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = home / "wh"
    planted = _plant_leftovers(root)
    code, text = _run(capsys, "info")
    assert code == 0 and "Leftovers of interrupted runs: 6 (201 kB)" in text
    assert main(["wheelhouse", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["leftovers"] == 6 and data["leftovers_size"] > 200_000
    code, text = _run(capsys, "verify")
    assert code == 0 and text.count("NOTE:") == 6
    assert not any(p.exists() for p in planted)
    code, text = _run(capsys, "info")
    assert "Leftovers of interrupted runs: 0" in text


def test_purge_cleans_leftovers_too(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = _plant_leftovers(home / "wh")
    code, _text = _run(capsys, "purge")
    assert code == 0 and not any(p.exists() for p in planted)


def test_a_later_download_cleans_incoming_of_killed_runs(home: Path, outside: Path) -> None:
    planted = _plant_leftovers(home / "wh")
    house = Wheelhouse(home / "wh")
    with house.incoming_dir() as folder:
        assert folder.is_dir()
        assert not planted[0].exists() and not planted[1].exists()
    assert list((home / "wh" / "incoming").iterdir()) == []
    assert list((home / "wh" / "locks").glob("incoming-*")) == []


_HOLD = """
import sys, time
from pip_tfmac.wheelhouse.store import Wheelhouse
house = Wheelhouse(sys.argv[1])
with house.incoming_dir() as folder:
    (folder / "partial.whl").write_bytes(b"p")
    print(folder, flush=True)
    time.sleep(60)
"""


def test_the_download_folder_of_a_live_run_is_left_alone(
    home: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(home / "wh")], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        live = Path(proc.stdout.readline().strip())
        code, text = _run(capsys, "verify")
        assert code == 0 and live.is_dir()
        code, text = _run(capsys, "info")
        assert "Leftovers of interrupted runs: 0" in text
        proc.kill()
        proc.wait()
        code, text = _run(capsys, "verify")
        assert code == 0 and "NOTE:" in text and not live.exists()
    finally:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------------- output, disk


def test_a_closed_pipe_ends_the_listing_quietly(home: Path, outside: Path) -> None:
    env = isolated_env(
        home / "env", {"PYTHONPATH": os.pathsep.join(sys.path), "PIP_TFMAC_CACHE_DIR": home / "wh"}
    )
    for args in (["list"], ["list", "--json"], ["info"], ["verify"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "pip_tfmac", "wheelhouse", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first line (`| head -0`)
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0, err
        assert err == ""


def test_a_closed_pipe_through_a_shell_head(home: Path, outside: Path) -> None:
    env = isolated_env(
        home / "env", {"PYTHONPATH": os.pathsep.join(sys.path), "PIP_TFMAC_CACHE_DIR": home / "wh"}
    )
    cmd = f"{sys.executable} -m pip_tfmac wheelhouse list | head -1"
    proc = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("Wheelhouse contents")
    assert proc.stderr == ""


def test_a_full_disk_while_unpacking_is_a_cache_error(
    home: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    house = Wheelhouse(home / "wh")
    real_write = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if "unpacked" in str(self):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    tree = _tree(home / "wh", _sha(DELTA_DATA))
    import shutil

    shutil.rmtree(tree)
    with pytest.raises(CacheError) as info:
        warm_trees(house, [DELTA], sys.executable)
    assert info.value.exit_code == ExitCode.CACHE and "full" in info.value.message
    assert [p.name for p in (home / "wh" / "unpacked").iterdir() if p.name.startswith(".")] == []


def test_a_full_disk_during_repair_is_a_cache_error(
    home: Path, outside: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "wh" / "index.json").write_text("[]")

    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    code, text = _run(capsys, "verify", "--repair")
    assert code == ExitCode.CACHE and "full" in text and "hint:" in text


@contextlib.contextmanager
def _tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 kB tmpfs (needs root and mount(8); skipped otherwise, as in test_cache_safety)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a file system")
    target = tmp_path / "tiny"
    target.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"mount not possible here: {proc.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_a_really_full_disk_under_the_cache_is_exit_69_with_the_cause(tmp_path: Path) -> None:
    """A 256 kB tmpfs filled up: `verify --repair` must rewrite the index and cannot."""
    with _tiny_disk(tmp_path) as disk:
        root = disk / "wh"
        Wheelhouse(root).ensure_built(DELTA, lambda: DELTA_DATA, PROV)
        (root / "index.json").write_text("[]")
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        os.close(fd)
        env = isolated_env(tmp_path / "env", {"PYTHONPATH": os.pathsep.join(sys.path)})
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_tfmac",
                "wheelhouse",
                "verify",
                "--repair",
                "--tfmac-cache-dir",
                str(root),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == ExitCode.CACHE, proc.stdout + proc.stderr
        assert "full" in proc.stderr and "hint:" in proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        assert not list(root.glob(".index.json.*.part"))  # nothing half-written left
