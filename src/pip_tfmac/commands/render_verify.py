"""Rendering a VerifyReport for people (text) and scripts (JSON).
"""

from __future__ import annotations

from pip_tfmac.commands._common import emit_report

from pip_tfmac.errors import ExitCode
from pip_tfmac.core.selfheal import HealOutcome
from pip_tfmac.core.verify_report import CRASHED, GPU, IMPORT_FAILED, PROBE_ERROR, TIMEOUT, VerifyReport
from pip_tfmac.flows.verify import verify


def render(report: VerifyReport) -> str:
    """The short table people read after an install."""
    rows: list[tuple[str, str]] = [("Python", report.python)]
    facts = report.facts
    if facts is not None:
        where = facts.machine_line
        if facts.injected:
            where += f"  [injected: {', '.join(facts.injected)}]"
        rows.append(("Platform", where))
    if report.tensorflow_version:
        dists = ", ".join(f"{n} {v}" for n, v in report.tensorflow_distributions)
        rows.append(("TensorFlow", report.tensorflow_version + (f" ({dists})" if dists else "")))
    elif report.status == IMPORT_FAILED:
        rows.append(("TensorFlow", "does not import"))
    if facts is not None and (facts.is_macos or facts.plugin_files):
        if facts.plugin_files:
            if report.loaded_plugins:
                state = "loaded"
            elif report.tensorflow_version is None:
                state = "found (TensorFlow did not finish importing)"
            else:
                state = "found, not loaded"
            version = f"tensorflow-metal {report.metal_version}, " if report.metal_version else ""
            rows.append(("Metal plugin", f"{version}{state}"))
        else:
            rows.append(("Metal plugin", "not installed"))
    if report.status not in (CRASHED, TIMEOUT, PROBE_ERROR, IMPORT_FAILED):
        rows.append(("GPUs", ", ".join(g.name for g in report.gpus) or "none"))
    if report.gpu_run is not None:
        n = report.matmul_size
        run = report.gpu_run
        text = f"asked /GPU:0, ran on {run.device_kind or '?'}"
        if run.error:
            text = f"asked /GPU:0: {run.error[:120]}"
        elif run.median_ms is not None:
            text += f", {run.median_ms:.1f} ms"
            cpu = report.cpu_run
            if cpu is not None and cpu.median_ms is not None:
                text += f" (CPU {cpu.median_ms:.1f} ms)"
        rows.append((f"matmul {n}x{n}", text))
    rows.append(("Result", _headline(report)))
    if report.diagnosis is not None and report.diagnosis.fix:
        rows.append(("Fix", report.diagnosis.fix))
    width = max(len(k) for k, _ in rows)
    lines = ["pip-tfmac verify"]
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)

def render_heal(heal: HealOutcome) -> str:
    """The self-heal block printed after verify's table: what pip-tfmac did, and the CPU check."""
    lines = ["pip-tfmac self-heal", f"  {heal.message()}"]
    if heal.after is not None:
        lines.append(f"  After: {_headline(heal.after)}")
    lines.append(f"  Exit code {int(heal.exit_code)}")
    return "\n".join(lines)

def _headline(report: VerifyReport) -> str:
    if report.status == GPU:
        speed = ""
        g, c = report.gpu_run, report.cpu_run
        if g and c and g.median_ms and c.median_ms:
            speed = f", {c.median_ms / g.median_ms:.1f}x the CPU"
        return f"OK: TensorFlow runs on the GPU{speed}"
    summary = report.diagnosis.summary if report.diagnosis else report.status
    if report.exit_code == ExitCode.OK:
        return f"WARNING: {summary}"
    return f"FAILED ({int(report.exit_code)}): {summary}"

def emit(report: VerifyReport, *, as_json: bool) -> int:
    return emit_report(report, render, as_json=as_json)

def run_post_install(python: str, *, require_gpu: bool, as_json: bool, timeout: float) -> int:
    """Called by `install` after an install that touched TensorFlow; returns the exit code."""
    report = verify(python, require_gpu=require_gpu, timeout=timeout)
    return emit(report, as_json=as_json)
