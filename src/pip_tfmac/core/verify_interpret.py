"""From a ProbeRun to a VerifyReport: classify what the probe saw (GPU used, no GPU, crash,
timeout...) and diagnose why, with the fix. Pure, so every status is tested with plain values.
"""

from __future__ import annotations

from typing import Any
from pip_tfmac.core.verify_report import STDERR_TAIL, CRASHED, Diagnosis, GPU, GPU_UNUSED, Gpu, IMPORT_FAILED, MachineFacts, MatmulRun, NO_GPU, PROBE_ERROR, ProbeRun, TIMEOUT, VerifyReport, WRONG_RESULT, opt_str


def interpret(python: str, run: ProbeRun, *, require_gpu: bool) -> VerifyReport:
    data = run.payload if run.payload is not None else run.so_far
    facts = (
        MachineFacts.from_probe(data["facts"], data.get("injected") or [])
        if isinstance(data.get("facts"), dict)
        else None
    )
    tf = data.get("tensorflow") or {}
    matmul = data.get("matmul") or {}
    gpu_run = MatmulRun.from_probe(matmul["gpu"]) if isinstance(matmul.get("gpu"), dict) else None
    cpu_run = MatmulRun.from_probe(matmul["cpu"]) if isinstance(matmul.get("cpu"), dict) else None
    gpus = tuple(
        Gpu(
            str(g.get("name", "")),
            str(g.get("device_type", "")),
            tuple(sorted((str(k), str(v)) for k, v in (g.get("details") or {}).items())),
        )
        for g in data.get("gpus") or ()
    )
    status, diagnosis = _classify(run, data, facts, gpus, gpu_run)
    import_seconds = data.get("import_seconds")
    return VerifyReport(
        python=python,
        status=status,
        require_gpu=require_gpu,
        diagnosis=diagnosis,
        facts=facts,
        tensorflow_version=opt_str(tf.get("version")),
        tensorflow_distributions=tuple(sorted((tf.get("distributions") or {}).items())),
        metal_version=opt_str(data.get("tensorflow_metal_version")),
        loaded_plugins=tuple(str(p) for p in data.get("loaded_plugins") or ()),
        gpus=gpus,
        matmul_size=matmul.get("size"),
        gpu_run=gpu_run,
        cpu_run=cpu_run,
        import_seconds=float(import_seconds) if import_seconds is not None else None,
        elapsed_seconds=run.elapsed,
        crash_stage=run.stage if run.payload is None else None,
        returncode=run.returncode,
        stderr_tail=run.stderr[-STDERR_TAIL:],
        import_error=_import_error_text(data.get("import_error")),
    )

def _import_error_text(err: object) -> str:
    if not isinstance(err, dict):
        return ""
    return f"{err.get('type', 'Error')}: {err.get('message', '')}"[:4000]

def _classify(
    run: ProbeRun,
    data: dict[str, Any],
    facts: MachineFacts | None,
    gpus: tuple[Gpu, ...],
    gpu_run: MatmulRun | None,
) -> tuple[str, Diagnosis | None]:
    py = run_hint_python(facts)
    if run.launch_error is not None:
        return PROBE_ERROR, Diagnosis(
            f"could not start the interpreter: {run.launch_error}",
            "check the path given with --python",
        )
    if run.timed_out:
        return TIMEOUT, Diagnosis(
            f"the probe did not finish within the time limit ({run.elapsed:.0f} s, "
            f"stage: {run.stage or 'start'})",
            "rerun with a longer --timeout; if it hangs again, run "
            f"`{py} -c 'import tensorflow'` to see where",
        )
    if run.payload is None:
        return CRASHED, _diagnose_crash(run, facts)
    if data.get("probe_error"):
        return PROBE_ERROR, Diagnosis(
            "the probe itself failed: " + str(data["probe_error"]).strip().splitlines()[-1],
            "report this as a pip-tfmac bug, with `pip-tfmac verify --json` attached",
        )
    if isinstance(data.get("import_error"), dict):
        return IMPORT_FAILED, _diagnose_import_error(data["import_error"], facts)
    if gpu_run is not None and gpu_run.on_gpu and gpu_run.checksum_ok is False:
        return WRONG_RESULT, Diagnosis(
            f"a {data.get('matmul', {}).get('size')}x matmul on {gpu_run.device_kind} returned a "
            "wrong result",
            "update macOS and the tensorflow-metal plugin; until then run on the CPU "
            "(`pip uninstall tensorflow-metal`)",
        )
    if gpu_run is not None and gpu_run.on_gpu:
        return GPU, None
    if gpus:
        where = (
            f"failed: {gpu_run.error}"
            if gpu_run is not None and gpu_run.error
            else f"ran on {gpu_run.device_kind if gpu_run else 'an unknown device'}"
        )
        return GPU_UNUSED, Diagnosis(
            f"TensorFlow lists {len(gpus)} GPU(s), but a matmul pinned to /GPU:0 {where}",
            "run `pip-tfmac doctor` for a mismatched tensorflow-metal or an unsupported macOS",
        )
    return NO_GPU, _diagnose_no_gpu(facts, data)

def run_hint_python(facts: MachineFacts | None) -> str:
    return facts.executable if facts and facts.executable else "python"

def _metal_hint(facts: MachineFacts | None) -> str:
    files = facts.plugin_files if facts else ()
    return f" with the Metal plugin {files[0]}" if files else ""

