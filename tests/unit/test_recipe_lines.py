"""Recipe lines: a project may carry several recipes (another upstream release, another
TensorFlow line for other Pythons). The planner takes the first line the request admits that
has a target line for the platform and Python; plans name the line by id, so the wheelhouse
builds that line's wheel."""

from __future__ import annotations

from dataclasses import replace

from pip_tfmac import recipes
from pip_tfmac.core.recipes import TargetLine
from pip_tfmac.core.requests import Request
from pip_tfmac.core.step1 import plan_request
from pip_tfmac.core.target import cross_target
from pip_tfmac.knowledge import load
from pip_tfmac.core.plan import PlanOptions


def _line_for(platform: str, python: str):
    """The shipped tflite-model-maker line that has a target for this platform and Python."""
    return next(r for r in recipes.lines("tflite-model-maker") if r.target(platform, python))


def _two_lines():
    base = _line_for("linux-x86_64", "3.11")
    newer = replace(
        base,
        label="tfmac.test2",
        targets=(TargetLine("linux-x86_64", ("3.12",), ("tensorflow==2.18.1",), "test line", "test"),),
    )
    return base, newer


def _plan(text: str, python: str, lines):
    target = cross_target(["manylinux2014_x86_64"], python)
    return plan_request([Request(text)], target, load(), PlanOptions(), lines)


def test_the_line_for_the_python_is_picked_and_named_by_id() -> None:
    base, newer = _two_lines()
    old = _plan("tflite-model-maker", "3.11", (base, newer))
    assert old.recipes == (base.id,)
    new = _plan("tflite-model-maker", "3.12", (base, newer))
    assert new.recipes == (newer.id,)
    assert "tflite-model-maker==0.4.3+tfmac.test2" in new.requirements
    assert "tensorflow==2.18.1" in new.requirements


def test_no_line_for_the_python_lists_every_line() -> None:
    base, newer = _two_lines()
    plan = _plan("tflite-model-maker", "3.13", (base, newer))
    assert plan.errors
    text = plan.errors[0].message
    assert "3.12" in text and "3.11" in text


def test_shipped_lines_have_unique_ids_and_resolve_by_id() -> None:
    every = recipes.load_all()
    assert len({r.id for r in every}) == len(every)
    for line in every:
        assert recipes.by_id(line.id) is line


# ------------------------------------------------------------------ what a line adds or pins
# A line's target may add or pin a project that has a recipe of its own (dependency-only or not,
# e.g. tflite-model-maker's lines and tensorflowjs): the planner applies that recipe too.


def _with_target_requirements(recipe, *extra: str):
    targets = tuple(replace(t, requirements=t.requirements + extra) for t in recipe.targets)
    return replace(recipe, targets=targets)


def _every_with(line):
    return [line if r.id == line.id else r for r in recipes.load_all()]


def test_a_project_a_line_adds_takes_its_recipe_once_even_when_the_user_names_it() -> None:
    tfjs = recipes.get("tensorflowjs")
    line = _with_target_requirements(_line_for("linux-x86_64", "3.12"), "tensorflowjs==4.22.0")
    target = cross_target(["manylinux2014_x86_64"], "3.12")
    for asked in (["tflite-model-maker"], ["tflite-model-maker", "tensorflowjs"], ["tensorflowjs", "tflite-model-maker"]):
        plan = plan_request([Request(t) for t in asked], target, load(), PlanOptions(), _every_with(line))
        assert not plan.errors and not plan.warnings, (asked, plan.errors, plan.warnings)
        assert sorted(plan.recipes) == sorted([line.id, tfjs.id]), asked
        assert plan.requirements.count(tfjs.requirement) == 1, plan.requirements
        assert len(plan.requirements) == len(set(plan.requirements)), plan.requirements
        assert [a.package for a in plan.actions if a.kind == "recipe"].count("tensorflowjs") == 1


def test_a_line_pin_no_recipe_patches_is_passed_on_without_a_warning() -> None:
    """tf-keras has a recipe for 2.18.0 only; a line's `tf-keras~=2.15.0` is that line's choice."""
    line = _with_target_requirements(_line_for("linux-x86_64", "3.11"), "tf-keras~=2.15.0")
    target = cross_target(["manylinux2014_x86_64"], "3.11")
    plan = plan_request([Request("tflite-model-maker")], target, load(), PlanOptions(), _every_with(line))
    assert "tf-keras~=2.15.0" in plan.requirements
    assert not plan.warnings and not plan.errors
    assert line.id in plan.recipes and recipes.get("tf-keras").id not in plan.recipes
    # What the user names still gets the warning.
    asked = plan_request([Request("tflite-model-maker==0.4.2")], target, load(), PlanOptions(), _every_with(line))
    assert any("excludes 0.4.3" in w for w in asked.warnings)


def test_a_recipe_reached_through_another_line_applies_at_any_depth() -> None:
    """Model Maker's line pins tensorflowjs; a tensorflowjs line that pins tf-keras==2.18.0 gets
    the tf-keras dependency recipe too (each one once)."""
    tfjs = _with_target_requirements(recipes.get("tensorflowjs"), "tf-keras==2.18.0")
    tflm = _with_target_requirements(_line_for("linux-x86_64", "3.12"), "tensorflowjs==4.22.0")
    every = [tfjs if r.id == tfjs.id else tflm if r.id == tflm.id else r for r in recipes.load_all()]
    target = cross_target(["manylinux2014_x86_64"], "3.12")
    plan = plan_request([Request("tflite-model-maker")], target, load(), PlanOptions(), every)
    keras = recipes.get("tf-keras")
    assert plan.recipes == (tflm.id, tfjs.id, keras.id), plan.recipes
    assert keras.requirement in plan.requirements and "tf-keras==2.18.0" not in plan.requirements
