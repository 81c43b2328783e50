"""What makes `--backend uv` as fast as uv, offline: the target's one probe, kept between runs
until the interpreter or its installed set changes; the refresh of uv's cache started before
pip's option parser is imported, and only when its request is the plan's; uv's cache read
(`--offline`) first by the plan's compile and install; no prebuilt sdists or wheelhouse where uv
needs none."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pip_tfmac.runners import probe_target, uv, uv_prefetch
from pip_tfmac.runners.backend import Call
from pip_tfmac.runners.pipargs import parse_install
from pip_tfmac.runners.probe_writable import probe_changeable

PYTHONS = sorted(Path("/root/.pyenv/versions").glob("3.1[0-3]*/bin/python3"))


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_TFMAC_CACHE_DIR", str(tmp_path / "cache"))
    probe_target.forget()
    probe_target.use_cache()
    yield tmp_path / "cache" / "probes"
    probe_target.forget()
    probe_target.use_cache()
    uv_prefetch.stop()


def venv(path: Path, base: str = sys.executable) -> str:
    subprocess.run([base, "-m", "venv", "--without-pip", str(path)], check=True)
    return str(path / "bin" / "python")


def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("the probe ran although its answer was cached")

    monkeypatch.setattr(probe_target.subprocess, "Popen", refuse)


def test_the_probe_answer_is_kept_and_used_again(tmp_path: Path, isolated: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    py = venv(tmp_path / "v")
    first = probe_target.probe(py, ["pip"])
    assert len(list(isolated.glob("interpreter-*.json"))) == 1
    probe_target.forget()  # a new run: only the file remains
    no_subprocess(monkeypatch)
    again = probe_target.probe(py, ["pip"])
    assert again == first and again.python_version == "%d.%d" % sys.version_info[:2]
    assert probe_changeable(py) is not None  # the same answer serves the changeability check


def test_a_distribution_installed_since_is_seen(tmp_path: Path) -> None:
    py = venv(tmp_path / "v")
    assert probe_target.probe(py, ["tensorflow"]).installed == {}
    site = Path(probe_target.scheme(py)["purelib"])
    time.sleep(0.01)
    meta = site / "tensorflow-2.15.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorflow\nVersion: 2.15.1\n")
    probe_target.forget()
    assert probe_target.probe(py, ["tensorflow"]).installed == {"tensorflow": "2.15.1"}


@pytest.mark.skipif(len(PYTHONS) < 2, reason="needs two Python versions")
def test_another_interpreter_behind_the_same_path_is_probed_again(tmp_path: Path) -> None:
    older, newer = str(PYTHONS[0]), str(PYTHONS[-1])
    py = venv(tmp_path / "v", older)
    before = probe_target.probe(py).python_version
    # the venv's python now resolves to another interpreter (a rebuilt venv, a Python upgrade)
    link = Path(py)
    link.unlink()
    link.symlink_to(newer)
    probe_target.forget()
    after = probe_target.probe(py).python_version
    assert before != after
    assert after == subprocess.run([newer, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                   capture_output=True, text=True, check=True).stdout.strip()


def test_no_tfmac_cache_keeps_no_answer(tmp_path: Path, isolated: Path) -> None:
    probe_target.use_cache(no_cache=True)
    probe_target.probe(venv(tmp_path / "v"))
    assert not isolated.exists()


def test_a_damaged_entry_is_a_miss(tmp_path: Path, isolated: Path) -> None:
    py = venv(tmp_path / "v")
    probe_target.probe(py)
    for entry in isolated.glob("interpreter-*.json"):
        entry.write_text('{"schema": 1, "key": "x"')
    probe_target.forget()
    assert probe_target.probe(py).python_version == "%d.%d" % sys.version_info[:2]


def test_the_early_probe_serves_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pip_tfmac.runners.early import start_for_install

    py = venv(tmp_path / "v")
    start_for_install(["--python", py, "install", "tensorflow"], 2)
    monkeypatch.setattr(probe_target.subprocess, "Popen", None)  # no second probe
    assert probe_target.probe(py).python_version == "%d.%d" % sys.version_info[:2]


def test_no_early_probe_for_a_cross_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pip_tfmac.runners.early import start_for_install

    py = venv(tmp_path / "v")
    no_subprocess(monkeypatch)
    start_for_install(["--python", py, "install", "--platform", "macos-arm64", "tensorflow"], 2)
    start_for_install(["--python", py, "install", "--python-version", "3.11", "tensorflow"], 2)


# --- the refresh of uv's cache ----------------------------------------------------------------

def test_only_plain_requests_on_the_default_index_are_prefetched(monkeypatch: pytest.MonkeyPatch) -> None:
    assert uv_prefetch.request_specs(["--python", "/v/bin/python"], ["-q", "tensorflow-cpu==2.15.1", "numpy<2"]) \
        == ["tensorflow-cpu==2.15.1", "numpy<2"]
    for rest in (["-r", "req.txt"], ["./project"], ["pkg @ https://x/y.whl"], ["-i", "https://mirror/simple", "x"],
                 ["--index-url=https://m/simple", "x"], ["-e", "."], ["--pre", "x"], []):
        assert uv_prefetch.request_specs([], rest) is None, rest
    assert uv_prefetch.request_specs(["--isolated"], ["x"]) is None
    assert uv_prefetch.default_index_only()  # PIP_CONFIG_FILE=os.devnull: pip reads no file
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror/simple")
    assert not uv_prefetch.default_index_only()
    monkeypatch.delenv("PIP_INDEX_URL")
    monkeypatch.setenv("PIP_QUIET", "1")
    assert uv_prefetch.default_index_only()


def test_a_pip_configuration_file_stops_the_prefetch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    conf = tmp_path / "xdg" / "pip" / "pip.conf"
    assert str(conf) in uv_prefetch.pip_config_files()  # pip's user file, where pip reads it
    monkeypatch.delenv("PIP_CONFIG_FILE")
    monkeypatch.setattr(uv_prefetch, "pip_config_files", lambda: [str(conf)])
    assert uv_prefetch.default_index_only()
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\nindex-url = https://private/simple\n")
    assert not uv_prefetch.default_index_only()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip reads no file at all then
    assert uv_prefetch.default_index_only()


def logging_uv(folder: Path, *, offline_ok: bool = True) -> tuple[str, Path]:
    log = folder / "uv.log"
    script = folder / "uv"
    script.write_text(f"""#!/bin/sh
