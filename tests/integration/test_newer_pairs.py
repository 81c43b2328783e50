"""Releases newer than the knowledge are link-checked from the wheels pip fetches (issue 12
part 4), offline.

How "newer than the knowledge" is simulated: the documented test seam
$PIP_TFMAC_KNOWLEDGE_CUT="tensorflow<2.17 tensorflow-metal<1.2" makes pip-tfmac's knowledge end
at TensorFlow 2.16.2 and tensorflow-metal 1.1.0 (wheel tables, link verdicts and the curated
pair rules forget the rest), so 2.17.1 and 2.18.1 are releases it does not list.

The "index" is a local --find-links folder (--no-index: no network) of small wheels named like
the real macOS arm64 ones, with the real member paths. Their Mach-O bytes are placeholders:
no small real Mach-O fixtures exist in tests/. What makes the verdict real is the symbol
tables: tests/data/linkcheck holds the tables tools/regen_links.py read from the real wheels
(cut to what the plugins import), and they are placed in the wheelhouse's symbol cache
(symbols/, wheelhouse/symbols.py) under the sha256 of these wheels, exactly where a first
check from real wheels leaves them. Everything else is the real path: pip resolves, pip
downloads the wheels into the wheelhouse with the hashes of its report, the check runs, the
verdict is kept in verdicts/ and the plan pairs with it. LIEF reading real wheels is covered
by tests/network/test_newer_pairs_live.py and test_linkcheck_live.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from helpers import isolated_env, run, sha256_of, tool_command, write_wheel
from pip_tfmac.core.linkcheck import ImageExports, PluginImports, WheelRef
from pip_tfmac.wheelhouse.symbols import FORMAT, read_json_gz, write_json_gz

DATA = Path(__file__).resolve().parent.parent / "data" / "linkcheck"
LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"
TAG = "cp311-cp311-macosx_12_0_arm64"
CUT = "tensorflow<2.17 tensorflow-metal<1.2"
MAC = ["--platform", "macos-arm64", "--python-version", "3.11"]
TF_MEMBERS = ("tensorflow/python/_pywrap_tensorflow_internal.so", "tensorflow/libtensorflow_cc.2.dylib",
              "tensorflow/libtensorflow_framework.2.dylib")


def seed(symbols: Path, wheel: Path, kind: str, member: str, value: dict) -> None:
    name = member.rsplit("/", 1)[-1]
    write_json_gz(symbols / f"{sha256_of(wheel)}-{name}.json.gz", {"format": FORMAT, "kind": kind, "value": value})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The find-links folder (TensorFlow 2.17.1 and 2.18.1, tensorflow-metal 1.1.0; 1.2.0 is in
    `links/../plugin-1.2.0`, for the test of a plugin newer than the knowledge) and the seeded
    symbol tables (copied into each test's wheelhouse)."""
    base = tmp_path_factory.mktemp("newer")
    links, symbols = base / "links", base / "symbols"
    links.mkdir()
    (base / "plugin-1.2.0").mkdir()
    for tf in ("2.17.1", "2.18.1"):
        path = Path(write_wheel(str(links), "tensorflow", tf, [], {m: f"placeholder {m} {tf}\n" for m in TF_MEMBERS}, TAG))
        ref = WheelRef(path.name, sha256_of(path))
        for data in read_json_gz(DATA / f"tensorflow-{tf}.json.gz")["images"]:
            image = dataclasses.replace(ImageExports.from_json(data), wheel=ref)
            seed(symbols, path, "image", image.member, image.to_json())
    for metal in ("1.1.0", "1.2.0"):
        member = "tensorflow-plugins/libmetal_plugin.dylib"
        folder = links if metal == "1.1.0" else base / "plugin-1.2.0"
        path = Path(write_wheel(str(folder), "tensorflow-metal", metal, [], {member: f"placeholder {metal}\n"}, TAG))
        plugin = PluginImports.from_json(read_json_gz(DATA / f"metal-{metal}.json.gz"))
        seed(symbols, path, "plugin", member, dataclasses.replace(plugin, wheel=WheelRef(path.name, sha256_of(path))).to_json())
    return links, symbols


