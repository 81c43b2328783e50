"""The hook's argv and result file, without running pip (the runs: integration/test_pip_hook)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pip_tfmac.runners import pip_hook
from pip_tfmac.runners.pip import (
    HOOK_STOP_EXIT_CODE,
    base_argv,
    hooked_argv,
    read_hook_result,
    write_hook_config,
)


def test_hooked_argv_mirrors_base_argv(tmp_path: Path) -> None:
    other = str(tmp_path / "venv" / "bin" / "python")
    for python, general in ((sys.executable, ["-q"]), (other, ["--isolated"])):
        base = base_argv(python, general)
        hooked = hooked_argv(python, general, "CONFIG")
        assert hooked == [sys.executable, "-m", "pip_tfmac.runners.pip_hook", "CONFIG", *base[3:]]
    assert hooked_argv(other, [], "C")[-2:] == ["--python", other]
    assert HOOK_STOP_EXIT_CODE == pip_hook.STOP_EXIT_CODE == 86


def test_config_and_result_round_trip(tmp_path: Path) -> None:
    config, out = tmp_path / "c.json", tmp_path / "o.json"
    write_hook_config(str(config), watch=["tensorflow", "tensorflow"], out=str(out),
                      markers={"sys_platform": "darwin"})
    assert json.loads(config.read_text()) == {
        "watch": ["tensorflow"], "stop_on_watch": True, "markers": {"sys_platform": "darwin"},
        "out": str(out)}
    assert read_hook_result(str(out)) is None  # pip never got to resolve
    out.write_text(json.dumps({
        "version": 1, "pip": "26.3", "failed": True, "stopped": False, "resolved": [],
        "watched": [], "causes": [{
            "name": "tensorflow-text", "specifier": "~=2.15.0", "by": "tf-models-official",
            "by_version": "2.15.0", "requirement": "tensorflow-text~=2.15.0", "marker": None,
            "from": None, "extras": [], "available": ["2.16.1"]}],
        "candidate_errors": [{"link": "file:///x.whl", "error": "bad"}]}))
    result = read_hook_result(str(out))
    assert result is not None and result.failed and not result.stopped
    cause = result.causes[0]
    assert (cause.name, cause.specifier, cause.by, cause.by_version, cause.available) == (
        "tensorflow-text", "~=2.15.0", "tf-models-official", "2.15.0", ("2.16.1",))
    assert result.candidate_errors == (("file:///x.whl", "bad"),)
