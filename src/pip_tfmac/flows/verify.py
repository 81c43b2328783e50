"""Does TensorFlow really use the GPU? Run the probe in the target interpreter and say.

The probe (_probe.py) runs in a subprocess with a time limit because importing TensorFlow can
kill the process: a mismatched Metal plugin ("Symbol not found"), an x86_64 build under
Rosetta ("illegal instruction"), a segfault in a native extension. Each of those ends here as a
VerifyReport with a diagnosis and a fix, never as a crash of pip-tfmac.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pip_tfmac.errors import ExitCode

PROBE_SCRIPT = Path(__file__).parent.parent / "runners" / "_probe.py"
DEFAULT_TIMEOUT = 180.0  # a first `import tensorflow` on a cold macOS disk can take a minute
STAGE_PREFIX = "pip-tfmac-probe: "
STDERR_TAIL = 3000
SCHEMA = 1

# Report states. GPU_* and NO_GPU are measurements; the rest mean the probe could not finish.
GPU = "gpu"  # a matmul pinned to /GPU:0 ran on a GPU and gave the right answer
NO_GPU = "no-gpu"  # TensorFlow works, lists no GPU
GPU_UNUSED = "gpu-unused"  # a GPU is listed, but the pinned matmul ran elsewhere or failed
WRONG_RESULT = "wrong-result"  # the GPU matmul returned a wrong checksum
IMPORT_FAILED = "import-failed"
CRASHED = "crashed"
TIMEOUT = "timeout"
PROBE_ERROR = "probe-error"


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class MachineFacts:
    """What the target interpreter reports about its machine (or what a test injected)."""

    sys_platform: str
    machine: str
    python_version: str
    executable: str
    macos_version: str | None = None
    rosetta: bool | None = None
    arm64_hardware: bool | None = None
    implementation: str = "cpython"
    prefix: str = ""
    conda: bool = False
    conda_packages: tuple[str, ...] = ()
    site_packages: tuple[str, ...] = ()
    plugin_files: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    injected: tuple[str, ...] = ()

    @classmethod
    def from_probe(cls, facts: dict[str, Any], injected: list[str]) -> MachineFacts:
        return cls(
            sys_platform=str(facts.get("sys_platform", "")),
            machine=str(facts.get("machine", "")),
            python_version=str(facts.get("python_version", "")),
            executable=str(facts.get("executable", "")),
            macos_version=_opt_str(facts.get("macos_version")),
            rosetta=_opt_bool(facts.get("rosetta")),
            arm64_hardware=_opt_bool(facts.get("arm64_hardware")),
            implementation=str(facts.get("implementation", "cpython")),
            prefix=str(facts.get("prefix", "")),
            conda=bool(facts.get("conda", False)),
            conda_packages=tuple(str(p) for p in facts.get("conda_packages") or ()),
            site_packages=tuple(str(p) for p in facts.get("site_packages") or ()),
            plugin_files=tuple(str(p) for p in facts.get("plugin_files") or ()),
            env=tuple(sorted((str(k), str(v)) for k, v in (facts.get("env") or {}).items())),
            injected=tuple(str(k) for k in injected),
        )

    @property
    def is_macos(self) -> bool:
        return self.sys_platform == "darwin"

    @property
    def apple_silicon(self) -> bool:
        """An Apple Silicon Mac, even when this Python runs translated by Rosetta."""
        return self.is_macos and (
            self.machine == "arm64" or bool(self.arm64_hardware) or bool(self.rosetta)
        )

    @property
    def python_minor(self) -> str:
        return ".".join(self.python_version.split(".")[:2])

    def getenv(self, key: str) -> str | None:
        return dict(self.env).get(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "sys_platform": self.sys_platform,
            "machine": self.machine,
            "macos_version": self.macos_version,
            "rosetta": self.rosetta,
            "arm64_hardware": self.arm64_hardware,
            "python_version": self.python_version,
            "implementation": self.implementation,
            "executable": self.executable,
            "prefix": self.prefix,
            "conda": self.conda,
            "plugin_files": list(self.plugin_files),
            "injected": list(self.injected),
        }


@dataclass(frozen=True)
class Gpu:
    name: str
    device_type: str
    details: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "device_type": self.device_type, "details": dict(self.details)}


@dataclass(frozen=True)
class MatmulRun:
    """One timed matmul: the device asked for and the one TensorFlow says it used."""

    requested: str
    ran_on: str | None = None
    median_ms: float | None = None
    checksum_ok: bool | None = None
    error: str | None = None

    @property
    def device_kind(self) -> str | None:
        """'GPU:0' from '/job:localhost/replica:0/task:0/device:GPU:0'."""
        if not self.ran_on:
            return None
        return self.ran_on.rsplit("device:", 1)[-1]

    @property
    def on_gpu(self) -> bool:
        return bool(self.device_kind and self.device_kind.upper().startswith("GPU"))

    @classmethod
    def from_probe(cls, data: dict[str, Any]) -> MatmulRun:
        median = data.get("median_ms")
        return cls(
            requested=str(data.get("requested", "")),
            ran_on=_opt_str(data.get("ran_on")),
            median_ms=float(median) if median is not None else None,
            checksum_ok=_opt_bool(data.get("checksum_ok")),
            error=_opt_str(data.get("error")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "ran_on": self.ran_on,
            "median_ms": self.median_ms,
            "checksum_ok": self.checksum_ok,
            "error": self.error,
        }


@dataclass(frozen=True)
class Diagnosis:
    """Why the result is what it is, and the one thing to do about it."""

    summary: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"summary": self.summary, "fix": self.fix}


@dataclass(frozen=True)
class VerifyReport:
    python: str
    status: str
    require_gpu: bool
    diagnosis: Diagnosis | None
    facts: MachineFacts | None = None
    tensorflow_version: str | None = None
    tensorflow_distributions: tuple[tuple[str, str], ...] = ()
    metal_version: str | None = None
    loaded_plugins: tuple[str, ...] = ()
    gpus: tuple[Gpu, ...] = ()
    matmul_size: int | None = None
    gpu_run: MatmulRun | None = None
    cpu_run: MatmulRun | None = None
    import_seconds: float | None = None
    elapsed_seconds: float = 0.0
    crash_stage: str | None = None
    returncode: int | None = None
    stderr_tail: str = field(default="", repr=False)

    @property
    def exit_code(self) -> ExitCode:
        if self.status == GPU:
            return ExitCode.OK
        if self.status in (NO_GPU, GPU_UNUSED):
            return ExitCode.NO_GPU if self.require_gpu else ExitCode.OK
        return ExitCode.VERIFY_FAILED

    @property
    def plugin_found(self) -> bool:
        return bool(self.facts and self.facts.plugin_files)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA,
            "python": self.python,
            "status": self.status,
            "ok": self.exit_code == ExitCode.OK,
            "exit_code": int(self.exit_code),
            "require_gpu": self.require_gpu,
            "tensorflow": {
                "version": self.tensorflow_version,
                "distributions": dict(self.tensorflow_distributions),
                "import_seconds": self.import_seconds,
            },
            "gpus": [g.to_json() for g in self.gpus],
            "metal": {
                "plugin_files": list(self.facts.plugin_files) if self.facts else [],
                "loaded": list(self.loaded_plugins),
                "tensorflow_metal_version": self.metal_version,
            },
            "matmul": {
                "size": self.matmul_size,
                "gpu": self.gpu_run.to_json() if self.gpu_run else None,
                "cpu": self.cpu_run.to_json() if self.cpu_run else None,
            },
            "facts": self.facts.to_json() if self.facts else None,
            "diagnosis": self.diagnosis.to_json() if self.diagnosis else None,
            "crash": {
                "stage": self.crash_stage,
                "returncode": self.returncode,
                "stderr_tail": self.stderr_tail,
            }
            if self.status in (CRASHED, TIMEOUT, PROBE_ERROR)
            else None,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_bool(value: object) -> bool | None:
    return None if value is None else bool(value)


# --------------------------------------------------------------------------------------------
# Running the probe


@dataclass(frozen=True)
class ProbeRun:
    """The raw outcome of one probe subprocess, before interpretation."""

    returncode: int | None
    payload: dict[str, Any] | None
    stage: str | None
    so_far: dict[str, Any]
    stderr: str
    timed_out: bool
    elapsed: float
    launch_error: str | None = None

    @property
    def signal_name(self) -> str | None:
        if self.returncode is None or self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


def run_probe(
    python: str,
    mode: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict[str, str] | None = None,
    size: int = 1024,
    repeats: int = 5,
) -> ProbeRun:
    """Run _probe.py in `python` (isolated mode: no cwd or PYTHONPATH shadowing) and collect.

    The child gets its own process group so a timeout kills whatever TensorFlow started too.
    """
    argv = [python, "-I", *_probe_source(), mode, str(size), str(repeats)]
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=(os.name == "posix"),
        )
    except OSError as exc:
        return ProbeRun(None, None, None, {}, "", False, 0.0, launch_error=str(exc))
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a grandchild that left the group holds the pipes
            out, err = b"", b""
    elapsed = time.monotonic() - start
    stderr = err.decode("utf-8", "replace")
    stage, so_far, rest = _read_stages(stderr)
    payload = None if timed_out else _parse_payload(out.decode("utf-8", "replace"))
    return ProbeRun(proc.returncode, payload, stage, so_far, rest, timed_out, elapsed)


def _probe_source() -> list[str]:
    """The probe as a file when pip-tfmac is installed as files, else its text for `-c`
    (a zipped install has no file path another interpreter could open)."""
    if PROBE_SCRIPT.is_file():
        return [str(PROBE_SCRIPT)]
    from importlib import resources

    return ["-c", resources.files("pip_tfmac").joinpath("runners").joinpath("_probe.py").read_text("utf-8")]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _read_stages(stderr: str) -> tuple[str | None, dict[str, Any], str]:
    """Split our stage markers from the rest of stderr; the last marker tells where we died."""
    stage: str | None = None
    so_far: dict[str, Any] = {}
    rest: list[str] = []
    for line in stderr.splitlines():
        if line.startswith(STAGE_PREFIX):
            try:
                marker = json.loads(line[len(STAGE_PREFIX) :])
            except ValueError:
                continue
            stage = marker.get("stage")
            if marker.get("so_far"):
                so_far = marker["so_far"]
        else:
            rest.append(line)
    return stage, so_far, "\n".join(rest)


def _parse_payload(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("schema") == SCHEMA:
            return data
    return None


# --------------------------------------------------------------------------------------------
# Interpretation


def verify(
    python: str, *, require_gpu: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> VerifyReport:
    """Probe `python` and turn whatever happened into a report (never raises for a bad env)."""
    run = run_probe(python, "verify", timeout=timeout)
    return interpret(python, run, require_gpu=require_gpu)


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
        tensorflow_version=_opt_str(tf.get("version")),
        tensorflow_distributions=tuple(sorted((tf.get("distributions") or {}).items())),
        metal_version=_opt_str(data.get("tensorflow_metal_version")),
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
    )


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


# --------------------------------------------------------------------------------------------
# Rendering


def render(report: VerifyReport) -> str:
    """The short table people read after an install."""
    rows: list[tuple[str, str]] = [("Python", report.python)]
    facts = report.facts
    if facts is not None:
        where = f"{facts.sys_platform} {facts.machine}, Python {facts.python_version}"
        if facts.macos_version:
            where += f", macOS {facts.macos_version}"
        if facts.rosetta:
            where += " (Rosetta)"
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
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render(report))
    sys.stdout.flush()
    return int(report.exit_code)


def run_post_install(python: str, *, require_gpu: bool, as_json: bool, timeout: float) -> int:
    """Called by `install` after an install that touched TensorFlow; returns the exit code."""
    report = verify(python, require_gpu=require_gpu, timeout=timeout)
    return emit(report, as_json=as_json)
