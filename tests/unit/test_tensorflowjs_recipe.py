"""The tensorflowjs recipe, offline: it parses, every fact says why and where from, its
Requires-Dist edits keep what the Keras/SavedModel converters import and leave out the rest, and
the planner applies it on every target it names, alone and beside each Model Maker recipe line."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from pip_tfmac import recipes
from pip_tfmac.core.plan import PlanOptions
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import plan_request
from pip_tfmac.core.target import cross_target
from pip_tfmac.knowledge import load
from pip_tfmac.wheelhouse.patching import parse_unified_diff, rewrite_requires

# Requires-Dist of the original tensorflowjs 4.22.0 wheel (its METADATA, read 2026-12-06).
ORIGINAL_REQUIRES = [
    "flax>=0.7.2",
    "importlib_resources>=5.9.0",
    "jax>=0.4.13",
    "jaxlib>=0.4.13",
    "tensorflow<3,>=2.13.0",
    "tf-keras>=2.13.0",
    "tensorflow-decision-forests>=1.5.0",
    "six<2,>=1.16.0",
    "tensorflow-hub>=0.16.1",
    "packaging~=23.1",
    "PyInquirer==1.0.3; extra == 'PyInquirer'",
]
CANDIDATE_TF = [f"2.{minor}.{patch}" for minor in range(12, 30) for patch in range(4)]
PLATFORM_TAGS = {
    "macos-arm64": "macos-arm64",
    "linux-x86_64": "manylinux2014_x86_64",
    "linux-aarch64": "manylinux2014_aarch64",
}


def _recipe():
    return recipes.get("tensorflowjs")


def _plan(texts: list[str], platform: str, python: str):
    target = cross_target([PLATFORM_TAGS[platform]], python)
    return plan_request(
        [Request(t) for t in texts], target, load(), PlanOptions(), recipes.load_all()
    )


def test_the_recipe_parses_and_names_the_exact_upstream_wheel() -> None:
    recipe = _recipe()
    assert recipe.id == "recipe:tensorflowjs@4.22.0+tfmac.1"
    assert recipe.requirement == "tensorflowjs==4.22.0+tfmac.1"
    assert recipe.filename == "tensorflowjs-4.22.0-py3-none-any.whl"
    assert len(recipe.sha256) == 64
    assert {t.platform for t in recipe.targets} == set(PLATFORM_TAGS)


def test_every_fact_has_a_reason_and_a_source() -> None:
    recipe = _recipe()
    facts = [*recipe.targets, *recipe.requirement_edits, *recipe.patches]
    assert facts
    for fact in facts:
        assert fact.reason.strip() and fact.source.strip(), fact
    for limitation in recipe.limitations:
        assert limitation.detail.strip() and limitation.source.strip()
    sources = " ".join(f.source for f in facts)
    assert "pypi.org" not in sources  # the index is written index:PROJECT


def test_requires_keep_the_converters_imports_and_leave_out_the_rest() -> None:
    out = rewrite_requires(ORIGINAL_REQUIRES, _recipe().requirement_edits)
    by_name = {canonicalize_name(Requirement(r).name): Requirement(r) for r in out}
    for gone in ("tensorflow-decision-forests", "jax", "jaxlib", "flax"):
        assert gone not in by_name
    for kept in ("tensorflow", "tf-keras", "six", "importlib-resources", "pyinquirer"):
        assert kept in by_name
    assert by_name["tensorflow-hub"].specifier.contains(
        "0.15.0"
    )  # the tflite-model-maker set's hub
    assert by_name["packaging"].specifier.contains("26.4")  # no downgrade of a venv's packaging
    assert not by_name["setuptools"].specifier.contains(
        "82.0.0"
    )  # tensorflow_hub needs pkg_resources


def test_patches_touch_only_the_two_imports_they_make_optional() -> None:
    recipe = _recipe()
    removed = []
    for patch in recipe.patches:
        for file_patch in parse_unified_diff(patch.text):
            for hunk in file_patch.hunks:
                removed += [line for line in hunk.old_lines if line not in hunk.new_lines]
    assert removed == [
        "import tensorflow_decision_forests",
        "from tensorflowjs.converters.jax_conversion import convert_jax",
    ]


@pytest.mark.parametrize("platform", sorted(PLATFORM_TAGS))
@pytest.mark.parametrize("python", ["3.9", "3.10", "3.11", "3.12", "3.13"])
def test_the_planner_applies_the_recipe_on_every_target(platform: str, python: str) -> None:
    recipe = _recipe()
    line = recipe.target(platform, python)
    assert line is not None
    plan = _plan(["tensorflowjs"], platform, python)
    assert not plan.errors, plan.errors
    assert plan.recipes == (recipe.id,)
    assert recipe.requirement in plan.requirements
    for requirement in line.requirements:
        assert requirement in plan.requirements


def test_a_python_outside_the_targets_is_refused_with_the_targets() -> None:
    plan = _plan(["tensorflowjs"], "linux-x86_64", "3.14")
    assert plan.errors
    assert "3.13" in plan.errors[0].message


def test_the_tensorflow_range_admits_every_model_maker_line() -> None:
    """Installed beside a Model Maker recipe line, tensorflowjs keeps that line's TensorFlow."""
    for name in ("tflite-model-maker", "mediapipe-model-maker"):
        for mm in recipes.lines(name):
            for target in mm.targets:
                recipe = _tfjs_line_for(mm, target.platform)
                for python in target.python:
                    ours = recipe.target(target.platform, python)
                    assert ours is not None, (mm.id, target.platform, python)
                    tf_range = _tensorflow_spec(ours.requirements)
                    pinned = _tensorflow_spec(target.requirements)
                    both = [v for v in CANDIDATE_TF if pinned.contains(v) and tf_range.contains(v)]
                    assert both, (mm.id, target.platform, python, str(pinned), str(tf_range))


