"""The uv backend offline: --backend / PIP_TFMAC_BACKEND, pip's options in uv's spelling, the
refusals, the target triple, reading `uv pip compile` back as a report, finding uv."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pip_tfmac.core.target import cross_target
from pip_tfmac.errors import UsageError
from pip_tfmac.runners import uv
from pip_tfmac.runners.backend import Call
from pip_tfmac.runners.pip import PipResult
from pip_tfmac.runners.pipargs import parse_install, split_own


@pytest.fixture(autouse=True)
def no_machine_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


def test_backend_option_and_variable() -> None:
    assert split_own(["tensorflow"])[0].backend == "pip"
    own, rest, _ = split_own(["--backend", "uv", "tensorflow"])
    assert own.backend == "uv" and rest == ["tensorflow"]
    assert split_own(["--backend=pip"])[0].backend == "pip"


def test_backend_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_TFMAC_BACKEND", "uv")
    assert split_own(["tensorflow"])[0].backend == "uv"
    assert split_own(["--backend", "pip"])[0].backend == "pip"  # the option wins


def test_unknown_backend_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="--backend 'poetry'"):
        split_own(["--backend", "poetry"])
    monkeypatch.setenv("PIP_TFMAC_BACKEND", "conda")
    with pytest.raises(UsageError, match="PIP_TFMAC_BACKEND 'conda'"):
        split_own([])
    with pytest.raises(UsageError, match="--backend needs a value"):
        split_own(["--backend"])


def test_pip_options_in_uv_spelling() -> None:
    tokens = ["-U", "--force-reinstall", "--pre", "--no-deps", "--only-binary", ":all:", "--no-binary=foo",
              "-qq", "--no-cache-dir", "--compile", "--require-hashes", "--trusted-host", "h",
              "--no-warn-script-location", "--progress-bar", "off", "--upgrade-strategy", "only-if-needed",
              "--target", "/t", "--prefix=/p"]
    assert uv.translate(tokens, install=True) == [
        "--upgrade", "--reinstall", "--prerelease=allow", "--no-deps", "--only-binary", ":all:",
        "--no-binary", "foo", "-q", "-q", "--no-cache", "--compile-bytecode", "--require-hashes",
        "--allow-insecure-host", "h", "--target", "/t", "--prefix", "/p"]
    # where to install is not part of a resolve
    assert uv.translate(["--target", "/t", "-U", "--dry-run", "--force-reinstall", "--compile"],
                        install=False) == ["--upgrade"]


@pytest.mark.parametrize("tokens,named", [
    (["--user"], "--user"),
    (["--root", "/r"], "--root"),
    (["-I"], "-I"),
    (["--ignore-installed"], "--ignore-installed"),
    (["--upgrade-strategy", "eager"], "--upgrade-strategy"),
    (["--prefer-binary", "--user"], "--prefer-binary, --user"),
    (["--report", "r.json"], "--report"),
    (["--cert", "c.pem"], "--cert"),
])
def test_options_uv_lacks_are_refused_by_name(tokens: list[str], named: str) -> None:
    with pytest.raises(UsageError, match="uv has no equivalent of pip's " + named):
        uv.translate(tokens, install=True)


def call(tmp_path: Path, target, **kw) -> Call:  # type: ignore[no-untyped-def]
    base = dict(python="/env/bin/python", general=(), passthrough=(), requirements_file=str(tmp_path / "r.txt"),
                constraints_file=str(tmp_path / "c.txt"), find_links=("/wh",), target=target)
    base.update(kw)
    return Call(**base)  # type: ignore[arg-type]


def test_macos_arm64_shorthand_becomes_the_target_triple(tmp_path: Path) -> None:
    target = cross_target(["macos-arm64"], "3.11", "13")
    argv, env = uv.argv("uv", call(tmp_path, target), install=False)
    assert argv[:3] == ["uv", "pip", "compile"]
    assert argv[argv.index("--python-platform") + 1] == "aarch64-apple-darwin"
    assert argv[argv.index("--python-version") + 1] == "3.11"
    assert env == {"MACOSX_DEPLOYMENT_TARGET": "13.0"}
    assert "--python" not in argv  # a cross resolve needs no interpreter
    assert str(tmp_path / "r.txt") in argv and "-r" not in argv  # compile takes files as arguments
    assert argv[argv.index("-c") + 1] == str(tmp_path / "c.txt")
    assert argv[argv.index("--find-links") + 1] == "/wh"


def test_pip_linux_tags_become_a_manylinux_triple(tmp_path: Path) -> None:
    target = cross_target(["manylinux_2_28_x86_64", "manylinux2014_x86_64"], "3.10")
    argv, _ = uv.argv("uv", call(tmp_path, target), install=False)
    assert argv[argv.index("--python-platform") + 1] == "x86_64-manylinux_2_28"


def test_install_on_this_machine_names_the_interpreter(tmp_path: Path) -> None:
    from pip_tfmac.core.target import Target

    here = Target("linux", "x86_64", "3.11", "/env/bin/python")
    argv, env = uv.argv("uv", call(tmp_path, here, passthrough=("-U",), offline=True), install=True)
    assert argv[:3] == ["uv", "pip", "install"] and env == {}
    assert argv[argv.index("--python") + 1] == "/env/bin/python"
    assert "--upgrade" in argv and "--no-index" in argv and "--python-platform" not in argv
    assert argv[argv.index("-r") + 1] == str(tmp_path / "r.txt")


def test_pip_index_settings_are_handed_to_uv(tmp_path: Path) -> None:
    parsed = parse_install(["install", "-i", "https://mirror/simple", "--extra-index-url", "file:///x",
                            "-f", "/links", "tensorflow"], 0)
    from pip_tfmac.core.target import Target

    here = Target("linux", "x86_64", "3.11", "/env/bin/python")
    argv, _ = uv.argv("uv", call(tmp_path, here, passthrough=parsed.passthrough, values=parsed.values),
                      install=False)
    assert argv[argv.index("--index-url") + 1] == "https://mirror/simple"
    assert argv[argv.index("--extra-index-url") + 1] == "file:///x"
    assert ["--find-links", "/links"] == argv[argv.index("/links") - 1: argv.index("/links") + 1]
    assert argv.count("-i") == 0


COMPILED = """\
absl-py==2.1.0            # via tensorflow
keras==3.6.0              # via tensorflow
tensorflow==2.18.1        # via -r /tmp/x/requirements.txt, tf-keras
tensorflow-metal==1.2.0   # via -r /tmp/x/requirements.txt
tf-keras==2.18.0 ; python_full_version >= '3.9'  # via tflite-model-maker
tflite-model-maker==0.4.3 # via -r /tmp/x/requirements.txt
"""


def test_compile_output_reads_back_as_a_report() -> None:
    result = PipResult(("uv",), 0, COMPILED, "", uv.parse_compile(COMPILED))
    items = {i.name: i for i in result.resolved()}
    assert items["tensorflow"].version == "2.18.1" and items["tensorflow"].requested
    assert not items["keras"].requested
    assert items["tf-keras"].version == "2.18.0"
    # who requires whom, from uv's annotations (arrivals name the parents)
    assert "tensorflow" in items["tf-keras"].requires and "tf-keras" in items["tflite-model-maker"].requires
    assert set(items["tensorflow"].requires) == {"absl-py", "keras"}


def fake_uv(folder: Path, version: str) -> str:
    path = folder / "uv"
    path.write_text(f"#!/bin/sh\necho 'uv {version} (fake)'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_too_old_or_missing_uv_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = fake_uv(tmp_path, "0.4.9")
    monkeypatch.setattr(uv, "candidates", lambda: [old])
    with pytest.raises(UsageError, match=r"needs uv 0\.5\.0 or later; found only .*0\.4\.9") as info:
        uv.find_uv()
    assert info.value.exit_code == 64
    monkeypatch.setattr(uv, "candidates", lambda: [])
    with pytest.raises(UsageError, match="none was found"):
        uv.find_uv()
    new = fake_uv(tmp_path / "..", "0.13.9")
    monkeypatch.setattr(uv, "candidates", lambda: [old, new])
    assert uv.find_uv() == new


FAKE_UV = """#!/bin/sh
if [ "$1" = "--version" ]; then echo 'uv 0.13.9 (fake)'; exit 0; fi
echo "$@" >> {log}
echo "MACOSX_DEPLOYMENT_TARGET=$MACOSX_DEPLOYMENT_TARGET" >> {log}
cat <<'OUT'
numpy==1.26.4             # via tensorflow
tensorflow==2.15.1        # via -r requirements.txt
tensorflow-metal==1.1.0   # via -r requirements.txt
OUT
"""


def test_a_plan_resolved_by_uv_is_paired_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pip_tfmac.flows.plan import resolve

    log = tmp_path / "uv.log"
    script = tmp_path / "uv"
    script.write_text(FAKE_UV.format(log=log))
    script.chmod(0o755)
    monkeypatch.setattr(uv, "candidates", lambda: [str(script)])
    monkeypatch.setenv("PIP_TFMAC_CACHE_DIR", str(tmp_path / "wheelhouse"))
    args = parse_install(["install", "--backend", "uv", "--platform", "macos-arm64", "--macos-version", "13",
                          "--python-version", "3.11", "tensorflow==2.15.1"], 0)
    resolved = resolve(args)
    try:
        data = resolved.to_json()
        assert data["backend"] == "uv"
        versions = {i["name"]: i["version"] for i in data["resolved"]}
        assert versions["tensorflow"] == "2.15.1" and versions["tensorflow-metal"] == "1.1.0"
        assert any(line.startswith("tensorflow-metal") for line in data["requirements"])
        calls = log.read_text()
        assert "pip compile" in calls and "--python-platform aarch64-apple-darwin" in calls
        assert "MACOSX_DEPLOYMENT_TARGET=13.0" in calls
    finally:
        resolved.cleanup()


def test_backend_uv_without_uv_fails_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pip_tfmac.flows.plan import prepare

    monkeypatch.setattr(uv, "candidates", lambda: [])
    args = parse_install(["install", "--backend", "uv", "--platform", "macos-arm64", "--python-version", "3.11",
                          "tensorflow"], 0)
    with pytest.raises(UsageError, match="--backend uv needs uv"):
        prepare(args)


def test_later_resolves_try_uvs_cache_first_and_fall_back_online(tmp_path: Path) -> None:
    from pip_tfmac.core.target import Target

    log = tmp_path / "uv.log"
    script = tmp_path / "uv"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {log}
case "$*" in *--offline*) [ -f {tmp_path}/cached ] || exit 2;; esac
echo 'tensorflow-cpu==2.15.1    # via -r requirements.txt'
""")
    script.chmod(0o755)
    backend = uv.UvBackend(str(script))
    here = Target("linux", "x86_64", "3.11", "/env/bin/python")
    first = backend.dry_run(call(tmp_path, here))
    assert first.ok and "--offline" not in log.read_text()
    second = backend.dry_run(call(tmp_path, here))  # not cached: offline fails, online answers
    assert second.ok and [ln.endswith("--offline") for ln in log.read_text().splitlines()] == [False, True, False]
    (tmp_path / "cached").write_text("")
    third = backend.dry_run(call(tmp_path, here))
    assert third.ok and log.read_text().splitlines()[-1].endswith("--offline")
    assert [i.name for i in third.resolved()] == ["tensorflow-cpu"]
