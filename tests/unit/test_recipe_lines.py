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


def _two_lines():
    base = recipes.get("tflite-model-maker")
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
