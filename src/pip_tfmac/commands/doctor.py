"""`pip-tfmac doctor [--python PATH] [--json] [--fix [--dry-run]]` and `pip-tfmac repair`.

Exit 0 only when nothing is wrong, 71 when problems remain. `--fix` (and `repair`) prints
the plan of safe fixes first, names every package a step removes, runs the steps through pip,
then diagnoses again and reports what is left.
"""

from __future__ import annotations

import dataclasses
import sys

from pip_tfmac.commands import render_doctor
from pip_tfmac.core import doctor_model as doctor_fixes
from pip_tfmac.core import doctor_model
from pip_tfmac.flows import doctor
from pip_tfmac.commands.verify import parse, parser
from pip_tfmac.runners.interpreter import resolve_target_python


def run(args: list[str], index: int | None) -> int:
    command = args[index] if index is not None else "doctor"
    p = parser(command, "Diagnose a TensorFlow environment and say the fix for each problem.")
    p.add_argument("--fix", action="store_true", help="apply the safe fixes (plan shown first)")
    p.add_argument("--dry-run", action="store_true", help="with --fix: show the plan only")
    try:
        ns = parse(p, args, index)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    fix = ns.fix or command == "repair"
    python = resolve_target_python(["--python", ns.python] if ns.python else args)
    report = doctor.doctor(python, timeout=ns.timeout)
    if not fix or not doctor_fixes.plan_fixes(report.findings):
        if fix and not ns.json:
            print(render_doctor.render(report))
            print(render_doctor.render_plan(report.findings))
            return int(report.exit_code)
        return render_doctor.emit(report, as_json=ns.json)
    # With --json, stdout carries one JSON object at the end; the plan and pip's output go to
    # stderr. For people, everything goes to stdout in reading order.
    stream = sys.stderr if ns.json else sys.stdout
    if not ns.json:
        print(render_doctor.render(report))
    print(render_doctor.render_plan(report.findings), file=stream, flush=True)
    if ns.dry_run:
        if ns.json:
            return render_doctor.emit(dataclasses.replace(report, show_plan=True), as_json=True)
        print("(--dry-run: nothing was changed)")
        return int(report.exit_code)
    applied = doctor.apply_fixes(python, report.findings, out=stream)
    after = doctor.doctor(python, timeout=ns.timeout)
    final = doctor_model.DoctorReport(
        python, after.facts, after.findings, before=report.findings, applied=applied, show_plan=True
    )
    if not ns.json:
        print()
    return render_doctor.emit(final, as_json=ns.json)
