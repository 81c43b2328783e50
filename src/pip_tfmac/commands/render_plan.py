"""Rendering a resolved plan for people (text) and scripts (JSON)."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from pip_tfmac.flows.resolution import Resolved


def plan_text(resolved: Resolved) -> str:
    plan = resolved.plan
    lines = [f"pip-tfmac plan for {plan.target.describe}"]
    if not plan.intercepted:
        lines.append("  nothing to rewrite: this is a plain pip install")
    for action in plan.actions:
        arrow = f"{action.from_} -> {action.to}" if action.from_ else f"+ {action.to}"
        lines.append(f"  [{action.kind}] {arrow}")
        lines.append(f"      why: {action.reason}")
        lines.append(f"      source: {action.source}")
    for warning in plan.warnings:
        lines.append(f"  warning: {warning}")
    if resolved.link_checks:
        lines.append("pairs the knowledge does not judge, link-checked here:")
        lines += [f"  {note['text']}" for note in resolved.link_checks]
    lines.append("requirements handed to pip:")
    lines += [f"  {r}" for r in plan.requirements] or ["  (none)"]
    if plan.constraints:
        lines.append("constraints:")
        lines += [f"  {c}" for c in plan.constraints]
    if resolved.find_links:
        lines.append("find-links: " + " ".join(resolved.find_links))
    if resolved.result is not None:
        lines.append("pip's resolution:")
        lines += [f"  {ln}" for ln in resolved.result.summary().splitlines()]
    return "\n".join(lines) + "\n"


def plan_block(resolved: Resolved) -> str:
    """The short block `install` prints before pip starts: what the plan changes, and why, in a
    line each (the full plan, with sources and pip's resolution, is `--explain`/`plan`)."""
    plan = resolved.plan
    lines = [f"pip-tfmac: plan for {plan.target.describe}:"]
    for action in plan.actions:
        change = f"{action.from_} -> {action.to}" if action.from_ else f"+ {action.to}"
        lines.append(f"  {action.kind:<8} {change}")
    for warning in plan.warnings:
        lines.append(f"  warning: {warning}")
    if len(lines) == 1:
        lines.append("  (nothing to change: pip's own choice)")
    return "\n".join(lines) + "\n"


def print_plan(resolved: Resolved, *, as_json: bool, stream: TextIO = sys.stdout) -> None:
    if as_json:
        stream.write(json.dumps(resolved.to_json(), indent=2, sort_keys=False) + "\n")
    else:
        stream.write(plan_text(resolved))
    stream.flush()


def warnings_to_stderr(resolved: Resolved) -> None:
    for warning in resolved.plan.warnings:
        print(f"pip-tfmac: warning: {warning}", file=sys.stderr)


def error_json(exc: Any) -> str:
    return json.dumps({"version": 1, "error": exc.to_json()}, indent=2)
