"""Rendering doctor's report and its --fix plan for people (text) and scripts (JSON).
"""

from __future__ import annotations

from pip_tfmac.commands._common import emit_report

import shlex
from collections.abc import Sequence
from pip_tfmac.core.doctor_model import installs, planned_steps
from pip_tfmac.core.doctor_model import DoctorReport, Finding


def render_plan(findings: Sequence[Finding]) -> str:
    steps = planned_steps(findings)
    if not steps:
        return "Nothing pip-tfmac can fix safely; the fixes above are for you to apply."
    lines = ["Plan (pip-tfmac --fix runs these, in order):"]
    for n, step in enumerate(steps, 1):
        lines.append(f"  {n}. pip {shlex.join(step.args)}   [{', '.join(step.finding_ids)}]")
        for removed in step.removes:
            again = next((i for i, s in enumerate(steps, 1) if i > n and installs(s, removed)), 0)
            lines.append(
                f"     this REMOVES {removed}"
                + (f" (step {again} installs it again)" if again else " (not reinstalled)")
            )
    return "\n".join(lines)

def render(report: DoctorReport) -> str:
    f = report.facts
    where = f.machine_line
    if f.injected:
        where += f" [injected: {', '.join(f.injected)}]"
    lines = [f"pip-tfmac doctor: {report.python} ({where})"]
    if report.before is not None:
        fixed = len([b for b in report.before if b.is_problem]) - len(report.problems)
        failed = [s for s in report.applied if s.returncode != 0]
        lines.append(
            f"  applied {len(report.applied)} pip step(s)"
            + (f", {len(failed)} failed" if failed else "")
            + f"; {max(fixed, 0)} problem(s) fewer"
        )
    for finding in report.findings:
        lines.append(f"  {finding.severity.upper():<8} {finding.id}: {finding.message}")
        if finding.fix:
            auto = "  [--fix applies this]" if finding.action and report.before is None else ""
            lines.append(f"  {'':<8} fix: {finding.fix}{auto}")
    if not report.problems:
        lines.append("No problems found.")
    else:
        lines.append(f"{len(report.problems)} problem(s) found.")
    return "\n".join(lines)

def emit(report: DoctorReport, *, as_json: bool) -> int:
    return emit_report(report, render, as_json=as_json)
