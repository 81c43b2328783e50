"""What the GPU probe found, as values: machine facts, GPUs, the pinned matmul, a diagnosis, the
report with its status and exit code, and the raw ProbeRun a runner hands back. No I/O.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any
from pip_tfmac.core.errors import ExitCode


DEFAULT_TIMEOUT = 180.0  # a first `import tensorflow` on a cold macOS disk can take a minute

STAGE_PREFIX = "pip-tfmac-probe: "

SCHEMA = 1
STDERR_TAIL = 3000

# Report states. GPU_* and NO_GPU are measurements; the rest mean the probe could not finish.
GPU = "gpu"  # a matmul pinned to /GPU:0 ran on a GPU and gave the right answer

NO_GPU = "no-gpu"  # TensorFlow works, lists no GPU

GPU_UNUSED = "gpu-unused"  # a GPU is listed, but the pinned matmul ran elsewhere or failed

WRONG_RESULT = "wrong-result"  # the GPU matmul returned a wrong checksum

IMPORT_FAILED = "import-failed"

CRASHED = "crashed"

TIMEOUT = "timeout"

PROBE_ERROR = "probe-error"

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
            macos_version=opt_str(facts.get("macos_version")),
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
    def machine_line(self) -> str:
        """`linux x86_64, Python 3.11` (+ macOS version, Rosetta): how reports name the machine."""
        where = f"{self.sys_platform} {self.machine}, Python {self.python_version}"
        if self.macos_version:
            where += f", macOS {self.macos_version}"
        if self.rosetta:
            where += " (Rosetta)"
        return where

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
            ran_on=opt_str(data.get("ran_on")),
            median_ms=float(median) if median is not None else None,
            checksum_ok=_opt_bool(data.get("checksum_ok")),
            error=opt_str(data.get("error")),
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
    import_error: str = ""  # "Type: message" when `import tensorflow` raised (self-heal reads it)

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

def opt_str(value: object) -> str | None:
    return None if value is None else str(value)

def _opt_bool(value: object) -> bool | None:
    return None if value is None else bool(value)

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