def house_with_symbols(tmp_path: Path, symbols: Path) -> Path:
    house = tmp_path / "wheelhouse"
    (house / "symbols").mkdir(parents=True)
    for item in symbols.iterdir():
        (house / "symbols" / item.name).write_bytes(item.read_bytes())
    return house


def plan(env: dict[str, str], links: Path, *reqs: str, json_out: bool = True):
    argv = [*tool_command(), "plan", *MAC, "--no-index", "--find-links", str(links), *reqs]
    return run(argv + (["--json"] if json_out else []), env)


def test_newer_tensorflow_is_link_checked_once_and_planned_with_its_evidence(world, tmp_path: Path) -> None:
    links, symbols = world
    house = house_with_symbols(tmp_path, symbols)
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house, "PIP_TFMAC_KNOWLEDGE_CUT": CUT})

    first = plan(env, links, "tensorflow==2.17.1")
    assert first.returncode == 0, first.describe()
    data = json.loads(first.stdout)
    (check,) = data["link_checks"]
    assert (check["tensorflow"], check["tensorflow_metal"], check["state"]) == ("2.17.1", "1.1.0", "link-checked")
    assert check["computed"] is True and check["origin"] == "here" and check["missing"] == []
    assert "tensorflow_metal-1.1.0-" in check["metal_wheel"]["filename"]
    assert "tensorflow-metal==1.1.0" in data["requirements"]
    (add,) = [a for a in data["actions"] if a["kind"] == "add"]
    assert add["source"].startswith("link check here") and "link-checked here from the wheels" in add["reason"]
    assert any("newer than the knowledge" in w for w in data["warnings"])
    # pip fetched both wheels into the wheelhouse; the verdict is kept there, by both sha256.
    wheels = sorted(p.name for p in (house / "wheels").glob("*.whl"))
    assert wheels == [f"tensorflow-2.17.1-{TAG}.whl", f"tensorflow_metal-1.1.0-{TAG}.whl"]
    verdict = Path(check["verdict_file"])
    assert verdict.parent == house / "verdicts"
    assert verdict.name == f"{sha256_of(links / wheels[0])}-{sha256_of(links / wheels[1])}.json"
    stamp = verdict.stat().st_mtime_ns
    index_before = (house / "index.json").read_bytes()
    # Proof that the second plan computes nothing: without the symbol tables a check could not
    # run at all (the wheels' Mach-O bytes are placeholders), yet the pair is still judged.
    shutil.rmtree(house / "symbols")

    second = plan(env, links, "tensorflow==2.17.1")
    assert second.returncode == 0, second.describe()
    again = json.loads(second.stdout)
    (check2,) = again["link_checks"]
    assert check2["computed"] is False and check2["state"] == "link-checked"
    assert again["requirements"] == data["requirements"]
    # Nothing fetched, nothing checked: the verdict file and the wheelhouse index untouched.
    assert verdict.stat().st_mtime_ns == stamp
    assert (house / "index.json").read_bytes() == index_before

    text = plan(env, links, "tensorflow==2.17.1", json_out=False)
    assert "pairs the knowledge does not judge, link-checked here:" in text.stdout
    assert "kept in the wheelhouse from an earlier plan" in text.stdout
    assert "link-checking" not in text.stderr and "fetching" not in text.stderr, text.describe()


def test_newer_tensorflow_that_breaks_the_plugin_gets_a_cpu_plan_naming_the_symbol(world, tmp_path: Path) -> None:
    links, symbols = world
    house = house_with_symbols(tmp_path, symbols)
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house, "PIP_TFMAC_KNOWLEDGE_CUT": CUT})

    result = plan(env, links, "tensorflow==2.18.1")
    assert result.returncode == 0, result.describe()
    data = json.loads(result.stdout)
    (check,) = data["link_checks"]
    assert check["state"] == "link-broken" and check["missing"] == [LOG_OLD] and check["computed"]
    assert not any(r.startswith("tensorflow-metal") for r in data["requirements"])
    (cpu,) = [a for a in data["actions"] if a["kind"] == "cpu-only"]
    assert LOG_OLD in cpu["reason"] and "link-checked here" in cpu["reason"]

    strict = plan(env, links, "tensorflow==2.18.1", "--strict")
    assert strict.returncode == 68, strict.describe()
    assert LOG_OLD in strict.stderr and "Traceback" not in strict.stderr


