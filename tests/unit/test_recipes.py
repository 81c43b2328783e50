"""The recipe loader: the shipped recipes are valid and sourced; malformed data is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pip_tfmac.core import recipe_parse
from pip_tfmac.core import recipes as recipe_model
from pip_tfmac import recipes
from pip_tfmac.errors import BadInputError
from pip_tfmac.core.recipes import RecipeError


def test_tflite_model_maker_recipe_is_shipped_and_found_by_any_spelling() -> None:
    assert "tflite-model-maker" in recipes.names()
    recipe = recipes.find("TFLite_Model.Maker")
    assert recipe is not None
    assert recipe.version == "0.4.3+tfmac.8"
    assert recipe.requirement == "tflite-model-maker==0.4.3+tfmac.8"
    assert recipe.id == "recipe:tflite-model-maker@0.4.3+tfmac.8"
    assert Version(recipe.version).local == "tfmac.8"


def test_unknown_project_has_no_recipe() -> None:
    assert recipes.find("numpy") is None
    with pytest.raises(BadInputError) as info:
        recipes.get("numpy")
    assert "tflite-model-maker" in info.value.remedy


def test_every_shipped_fact_has_a_reason_and_source() -> None:
    for recipe in recipes.load_all():
        assert recipe.source
        for item in (*recipe.targets, *recipe.requirement_edits, *recipe.patches, *recipe.prebuild):
            assert item.reason.strip() and item.source.strip(), item


def test_mac_line_and_linux_searcher_line_split_by_platform() -> None:
    """Linux x86_64 3.9-3.11 has a line of its own (scann and tflite-support kept), on TF 2.13:
    tflite-support's task library cannot load beside TensorFlow 2.14+; the Mac line is TF 2.15."""
    recipe = recipes.get("tflite-model-maker")
    mac = recipe.target("macos-arm64", "3.11")
    assert recipe.target("linux-x86_64", "3.11") is None
    searcher_line = recipes.lines("tflite-model-maker")[1]
    linux = searcher_line.target("linux-x86_64", "3.11")
    assert mac is not None and linux is not None
    tf_mac = [r for r in mac.requirements if Requirement(r).name == "tensorflow"]
    tf_linux = [r for r in linux.requirements if Requirement(r).name == "tensorflow"]
    assert tf_mac == ["tensorflow==2.15.1"] and tf_linux == ["tensorflow==2.13.1"]
    assert "tensorflow-metal==1.1.0" in mac.requirements
    assert not any("metal" in r for r in linux.requirements)
    assert recipe.target("macos-arm64", "3.13") is None
    assert recipe.target("windows-x86_64") is None
    assert recipe.requirements_for("macos-arm64", "3.9") == (
        "tflite-model-maker==0.4.3+tfmac.8",
        "tensorflow==2.15.1",
        "tensorflow-metal==1.1.0",
        "tensorflowjs==4.22.0",
        "tf-keras~=2.15.0",
    )
    assert recipe.requirements_for("macos-arm64", "3.12") is None  # lines/tf218.toml has 3.12


def test_patches_are_loaded_and_are_unified_diffs() -> None:
    recipe = recipes.get("tflite-model-maker")
    assert [p.file for p in recipe.patches] == sorted(p.file for p in recipe.patches)
    for patch in recipe.patches:
        assert patch.text.startswith("--- a/"), patch.file
        assert "\n+++ b/" in patch.text and "\n@@ -" in patch.text


def test_recipe_drops_what_has_no_arm64_wheel() -> None:
    recipe = recipes.get("tflite-model-maker")
    actions = {e.name: e.action for e in recipe.requirement_edits if e.name}
    assert actions["scann"] == "drop"
    assert actions["tflite-support"] == "replace"
    assert actions["tensorflowjs"] == "relax"  # to pip-tfmac's patched build
    assert [d.module for d in recipe.disabled] == ["tflite_model_maker.searcher"]
    assert [p.requirement for p in recipe.prebuild] == ["promise==2.3"]


def test_to_json_is_plain_json() -> None:
    recipe = recipes.get("tflite-model-maker")
    data = json.loads(json.dumps(recipe.to_json()))
    assert data["version"] == "0.4.3+tfmac.8"
    assert data["targets"][0]["platform"] == "macos-arm64"
    assert "text" not in data["patches"][0]  # the diff text stays out of plans


def _minimal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": 1,
        "package": {
            "name": "demo",
            "version": "1.0",
            "label": "tfmac.1",
            "filename": "demo-1.0-py3-none-any.whl",
            "sha256": "0" * 64,
            "source": "test",
        },
    }
    data.update(overrides)
    return data