def test_model_maker_and_tensorflowjs_plan_together() -> None:
    plan = _plan(["tflite-model-maker", "tensorflowjs"], "linux-x86_64", "3.11")
    assert not plan.errors, plan.errors
    # Linux 3.9-3.11 is the TF 2.13 searcher line: the tensorflowjs the user names is the one
    # the line pins (4.15.0, the TF 2.13 converter), applied once.
    linux_311 = next(r for r in recipes.lines("tflite-model-maker") if r.target("linux-x86_64", "3.11"))
    tfjs = _tfjs_line_for(linux_311, "linux-x86_64")
    assert tfjs.upstream_version == "4.15.0" and tfjs.dependency_only
    assert sorted(plan.recipes) == sorted([linux_311.id, tfjs.id])
    assert "tensorflow==2.13.1" in plan.requirements
    assert plan.requirements.count(tfjs.requirement) == 1 and _recipe().requirement not in plan.requirements
    # A pin that excludes the line's build is said up front (pip would refuse the pair).
    pinned = _plan(["tflite-model-maker", "tensorflowjs==4.22.0"], "linux-x86_64", "3.11")
    assert any("tensorflowjs==4.22.0 excludes 4.15.0" in w for w in pinned.warnings), pinned.warnings
    assert not any("excludes" in w for w in plan.warnings), plan.warnings


# ------------------------------------------------------------------ brought by tflite-model-maker
MODEL_MAKER_CASES = [
    (platform, python, line.id)
    for line in recipes.lines("tflite-model-maker")
    for target in line.targets
    for python in target.python
    for platform in [target.platform]
]


def test_every_model_maker_line_requires_the_patched_build_and_every_target_pins_it() -> None:
    for line in recipes.lines("tflite-model-maker"):
        recipe = _tfjs_line_for(line, line.targets[0].platform)
        edits = [e for e in line.requirement_edits if e.name == "tensorflowjs"]
        assert [(e.action, e.to) for e in edits] == [("relax", (recipe.requirement,))], line.id
        for target in line.targets:
            assert f"tensorflowjs=={recipe.upstream_version}" in target.requirements, (line.id, target.platform)
            for python in target.python:
                assert recipe.target(target.platform, python) is not None, (line.id, target.platform, python)
        # The advice a lone `pip install tensorflowjs` gives is gone (it moves TensorFlow).
        assert not any("tensorflowjs" in f"{x.feature} {x.detail}" for x in line.limitations), line.id
        patch = next(p.text for p in line.patches if "tensorflowjs-only-for-tfjs-export" in p.file)
        added = "".join(x for x in patch.splitlines(keepends=True) if x.startswith("+"))
        assert "pip-tfmac install tflite-model-maker" in added and "pip install tensorflowjs'" not in added