def test_plugin_newer_than_the_knowledge_is_link_checked_and_pinned(world, tmp_path: Path) -> None:
    links, symbols = world
    house = house_with_symbols(tmp_path, symbols)
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house, "PIP_TFMAC_KNOWLEDGE_CUT": CUT})

    # Not asked for: pip's resolution picks the newest plugin the index has, 1.2.0, which the
    # cut knowledge does not list either; the pair is checked and the plan pins that plugin.
    result = plan(env, links, "tensorflow==2.17.1", "--find-links", str(links.parent / "plugin-1.2.0"))
    assert result.returncode == 0, result.describe()
    data = json.loads(result.stdout)
    (check,) = data["link_checks"]
    assert (check["tensorflow_metal"], check["state"]) == ("1.2.0", "link-checked")
    assert "tensorflow-metal==1.2.0" in data["requirements"]
    asked = json.loads(plan(env, links, "tensorflow==2.17.1", "tensorflow-metal==1.2.0", "--find-links",
                            str(links.parent / "plugin-1.2.0")).stdout)
    assert asked["link_checks"][0]["computed"] is False and "tensorflow-metal==1.2.0" in asked["requirements"]


def test_the_knowledge_own_verdicts_need_no_check(world, tmp_path: Path) -> None:
    """Without the cut, 2.17.1 with 1.1.0 is a verified pair: no link check, no fetch."""
    links, _ = world
    house = tmp_path / "wheelhouse"
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house})
    result = plan(env, links, "tensorflow==2.17.1")
    assert result.returncode == 0, result.describe()
    data = json.loads(result.stdout)
    assert data["link_checks"] == [] and "tensorflow-metal==1.1.0" in data["requirements"]
    assert not (house / "verdicts").exists()


def test_wheelhouse_info_counts_verdicts_and_verify_removes_a_damaged_one(world, tmp_path: Path) -> None:
    links, symbols = world
    house = house_with_symbols(tmp_path, symbols)
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house, "PIP_TFMAC_KNOWLEDGE_CUT": CUT})
    assert plan(env, links, "tensorflow==2.18.1").returncode == 0

    info = run([*tool_command(), "wheelhouse", "info", "--json"], env)
    assert json.loads(info.stdout)["link_verdicts"] == 1, info.describe()
    (verdict,) = (house / "verdicts").glob("*.json")
    body = json.loads(verdict.read_text())
    body["pair"]["state"] = "link-checked"  # an edit that would turn a broken pair into a GPU plan
    verdict.write_text(json.dumps(body))

    again = plan(env, links, "tensorflow==2.18.1")  # the damaged file is not believed
    assert json.loads(again.stdout)["link_checks"][0]["state"] == "link-broken"
    assert json.loads(again.stdout)["link_checks"][0]["computed"] is True

    verdict.write_text("{}")
    checked = run([*tool_command(), "wheelhouse", "verify", "--json"], env)
    kinds = [p["kind"] for p in json.loads(checked.stdout)["problems"]]
    assert "damaged-verdict" in kinds, checked.describe()
    assert not verdict.exists()


def test_a_bad_knowledge_cut_is_one_clear_error(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, {"PIP_TFMAC_KNOWLEDGE_CUT": "numpy<2"})
    result = run([*tool_command(), "plan", *MAC, "tensorflow"], env)
    assert result.returncode == 65 and "PIP_TFMAC_KNOWLEDGE_CUT" in result.stderr
    assert "Traceback" not in result.stderr
    assert os.environ.get("PIP_TFMAC_KNOWLEDGE_CUT") is None
