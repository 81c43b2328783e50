"""`pip-tfmac check-pair`: argument handling, text and JSON output, exit codes (0 links,
76 broken). The flow is replaced by a stub returning a verdict made from plain values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pip_tfmac import cli
from pip_tfmac.commands import check_pair as command
from pip_tfmac.core.linkcheck import ImageExports, Import, PluginImports, WheelRef, check
from pip_tfmac.errors import ExitCode
from pip_tfmac.flows.check_pair import PairReport, PairSpec

PYWRAP = "@rpath/_pywrap_tensorflow_internal.so"
LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"


def report(links: bool) -> PairReport:
    plugin = PluginImports("tensorflow-plugins/libmetal_plugin.dylib",
                           WheelRef("tensorflow_metal-1.1.0-x.whl", "b" * 64),
                           (Import(LOG_OLD, PYWRAP, lazy=True),), (11, 3))
    image = ImageExports(PYWRAP, "tensorflow/python/_pywrap_tensorflow_internal.so",
                         WheelRef("tensorflow-2.18.1-x.whl", "a" * 64),
                         frozenset({LOG_OLD} if links else set()), min_macos=(12, 0))
    return PairReport("2.18.1", "tensorflow", "1.1.0", check(plugin, (image,)), 0.5)


@pytest.fixture
def calls(monkeypatch):
    seen: list[PairSpec] = []

    def fake(spec, **kwargs):
        seen.append(spec)
        return report(links=spec.metal != "1.1.0")

    monkeypatch.setattr(command, "check_in_wheelhouse", fake)
    return seen


def test_broken_pair_exits_76_and_names_the_symbol(calls, capsys):
    code = cli.main(["check-pair", "tensorflow==2.18.1", "tensorflow-metal==1.1.0"])
    out = capsys.readouterr().out
    assert code == ExitCode.LINK_BROKEN == 76
    assert LOG_OLD in out and "BROKEN" in out and "two-level" in out and "lazy" in out
    assert calls == [PairSpec(tensorflow="2.18.1", metal="1.1.0")]


def test_linking_pair_exits_0_with_one_json_object(calls, capsys):
    code = cli.main(["check-pair", "tensorflow-metal==1.2.0", "tensorflow==2.18.1", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["version"] == 1 and data["verdict"]["state"] == "links"
    assert data["verdict"]["plugin"]["sha256"] == "b" * 64


def test_local_wheels_and_two_level_scope(calls):
    cli.main(["check-pair", "--tf-wheel", "t.whl", "--metal-wheel", "m.whl", "--two-level-only"])
    assert calls == [PairSpec(tf_wheel=Path("t.whl"), metal_wheel=Path("m.whl"), scope="two-level")]


@pytest.mark.parametrize("argv", [
    ["tensorflow==2.18.1"],
    ["tensorflow==2.18.1", "tensorflow-metal>=1.1"],
    ["tensorflow==2.18.1", "numpy==1.26.4"],
    ["tensorflow==2.18.1", "tensorflow-metal==1.1.0", "--tf-wheel", "x.whl"],
    ["tensorflow==2.18.*", "tensorflow-metal==1.1.0"],
])
def test_usage_errors_exit_64(calls, argv, capsys):
    assert cli.main(["check-pair", *argv]) == ExitCode.USAGE
    assert calls == []
