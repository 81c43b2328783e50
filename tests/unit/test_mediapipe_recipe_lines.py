"""mediapipe-model-maker's recipe lines, planned offline (step 1, the shipped recipes and knowledge).

- 0.2.1.4 on TF 2.18.1 is the default line: macOS arm64 (GPU-paired) and Linux x86_64 for Python
  3.9-3.12, Linux aarch64 (Docker on Apple Silicon) for 3.10-3.12;
- Python 3.13 takes lines/tf220-py313.toml (TF 2.20.0, CPU-only on the Mac);
- each line pins a dependency that only a recipe makes work there (tf-keras 2.18.0 with the
  Python 3.12 seed fix; tensorflow-model-optimization 0.8.1 without its absl-py<2 pin), and those
  dependency-only recipes never apply to what the user names.
"""

from __future__ import annotations

from typing import Any

import pytest

from pip_tfmac import recipes
from pip_tfmac.core.plan import PlanOptions
from pip_tfmac.core.recipe_parse import parse
from pip_tfmac.core.recipes import RecipeError
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import plan_request
from pip_tfmac.core.target import cross_target
from pip_tfmac.knowledge import load

NAME = "mediapipe-model-maker"
DEFAULT = "recipe:mediapipe-model-maker@0.2.1.4+tfmac.1"
PY313 = "recipe:mediapipe-model-maker@0.2.1.4+tfmac.tf220.1"
TF_KERAS = "recipe:tf-keras@2.18.0+tfmac.1"
TFMOT = "recipe:tensorflow-model-optimization@0.8.1+tfmac.1"
PLATFORMS = {
    "macos-arm64": ["macos-arm64"],
    "linux-x86_64": ["manylinux2014_x86_64"],
    "linux-aarch64": ["manylinux2014_aarch64"],
}


def _plan(text: str, platform: str, python: str, options: PlanOptions = PlanOptions()):
    target = cross_target(PLATFORMS[platform], python)
    return plan_request([Request(text)], target, load(), options, recipes.load_all())


@pytest.mark.parametrize(
    ("platform", "python"),
    [(p, v) for p in ("macos-arm64", "linux-x86_64") for v in ("3.9", "3.10", "3.11", "3.12")]
    + [("linux-aarch64", v) for v in ("3.10", "3.11", "3.12")],
)
def test_default_line_is_0_2_1_4_on_tf_2_18(platform: str, python: str) -> None:
    plan = _plan(NAME, platform, python)
    assert not plan.errors, plan.errors
    assert plan.recipes == (DEFAULT, TF_KERAS)
    assert "mediapipe-model-maker==0.2.1.4+tfmac.1" in plan.requirements
    assert "tensorflow==2.18.1" in plan.requirements
    assert "tf-keras==2.18.0+tfmac.1" in plan.requirements
    assert ("tensorflow-metal==1.2.0" in plan.requirements) == (platform == "macos-arm64")


def test_macos_python_3_12_is_gpu_paired() -> None:
    plan = _plan(NAME, "macos-arm64", "3.12")
    assert plan.wants_gpu
    assert {"tensorflow==2.18.1", "tensorflow-metal==1.2.0"} <= set(plan.requirements)


def test_no_metal_leaves_the_plugin_out_but_keeps_the_line() -> None:
    plan = _plan(NAME, "macos-arm64", "3.12", PlanOptions(no_metal=True))
    assert plan.recipes[0] == DEFAULT
    assert not any(r.startswith("tensorflow-metal") for r in plan.requirements)


@pytest.mark.parametrize("platform", ["macos-arm64", "linux-x86_64"])
def test_python_3_13_takes_the_tf_2_20_line(platform: str) -> None:
    plan = _plan(NAME, platform, "3.13")
    assert not plan.errors, plan.errors
    assert plan.recipes == (PY313, TFMOT)
    assert "mediapipe-model-maker==0.2.1.4+tfmac.tf220.1" in plan.requirements
    assert "tensorflow==2.20.0" in plan.requirements
    assert "tensorflow-model-optimization==0.8.1+tfmac.1" in plan.requirements
    assert not any(r.startswith("tensorflow-metal") for r in plan.requirements)
    assert not any(r.startswith("tf-keras") for r in plan.requirements)  # the wheel's own pin