if [ "$1" = "--version" ]; then echo 'uv 0.13.9 (fake)'; exit 0; fi
echo "$@" >> {log}
case "$*" in *--offline*) {'true' if offline_ok else 'echo "offline: missing" >&2; exit 2'};; esac
echo 'Installed 1 package' >&2
echo 'tensorflow-cpu==2.15.1    # via -r requirements.txt'
""")
    script.chmod(0o755)
    return str(script), log


def test_the_prefetch_runs_uv_compile_of_the_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pip_tfmac.runners.early import start_for_install

    from pip_tfmac.runners import uv_find

    script, log = logging_uv(tmp_path)
    monkeypatch.setattr(uv_find, "candidates", lambda: [script])
    py = venv(tmp_path / "v")
    start_for_install(["--python", py, "install", "--backend", "uv", "-q", "tensorflow-cpu==2.15.1"], 2)
    assert uv_prefetch.warmed(py)
    assert log.read_text().split()[:4] == ["pip", "compile", "--quiet", "--python"]
    log.unlink()
    for argv in (["install", "tensorflow-cpu==2.15.1"],  # the pip backend
                 ["install", "--backend", "uv", "-r", "reqs.txt"],
                 ["install", "--backend", "uv", "--offline", "tensorflow-cpu"]):
        uv_prefetch.stop()
        start_for_install(["--python", py, *argv], 2)
        assert not uv_prefetch.warmed(py)
    assert not log.exists()


def call(tmp_path: Path, python: str = "/env/bin/python") -> Call:
    from pip_tfmac.core.target import Target

    return Call(python=python, general=(), passthrough=(), requirements_file=str(tmp_path / "r.txt"),
                constraints_file=None, find_links=(), target=Target("linux", "x86_64", "3.11", python))


def test_a_prefetched_request_is_compiled_from_uvs_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script, log = logging_uv(tmp_path)
    monkeypatch.setattr(uv_prefetch, "warmed", lambda python: python == "/env/bin/python")
    result = uv.UvBackend(script).dry_run(call(tmp_path))
    assert result.ok and log.read_text().splitlines()[0].endswith("--offline")


def test_the_install_after_a_compile_reads_uvs_cache_first(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    script, log = logging_uv(tmp_path)
    backend = uv.UvBackend(script)
    assert backend.dry_run(call(tmp_path)).ok
    assert backend.install(call(tmp_path)) == 0
    lines = log.read_text().splitlines()
    assert lines[-1].startswith("pip install") and lines[-1].endswith("--offline") and len(lines) == 2
    assert "Installed 1 package" in capfd.readouterr().err  # uv's own summary is shown


def test_an_install_uvs_cache_cannot_serve_goes_online_quietly(tmp_path: Path,
                                                                capfd: pytest.CaptureFixture[str]) -> None:
    script, log = logging_uv(tmp_path, offline_ok=False)
    backend = uv.UvBackend(script)
    assert backend.dry_run(call(tmp_path)).ok
    capfd.readouterr()
    assert backend.install(call(tmp_path)) == 0
    installs = [ln for ln in log.read_text().splitlines() if ln.startswith("pip install")]
    assert [ln.endswith("--offline") for ln in installs] == [True, False]
    assert "offline: missing" not in capfd.readouterr().err


def test_an_install_without_a_compile_before_asks_the_index(tmp_path: Path) -> None:
    script, log = logging_uv(tmp_path)
    assert uv.UvBackend(script).install(call(tmp_path)) == 0
    assert "--offline" not in log.read_text()


# --- what uv builds itself --------------------------------------------------------------------

@pytest.mark.parametrize("argv,prebuilt", [
    (["install", "--backend", "uv", "tflite-model-maker"], False),
    (["plan", "--backend", "uv", "tflite-model-maker"], False),
    (["install", "tflite-model-maker"], True),  # pip's cross resolve takes wheels only
    (["download", "--backend", "uv", "tflite-model-maker"], True),  # for a later offline install
    (["install", "--backend", "uv", "--offline", "tflite-model-maker"], True),
    (["install", "--backend", "uv", "--only-binary", ":all:", "tflite-model-maker"], True),
    (["install", "--backend", "uv", "--only-binary", "Promise", "tflite-model-maker"], True),
    (["install", "--backend", "uv", "--only-binary", "numpy", "tflite-model-maker"], False),
])
def test_prebuilt_sdists_are_uvs_to_build(argv: list[str], prebuilt: bool) -> None:
    from pip_tfmac.core.recipes import Prebuild
    from pip_tfmac.wheelhouse.build import uv_builds_it

    args = parse_install(argv, 0)
    prebuild = Prebuild("promise==2.3", "no wheel on the index", "index:promise")
    assert uv_builds_it(prebuild, args) is not prebuilt