def _diagnose_crash(run: ProbeRun, facts: MachineFacts | None) -> Diagnosis:
    sig = run.signal_name
    how = f"was killed by {sig}" if sig else f"exited with status {run.returncode} and no report"
    where = {
        "import": "while importing TensorFlow",
        "devices": "while listing devices",
        "matmul-gpu": "while running a matmul on /GPU:0",
        "matmul-cpu": "while running a matmul on the CPU",
    }.get(run.stage or "", "before it could report")
    summary = f"the probe {how} {where}{_metal_hint(facts) if run.stage == 'import' else ''}"
    if sig == "SIGILL":
        if facts is not None and facts.rosetta:
            return Diagnosis(
                summary + ": this Python is x86_64 and runs under Rosetta, which lacks the AVX "
                "instructions TensorFlow's x86_64 build needs",
                "install an arm64 Python (python.org installer or an arm64 Miniforge), create a "
                "new venv with it, then `pip-tfmac install tensorflow` there",
            )
        return Diagnosis(
            summary + ": this TensorFlow build uses CPU instructions this machine lacks",
            "install a TensorFlow build for this CPU (on a Mac: an arm64 Python and "
            "`pip-tfmac install tensorflow`)",
        )
    if run.stage == "import" and facts is not None and facts.plugin_files:
        return Diagnosis(
            summary + ": usually a tensorflow-metal that was not built for this TensorFlow",
            "run `pip-tfmac doctor --fix` to pair tensorflow-metal with the installed "
            "TensorFlow, or `pip uninstall tensorflow-metal` to confirm the CPU build works",
        )
    if run.stage in ("matmul-gpu", "devices") and facts is not None and facts.plugin_files:
        return Diagnosis(
            summary + ": the Metal plugin loaded but failed on the GPU",
            "update macOS, then run `pip-tfmac doctor`; `pip uninstall tensorflow-metal` "
            "gets a working CPU-only TensorFlow meanwhile",
        )
    return Diagnosis(
        summary,
        "run `pip-tfmac doctor` for known causes (mixed tensorflow builds, foreign wheels, "
        "`pip check` conflicts)",
    )

_SYMBOL_ERRORS = ("symbol not found", "undefined symbol", "library not loaded", "image not found")

def _diagnose_import_error(err: dict[str, Any], facts: MachineFacts | None) -> Diagnosis:
    kind = str(err.get("type", "Error"))
    message = str(err.get("message", "")).strip()
    first = message.splitlines()[0] if message else ""
    lowered = message.lower()
    if kind == "ModuleNotFoundError" and "'tensorflow'" in message:
        exe = run_hint_python(facts)
        return Diagnosis(
            f"TensorFlow is not installed for {exe}",
            f"`pip-tfmac --python {exe} install tensorflow`",
        )
    if any(s in lowered for s in _SYMBOL_ERRORS) and (
        "metal" in lowered or "tensorflow-plugins" in lowered
    ):
        return Diagnosis(
            f"`import tensorflow` fails loading the Metal plugin ({kind}: {first[:300]}): "
            "the installed tensorflow-metal was not built for this TensorFlow",
            "run `pip-tfmac doctor --fix` to install the paired tensorflow-metal, or "
            "`pip uninstall tensorflow-metal` to run on the CPU",
        )
    if any(s in lowered for s in _SYMBOL_ERRORS):
        return Diagnosis(
            f"`import tensorflow` fails loading a native library ({kind}: {first[:300]})",
            "run `pip-tfmac doctor`: mixed tensorflow builds or wheels for another platform "
            "are the usual cause",
        )
    return Diagnosis(
        f"`import tensorflow` fails: {kind}: {first[:300]}",
        "run `pip-tfmac doctor` for known causes; the full traceback is in `verify --json`",
    )

def _diagnose_no_gpu(facts: MachineFacts | None, data: dict[str, Any]) -> Diagnosis:
    if facts is None:
        return Diagnosis("TensorFlow lists no GPU", "")
    if facts.is_macos and facts.rosetta:
        return Diagnosis(
            "no GPU: this Python is x86_64 under Rosetta, where the Metal plugin cannot run",
            "install an arm64 Python, create a new venv, and `pip-tfmac install tensorflow`",
        )
    if facts.is_macos and facts.apple_silicon:
        if not facts.plugin_files:
            return Diagnosis(
                "no GPU: the Metal plugin (tensorflow-metal) is not installed",
                f"`pip-tfmac --python {facts.executable} install tensorflow-metal` "
                "(pip-tfmac picks the release paired with your TensorFlow)",
            )
        if not data.get("loaded_plugins"):
            return Diagnosis(
                f"no GPU: the Metal plugin is installed ({facts.plugin_files[0]}) but TensorFlow "
                "did not load it",
                "run `pip-tfmac doctor`: TensorFlow loads plugins only when it is installed in "
                "site-packages of the same environment",
            )
        return Diagnosis(
            "no GPU: the Metal plugin loaded but registered no GPU device",
            "check macOS is 12.1 or later and not a virtual machine; `pip-tfmac doctor` "
            "checks the plugin pairing",
        )
    if facts.is_macos:
        return Diagnosis(
            "no GPU: TensorFlow's Metal plugin needs an Apple Silicon Mac; this Mac is Intel",
            "",
        )
    return Diagnosis(
        f"no GPU: TensorFlow runs on the CPU ({facts.sys_platform} {facts.machine}); "
        "pip-tfmac sets up GPU support on Apple Silicon Macs",
        "on Linux with an NVIDIA GPU, install `tensorflow[and-cuda]`",
    )