@pytest.mark.parametrize(("platform", "python", "line_id"), MODEL_MAKER_CASES)
def test_tflite_model_maker_alone_brings_the_patched_tensorflowjs(platform: str, python: str, line_id: str) -> None:
    plan = _plan(["tflite-model-maker"], platform, python)
    assert not plan.errors, plan.errors
    assert not any("excludes" in w or "tensorflowjs" in w for w in plan.warnings), plan.warnings
    tfjs = _tfjs_line_for(recipes.by_id(line_id), platform)
    # The TF 2.20 line also pins tensorflow-model-optimization through its dependency-only recipe.
    assert tuple(r for r in plan.recipes if "tensorflow-model-optimization" not in r) == (line_id, tfjs.id)
    assert tfjs.requirement in plan.requirements
    assert not any(r.startswith("tensorflowjs") and r != tfjs.requirement for r in plan.requirements)
    line = recipes.by_id(line_id).target(platform, python)
    assert line is not None
    tf = next(r for r in line.requirements if r.startswith("tensorflow=="))
    assert tf in plan.requirements  # the line's TensorFlow (tensorflowjs adds only a range)
    if platform == "macos-arm64" and tf < "tensorflow==2.19":
        assert any(r.startswith("tensorflow-metal==") for r in plan.requirements)


def test_the_converters_tf_keras_follows_each_lines_tensorflow_minor() -> None:
    """tensorflowjs requires tf-keras>=2.13.0; the newest tf-keras pins the newest TensorFlow, so
    each line names the tf-keras of its own minor (TF 2.15: beside keras 2.15, which stays tf.keras)."""
    for line in recipes.lines("tflite-model-maker"):
        for target in line.targets:
            tf = next(Requirement(r) for r in target.requirements if r.startswith("tensorflow=="))
            version = next(iter(tf.specifier)).version
            minor = ".".join(version.split(".")[:2])
            named = [Requirement(r) for r in target.requirements if r.startswith("tf-keras")]
            named += [Requirement(t) for e in line.requirement_edits if e.action == "add" for t in e.to
                      if t.startswith("tf-keras")]
            if _tfjs_line_for(line, target.platform).upstream_version == "4.15.0":
                # TF 2.13 (no tf-keras release exists for it): the converter uses tf.keras.
                assert not named and minor == "2.13", (line.id, named)
                continue
            assert named, (line.id, target.platform)
            for req in named:
                assert req.specifier.contains(f"{minor}.0") or req.specifier.contains(f"{minor}.1"), (line.id, str(req))
                major, mn = minor.split(".")
                assert not req.specifier.contains(f"{major}.{int(mn) + 1}.0"), (line.id, str(req))


def _tfjs_line_for(model_maker_line, platform: str):
    """The tensorflowjs recipe line a Model Maker line's pin takes (4.22.0; 4.15.0 on TF 2.13)."""
    target = next(t for t in model_maker_line.targets if t.platform == platform)
    pins = [Requirement(r) for r in target.requirements if Requirement(r).name == "tensorflowjs"]
    if not pins:
        return _recipe()
    return next(r for r in recipes.lines("tensorflowjs") if pins[0].specifier.contains(r.upstream_version))


def _tensorflow_spec(requirements: tuple[str, ...]) -> SpecifierSet:
    for text in requirements:
        req = Requirement(text)
        if canonicalize_name(req.name) == "tensorflow":
            return req.specifier
    raise AssertionError(f"no tensorflow in {requirements}")