def test_python_3_13_line_disables_the_face_stylizer_and_says_so() -> None:
    plan = _plan(NAME, "linux-x86_64", "3.13")
    disabled = [a for a in plan.actions if a.kind == "disable"]
    assert [a.source for a in disabled] == [
        "patches/0003-mediapipe-0.10.30-image-and-no-face-stylizer.diff"
    ]
    assert "face_stylizer" in disabled[0].source + disabled[0].from_


@pytest.mark.parametrize(("platform", "python"), [("linux-aarch64", "3.9"), ("linux-aarch64", "3.13")])
def test_no_line_names_every_line_the_recipe_has(platform: str, python: str) -> None:
    plan = _plan(NAME, platform, python)
    assert plan.errors and plan.errors[0].kind == "NoConsistentSetError"
    message = plan.errors[0].message
    assert "linux-aarch64 with Python 3.10, 3.11, 3.12" in message
    assert "linux-x86_64 with Python 3.13" in message


def test_pinning_the_old_release_is_passed_to_pip_with_a_warning() -> None:
    plan = _plan("mediapipe-model-maker==0.2.1.3", "linux-x86_64", "3.11")
    assert not plan.recipes
    assert "mediapipe-model-maker==0.2.1.3" in plan.requirements
    assert any("excludes 0.2.1.4" in w for w in plan.warnings)


@pytest.mark.parametrize("text", ["tf-keras", "tf-keras==2.18.0", "tensorflow-model-optimization"])
@pytest.mark.parametrize("python", ["3.12", "3.13"])
def test_dependency_only_recipes_never_apply_to_what_the_user_names(text: str, python: str) -> None:
    plan = _plan(text, "linux-x86_64", python)
    assert not plan.recipes and not plan.errors
    assert not any(a.kind == "recipe" for a in plan.actions)


def test_dependency_recipes_cover_every_target_that_pins_them() -> None:
    """A line that pins tf-keras==2.18.0 on (platform, Python) needs the tf-keras recipe there."""
    deps = {r.name: r for r in recipes.load_all() if r.dependency_only}
    assert set(deps) == {"tf-keras", "tensorflow-model-optimization", "tensorflowjs"}  # 4.15.0, TF 2.13 line
    pinned = 0
    for line in recipes.lines(NAME):
        for target in line.targets:
            for text in target.requirements:
                name, _, version = text.partition("==")
                if name not in deps:
                    continue
                assert deps[name].upstream_version == version
                for python in target.python:
                    assert deps[name].target(target.platform, python) is not None, (name, python)
                    pinned += 1
    assert pinned == 11 + 2  # tf-keras on 4+4+3 (platform, Python); tfmot on 2


def test_lines_share_the_upstream_wheel_and_its_first_patches() -> None:
    default, py313 = recipes.lines(NAME)
    assert (default.filename, default.sha256) == (py313.filename, py313.sha256)
    assert [p.file for p in py313.patches][:2] == [p.file for p in default.patches][:2]
    assert default.check_imports == py313.check_imports


def _dependency_recipe(**package: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "package": {
            "name": "demo", "version": "1.0", "label": "tfmac.1", "filename": "demo-1.0-py3-none-any.whl",
            "sha256": "0" * 64, "source": "test", **package,
        },
        "target": [{"platform": "linux-x86_64", "python": ["3.12"], "requirements": [],
                    "reason": "r", "source": "s"}],
    }


def test_only_a_dependency_recipe_may_add_nothing_to_its_targets() -> None:
    recipe = parse(_dependency_recipe(dependency_only=True), path="recipes/demo/recipe.toml", read_patch=str)
    assert recipe.dependency_only and recipe.targets[0].requirements == ()
    with pytest.raises(RecipeError, match="must not be empty"):
        parse(_dependency_recipe(), path="recipes/demo/recipe.toml", read_patch=str)
    with pytest.raises(RecipeError, match="dependency_only must be true or false"):
        parse(_dependency_recipe(dependency_only="yes"), path="recipes/demo/recipe.toml", read_patch=str)