def _parse(data: dict[str, Any]) -> recipe_model.Recipe:
    return recipe_parse.parse(data, path="recipes/demo/recipe.toml", read_patch=lambda rel: "diff")


def test_minimal_recipe_parses() -> None:
    recipe = _parse(_minimal())
    assert recipe.version == "1.0+tfmac.1"
    assert recipe.patches == () and recipe.check_imports == ()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_minimal(schema=2), "schema"),
        ({"schema": 1}, "[package]"),
        (_minimal(package={**_minimal()["package"], "version": "1.0+x"}), "local label"),
        (_minimal(package={**_minimal()["package"], "sha256": "abc"}), "sha256"),
        (
            _minimal(requirement=[{"action": "nuke", "name": "x", "reason": "r", "source": "s"}]),
            "nuke",
        ),
        (
            _minimal(
                requirement=[
                    {"action": "drop", "name": "x", "to": ["x"], "reason": "r", "source": "s"}
                ]
            ),
            "drop x",
        ),
        (
            _minimal(
                requirement=[
                    {"action": "relax", "name": "x", "to": ["y<2"], "reason": "r", "source": "s"}
                ]
            ),
            "relax x",
        ),
        (
            _minimal(
                requirement=[{"action": "replace", "name": "x", "reason": "r", "source": "s"}]
            ),
            "needs `to`",
        ),
        (
            _minimal(
                requirement=[{"action": "add", "to": ["x >>> 1"], "reason": "r", "source": "s"}]
            ),
            "not a requirement",
        ),
        (_minimal(requirement=[{"action": "drop", "name": "x", "reason": "r"}]), "source"),
        (
            _minimal(prebuild=[{"requirement": "promise>=2", "reason": "r", "source": "s"}]),
            "pinned",
        ),
        (
            _minimal(
                target=[
                    {
                        "platform": "macos-arm64",
                        "python": [],
                        "requirements": ["a"],
                        "reason": "r",
                        "source": "s",
                    }
                ]
            ),
            "python",
        ),
        (
            _minimal(
                standin=[
                    {
                        "name": "x",
                        "version": "1.0",
                        "modules": {"a": "b"},
                        "reason": "r",
                        "source": "s",
                    }
                ]
            ),
            "local label",
        ),
        (
            _minimal(
                standin=[
                    {
                        "name": "x",
                        "version": "1+t.1",
                        "modules": {"a-b": "c"},
                        "reason": "r",
                        "source": "s",
                    }
                ]
            ),
            "dotted",
        ),
    ],
)
def test_malformed_recipes_are_refused_with_file_and_field(data: dict[str, Any], says: str) -> None:
    with pytest.raises(RecipeError) as info:
        _parse(data)
    assert "recipes/demo/recipe.toml" in info.value.message
    assert says in info.value.message


@pytest.mark.parametrize("name", ["tflite-model-maker", "mediapipe-model-maker"])
def test_mac_line_is_a_verified_metal_pair_with_wheels_for_each_python(name: str) -> None:
    """The recipes' TensorFlow lines agree with the curated knowledge file (no second truth)."""
    from pip_tfmac import knowledge
    from pip_tfmac.core.knowledge import VERIFIED

    facts = knowledge.load()
    line = recipes.get(name).target("macos-arm64")
    assert line is not None
    pins = {Requirement(r).name: str(Requirement(r).specifier)[2:] for r in line.requirements}
    tf, metal = Version(pins["tensorflow"]), Version(pins["tensorflow-metal"])
    pair = facts.metal_state(tf, metal)
    assert pair is not None and pair.state == VERIFIED, (tf, metal, pair)
    for python in line.python:
        assert tf in (facts.arm64_versions("tensorflow", python) or ()), python
        assert metal in (facts.arm64_versions("tensorflow-metal", python) or ()), python


def test_mediapipe_recipe_uses_the_gpu_paired_tf_218_line() -> None:
    recipe = recipes.get("mediapipe-model-maker")
    assert recipe.version == "0.2.1.4+tfmac.1"
    for python in ("3.11", "3.12"):
        mac = recipe.target("macos-arm64", python)
        assert mac is not None and mac.requirements[:2] == ("tensorflow==2.18.1", "tensorflow-metal==1.2.0")
    actions = {e.name: e.action for e in recipe.requirement_edits if e.name}
    assert actions["tensorflow-addons"] == "drop"
    added = [t for e in recipe.requirement_edits if e.action == "add" for t in e.to]
    assert any(t.startswith("tf-keras") for t in added)
