"""The shim's gate and argv reading (runners/shim_hook.py), without starting pip."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from pip_tfmac.flows import shim
from pip_tfmac.runners import shim_hook

REPO = Path(__file__).resolve().parents[2]


def test_supported_pip_range_is_pyprojects() -> None:
    text = (REPO / "pyproject.toml").read_text()
    low, high = re.search(r'"pip>=([\d.]+),<([\d.]+)"', text).groups()  # type: ignore[union-attr]
    as_tuple = lambda v: tuple(int(x) for x in (v.split(".") + ["0"])[:2])  # noqa: E731
    assert (shim_hook.PIP_MIN, shim_hook.PIP_BELOW) == (as_tuple(low), as_tuple(high))


@pytest.mark.parametrize(
    "argv0, expected",
    [
        ("/v/bin/pip", True),
        ("/v/bin/pip3", True),
        ("/v/bin/pip3.11", True),
        ("pip", True),
        ("/v/Scripts/pip.exe", True),
        ("/v/bin/pip3.11.1", False),
        ("/v/bin/pip-script.py", True),
        ("/v/bin/pip-tfmac", False),
        ("/v/bin/pipx", False),
        ("/v/bin/pip-compile", False),
        ("/v/bin/pipenv", False),
        ("/v/bin/pip3.", False),
        ("/v/bin/python", False),
        ("", False),
    ],
)
def test_pip_script_names(argv0: str, expected: bool) -> None:
    assert shim_hook.is_pip_script(argv0) is expected


@pytest.mark.parametrize(
    "orig, module",
    [
        (["python", "-m", "pip", "install"], "pip"),
        (["python", "-mpip", "list"], "pip"),
        (["python", "-I", "-m", "pip"], "pip"),
        (["python", "-Im", "pip"], "pip"),
        (["python", "-X", "importtime", "-W", "ignore", "-m", "pip"], "pip"),
        (["python", "-m", "ipykernel_launcher", "-f", "x"], "ipykernel_launcher"),
        (["python", "-c", "-m pip"], None),
        (["python", "script.py", "-m", "pip"], None),
    ],
)
def test_module_named_by_dash_m(orig: list[str], module: str | None) -> None:
    assert shim_hook.module_run(orig) == module


@pytest.mark.parametrize(
    "argv, command",
    [
        (["install", "x"], "install"),
        (["--log", "install", "list"], "list"),  # the log file is called "install"
        (["--log=f", "install"], "install"),
        (["-v", "--isolated", "download", "x"], "download"),
        (["--pyth", "/p", "install"], "install"),  # optparse's unique abbreviation
        (["--python", "/p", "list"], "list"),
        (["--version"], None),
        (["--", "install"], "install"),
    ],
)
def test_command_word_skips_general_options_and_values(
    argv: list[str], command: str | None
) -> None:
    assert shim_hook.command_word(argv) == command


@pytest.mark.parametrize(
    "argv, imports",
    [
        (["-c"], False),
        (["/v/bin/python3-config"], False),
        (["x.py"], False),
        (["/v/bin/pip"], True),
        (["/v/bin/pip-tfmac"], True),
        (["-m"], True),
    ],
)
def test_pth_gate_imports_the_hook_only_for_pip_like_programs(
    argv: list[str], imports: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .pth line itself; an import of a missing module stays silent (exec's try)."""
    seen: list[str] = []

    class Finder:
        @staticmethod
        def find_spec(name, path=None, target=None):  # type: ignore[no-untyped-def]
            if name == "pip_tfmac_shim":
                seen.append(name)
            return None

    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "pip"], raising=False)
    monkeypatch.setattr(sys, "meta_path", [Finder, *sys.meta_path])
    exec(compile(shim_hook.PTH_LINE, "pip_tfmac_shim.pth", "exec"), {})
    assert bool(seen) is imports


def test_hook_source_fills_in_the_command_and_stays_valid_python() -> None:
    text = shim.hook_source(["/x/bin/pip-tfmac"])
    assert "TFMAC_COMMAND: list = ['/x/bin/pip-tfmac']" in text
    compile(text, "pip_tfmac_shim/__init__.py", "exec")
    namespace: dict[str, object] = {"__name__": "pip_tfmac_shim"}
    exec(compile(text, "pip_tfmac_shim/__init__.py", "exec"), namespace)
    assert namespace["TFMAC_COMMAND"] == ["/x/bin/pip-tfmac"]


def test_wrapper_passes_other_commands_and_bypass_to_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def pip_main(args=None):  # type: ignore[no-untyped-def]
        calls.append(args)
        return 7

    hooked = shim_hook.wrap(pip_main)
    monkeypatch.delenv("PIP_TFMAC_SHIM", raising=False)
    assert hooked(["list"]) == 7
    monkeypatch.setenv("PIP_TFMAC_SHIM", "0")
    assert hooked(["install", "tensorflow"]) == 7
    assert calls == [["list"], ["install", "tensorflow"]]
    assert getattr(hooked, shim_hook.MARK) is pip_main


@pytest.mark.parametrize(
    "argv, orig, route",
    [
        (["/v/bin/pip3", "list"], ["/v/bin/python", "/v/bin/pip3", "list"], "script"),
        (["-m", "list"], ["python", "-m", "pip", "list"], "-m"),
        (["-m", "x"], ["python", "-m", "pipdeptree", "x"], None),
        (["-m", "list"], None, "-m?"),  # Python 3.9: decided when pip.__main__ is looked up
        (["-c"], ["python", "-c", "import pip"], None),
    ],
)
def test_route_of_this_process(
    argv: list[str], orig: list[str] | None, route: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    if orig is None:
        monkeypatch.delattr(sys, "orig_argv", raising=False)
    else:
        monkeypatch.setattr(sys, "orig_argv", orig, raising=False)
    assert shim_hook.started_as_pip() == route
