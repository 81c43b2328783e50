"""Releases newer than the knowledge, for real (issue 12 part 4): the plan link-checks the pair
from the real wheels pip fetches from the index, and a second plan reads the kept verdict.

The knowledge is cut with the documented test seam ($PIP_TFMAC_KNOWLEDGE_CUT="tensorflow<2.17
tensorflow-metal<1.2"): it then ends at TensorFlow 2.16.2 and tensorflow-metal 1.1.0, without
the 1.1.0 x 2.17.1 and 1.1.0 x 2.18.1 verdicts and without the curated rules that cover them,
so 2.17.1 and 2.18.1 are releases newer than it. A constraint file (`-c`, tensorflow-metal<1.2)
holds pip at the 1.1.0 plugin (without it pip picks 1.2.0, the newest on the index, which links
with both). The plan must re-derive from the wheels what
links.toml and #81987 say: 1.1.0 links with 2.17.1 and misses one tsl::internal::LogMessage
constructor with 2.18.1. pip runs with this machine's pip configuration removed
(helpers.isolated_env), as in test_linkcheck_live.py. About 500 MB is downloaded (two
TensorFlow wheels, once each); measured 36-84 s here, by the load of the shared machine and the
network (bench/newer_pairs.py has the figures).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import isolated_env, run, tool_command

pytestmark = [pytest.mark.network, pytest.mark.slow]

LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"
CUT = "tensorflow<2.17 tensorflow-metal<1.2"
MAC = ["--platform", "macos-arm64", "--python-version", "3.11"]


def plan(env: dict[str, str], constraints: Path, *reqs: str) -> dict:
    # --no-deps: pip resolves TensorFlow and the plugin alone (the dependency set is not the point).
    result = run([*tool_command(), "plan", *MAC, "--no-deps", "-c", str(constraints), *reqs, "--json"], env,
                 timeout=900)
    assert result.returncode == 0, result.describe()
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_newer_releases_are_link_checked_from_pip_fetched_wheels_once(tmp_path: Path) -> None:
    house = tmp_path / "wheelhouse"
    env = isolated_env(tmp_path / "pip-isolated", {"PIP_TFMAC_CACHE_DIR": house, "PIP_TFMAC_KNOWLEDGE_CUT": CUT})
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("tensorflow-metal<1.2\n")

    links = plan(env, constraints, "tensorflow==2.17.1")
    (check,) = links["link_checks"]
    assert (check["tensorflow"], check["tensorflow_metal"], check["state"], check["computed"]) == (
        "2.17.1", "1.1.0", "link-checked", True)
    assert "tensorflow-metal==1.1.0" in links["requirements"]
    assert check["tensorflow_wheel"]["filename"].startswith("tensorflow-2.17.1-cp311-cp311-macosx_")

    broken = plan(env, constraints, "tensorflow==2.18.1")
    (check,) = broken["link_checks"]
    assert (check["state"], check["missing"], check["computed"]) == ("link-broken", [LOG_OLD], True)
    assert not any(r.startswith("tensorflow-metal") for r in broken["requirements"])
    (cpu,) = [a for a in broken["actions"] if a["kind"] == "cpu-only"]
    assert LOG_OLD in cpu["reason"]

    symbols = sorted(p.name for p in (house / "symbols").iterdir())
    again = plan(env, constraints, "tensorflow==2.17.1")
    (check,) = again["link_checks"]
    assert (check["state"], check["computed"]) == ("link-checked", False)
    assert again["requirements"] == links["requirements"]
    assert sorted(p.name for p in (house / "symbols").iterdir()) == symbols
    assert len(list((house / "verdicts").glob("*.json"))) == 2
