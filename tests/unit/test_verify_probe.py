"""The GPU probe run for real in a subprocess, against a stand-in `tensorflow` package.

No Apple GPU exists on the machines that run this suite, so GPU-present paths use FAKE_TF
below, installed into the site-packages of a throwaway venv (the probe runs with `python -I`,
which ignores PYTHONPATH, exactly as it does for users). macOS facts are injected through
PIP_TFMAC_PROBE_FACTS, the one seam the probe documents. Everything else is real: the
subprocess, the signals, the time limit, importlib.metadata, the plugin directory scan and,
on Linux, the /proc/self/maps check of which plugin libraries got loaded.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import pytest

from pip_tfmac.commands import render_verify
from pip_tfmac.core import verify_interpret
from pip_tfmac.core import verify_report
from pip_tfmac.flows import verify
from pip_tfmac.runners import probe_tf
from pip_tfmac.errors import ExitCode

FAKE_TF = '''\
"""A stand-in for TensorFlow on an Apple Silicon Mac with a Metal GPU, which cannot exist on
the Linux machines that run pip-tfmac's tests. It imitates ONLY the calls pip-tfmac's probe
makes (tf.__version__, tf.config.list_physical_devices, tf.config.experimental.
get_device_details, tf.device, tf.ones, tf.matmul, tf.reduce_sum, Tensor.device), and its
behaviour is set by fake_config.json beside it: how many GPUs, whether ops pinned to a GPU
really land there, wrong results, and the ways a real import dies ("symbol-if-plugin": dyld's
"Symbol not found" only while a libmetal_plugin.dylib is installed, as a mismatched plugin does).
"""
import contextlib, ctypes, json, os, signal, sys, time, types

_here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_here, "fake_config.json")) as _f:
    _cfg = json.load(_f)

_crash = _cfg.get("crash_at_import")
if _crash == "segv":
    os.kill(os.getpid(), signal.SIGSEGV)
elif _crash == "ill":
    os.kill(os.getpid(), signal.SIGILL)
elif _crash == "hang":
    time.sleep(600)
elif _crash == "stdout-noise":
    print("{not json} noise a native library printed on stdout")
elif _crash == "symbol" or (_crash == "symbol-if-plugin" and os.path.exists(
        os.path.join(_here, "..", "tensorflow-plugins", "libmetal_plugin.dylib"))):
    class NotFoundError(Exception):
        pass
    NotFoundError.__module__ = "tensorflow.python.framework.errors_impl"
    _lib = os.path.join(_here, "..", "tensorflow-plugins", "libmetal_plugin.dylib")
    raise NotFoundError(
        "dlopen(%s, 0x0006): Symbol not found: __ZN3tsl8internal10LogMessageC1EPKci\\n"
        "  Referenced from: <3F8A> %s\\n  Expected in: <9B2C> _pywrap_tensorflow_internal.so"
        % (_lib, _lib)
    )

# Like TensorFlow's __init__: load every library in site-packages/tensorflow-plugins/.
_plugins = os.path.join(os.path.dirname(_here), "tensorflow-plugins")
if os.path.isdir(_plugins) and _cfg.get("load_plugins", True):
    for _name in sorted(os.listdir(_plugins)):
        ctypes.CDLL(os.path.join(_plugins, _name))

__version__ = _cfg.get("version", "2.15.1")
_GPUS = int(_cfg.get("gpus", 0))
_stack = ["CPU:0"]


class PhysicalDevice:
    def __init__(self, name, device_type):
        self.name, self.device_type = name, device_type


def list_physical_devices(device_type=None):
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    devices += [PhysicalDevice("/physical_device:GPU:%d" % i, "GPU") for i in range(_GPUS)]
    return [d for d in devices if device_type is None or d.device_type == device_type]


def get_device_details(device):
    return {"device_name": "METAL"} if device.device_type == "GPU" else {}


config = types.SimpleNamespace(
    list_physical_devices=list_physical_devices,
    experimental=types.SimpleNamespace(get_device_details=get_device_details),
)


@contextlib.contextmanager
def device(name):
    kind = name.split(":")[0].strip("/").upper()
    if kind == "GPU" and (_GPUS == 0 or not _cfg.get("gpu_ops_run_on_gpu", True)):
        placed = "CPU:0"  # soft device placement, as TensorFlow does
    else:
        placed = name.strip("/").upper()
    _stack.append(placed)
    try:
        yield
    finally:
        _stack.pop()


class Tensor:
    def __init__(self, value, n):
        self.value, self.n = value, n
        self.device = "/job:localhost/replica:0/task:0/device:" + _stack[-1]

    def __float__(self):
        return float(self.value)


def ones(shape):
    return Tensor(1.0, shape[0])


def matmul(a, b):
    if _stack[-1].startswith("GPU") and _cfg.get("crash_in_gpu_matmul"):
        os.kill(os.getpid(), signal.SIGSEGV)
    value = a.value * b.value * a.n
    if _stack[-1].startswith("GPU") and _cfg.get("wrong_gpu_result"):
        value += 1.0
    return Tensor(value, a.n)


def reduce_sum(t):
    return Tensor(t.value * t.n * t.n, 1)
'''

MAC = {
    "sys_platform": "darwin",
    "machine": "arm64",
    "macos_version": "14.5",
    "rosetta": False,
    "arm64_hardware": True,
}


def _site_packages(env_dir: Path) -> Path:
    purelib = sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    return Path(purelib)


def make_env(
    tmp_path: Path,
    config: dict[str, object] | None = None,
    *,
    metal: str | None = None,
    with_tf: bool = True,
) -> Path:
    """A venv (no pip: fast) holding FAKE_TF and, with `metal`, a tensorflow-metal install:
    its dist-info and a real shared library named libmetal_plugin.dylib in tensorflow-plugins/
    (a copy of a small CPython extension, so loading it really maps it into the process)."""
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    site = _site_packages(env_dir)
    if with_tf:
        (site / "tensorflow").mkdir()
        (site / "tensorflow" / "__init__.py").write_text(FAKE_TF)
        (site / "tensorflow" / "fake_config.json").write_text(json.dumps(config or {}))
    if metal:
        import _bisect  # any small real shared library will do

        plugins = site / "tensorflow-plugins"
        plugins.mkdir()
        shutil.copy(_bisect.__file__, plugins / "libmetal_plugin.dylib")
        info = site / f"tensorflow_metal-{metal}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: tensorflow-metal\nVersion: {metal}\n"
        )
    py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return py


@pytest.fixture
def inject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Inject machine facts the way the probe documents (PIP_TFMAC_PROBE_FACTS)."""

    def _inject(facts: dict[str, object]) -> None:
        path = tmp_path / "facts.json"
        path.write_text(json.dumps(facts))
        monkeypatch.setenv("PIP_TFMAC_PROBE_FACTS", str(path))

    return _inject


needs_proc_maps = pytest.mark.skipif(
    not os.path.exists("/proc/self/maps"), reason="loaded-library check reads /proc/self/maps"
)


def test_probe_uses_only_the_standard_library_and_tensorflow() -> None:
    source = Path(probe_tf.PROBE_SCRIPT).read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    stdlib = getattr(sys, "stdlib_module_names", None)
    if stdlib is None:
        pytest.skip("sys.stdlib_module_names needs Python 3.10+")
    allowed = set(stdlib) | {"tensorflow", "__future__"}
    assert imported - allowed == set()


def test_facts_mode_reports_this_machine_without_importing_tensorflow(tmp_path: Path) -> None:
    py = make_env(tmp_path, {"crash_at_import": "segv"})  # importing TF here would kill it
    run = probe_tf.run_probe(str(py), "facts", timeout=60)
    assert run.returncode == 0 and run.payload is not None
    facts = run.payload["facts"]
    assert facts["sys_platform"] == sys.platform
    assert facts["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert run.payload["injected"] == []
    names = {d["name"] for d in run.payload["distributions"]}
    assert "pip" not in names  # a fresh venv without pip: only what we put there


def test_injected_facts_replace_measured_ones_and_are_labelled(tmp_path: Path, inject) -> None:
    inject({**MAC, "not_a_fact": 1})
    py = make_env(tmp_path)
    run = probe_tf.run_probe(str(py), "facts", timeout=60)
    assert run.payload is not None
    facts = verify_report.MachineFacts.from_probe(run.payload["facts"], run.payload["injected"])
    assert (facts.sys_platform, facts.machine, facts.macos_version) == ("darwin", "arm64", "14.5")
    assert facts.apple_silicon and not facts.rosetta
    assert set(facts.injected) == set(MAC)  # unknown keys are not facts and are ignored


@needs_proc_maps
def test_gpu_present_matmul_runs_on_the_gpu_and_plugin_is_seen_loaded(
    tmp_path: Path, inject
) -> None:
    """Stands in for an Apple Silicon Mac with tensorflow-metal 1.1.0 and TF 2.15.1."""
    inject(MAC)
    py = make_env(tmp_path, {"gpus": 1}, metal="1.1.0")
    report = verify.verify(str(py), require_gpu=True, timeout=60)
    assert report.status == verify_report.GPU, report.diagnosis
    assert report.exit_code == ExitCode.OK
    assert report.tensorflow_version == "2.15.1"
    assert report.metal_version == "1.1.0"
    assert [g.name for g in report.gpus] == ["/physical_device:GPU:0"]
    assert dict(report.gpus[0].details) == {"device_name": "METAL"}
    assert report.gpu_run is not None and report.gpu_run.device_kind == "GPU:0"
    assert report.gpu_run.checksum_ok is True
    assert report.cpu_run is not None and report.cpu_run.device_kind == "CPU:0"
    # The plugin was found on disk AND mapped into the process (read from /proc/self/maps).
    assert report.facts is not None
    assert [Path(p).name for p in report.facts.plugin_files] == ["libmetal_plugin.dylib"]
    assert [Path(p).name for p in report.loaded_plugins] == ["libmetal_plugin.dylib"]
    text = render_verify.render(report)
    assert "OK: TensorFlow runs on the GPU" in text
    assert "tensorflow-metal 1.1.0, loaded" in text


@needs_proc_maps
def test_plugin_on_disk_but_not_loaded_is_told_apart(tmp_path: Path, inject) -> None:
    """Stands in for a Mac where TensorFlow skipped site-packages/tensorflow-plugins."""
    inject(MAC)
    py = make_env(tmp_path, {"gpus": 0, "load_plugins": False}, metal="1.1.0")
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.NO_GPU
    assert report.loaded_plugins == ()
    assert report.diagnosis is not None and "did not load it" in report.diagnosis.summary


def test_device_is_read_back_not_assumed(tmp_path: Path, inject) -> None:
    """Stands in for a Mac whose GPU is listed but ops pinned to it land on the CPU."""
    inject(MAC)
    py = make_env(tmp_path, {"gpus": 1, "gpu_ops_run_on_gpu": False}, metal="1.1.0")
    report = verify.verify(str(py), require_gpu=False, timeout=60)
    assert report.status == verify_report.GPU_UNUSED
    assert report.gpu_run is not None and report.gpu_run.device_kind == "CPU:0"
    assert report.exit_code == ExitCode.OK
    strict = verify.verify(str(py), require_gpu=True, timeout=60)
    assert strict.exit_code == ExitCode.NO_GPU == 70


def test_no_gpu_is_a_warning_unless_required(tmp_path: Path) -> None:
    py = make_env(tmp_path, {"gpus": 0})
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.NO_GPU
    assert report.exit_code == ExitCode.OK
    assert "WARNING: no GPU" in render_verify.render(report)
    assert verify.verify(str(py), require_gpu=True, timeout=60).exit_code == 70


def test_mac_without_metal_plugin_says_to_install_it(tmp_path: Path, inject) -> None:
    """Stands in for an Apple Silicon Mac with TensorFlow but no tensorflow-metal."""
    inject(MAC)
    py = make_env(tmp_path, {"gpus": 0})
    report = verify.verify(str(py), timeout=60)
    assert report.diagnosis is not None
    assert "tensorflow-metal" in report.diagnosis.summary
    assert "install tensorflow-metal" in report.diagnosis.fix


def test_segfault_at_import_becomes_a_diagnosis(tmp_path: Path, inject) -> None:
    """Stands in for a Mac where a mismatched libmetal_plugin.dylib crashes `import tensorflow`."""
    inject(MAC)
    py = make_env(tmp_path, {"crash_at_import": "segv"}, metal="1.1.0")
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.CRASHED
    assert report.exit_code == ExitCode.VERIFY_FAILED == 73
    assert report.crash_stage == "import"
    assert report.diagnosis is not None
    assert "SIGSEGV" in report.diagnosis.summary
    assert "importing TensorFlow" in report.diagnosis.summary
    assert "tensorflow-metal" in report.diagnosis.summary
    # The facts learned before the crash survive it.
    assert report.facts is not None and report.facts.sys_platform == "darwin"
    assert "Fatal Python error" in report.stderr_tail  # faulthandler's traceback is kept


def test_illegal_instruction_under_rosetta_points_at_an_arm64_python(
    tmp_path: Path, inject
) -> None:
    """Stands in for an x86_64 Python under Rosetta running TensorFlow's AVX build."""
    inject({**MAC, "machine": "x86_64", "rosetta": True})
    py = make_env(tmp_path, {"crash_at_import": "ill"})
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.CRASHED
    assert report.diagnosis is not None
    assert "SIGILL" in report.diagnosis.summary and "Rosetta" in report.diagnosis.summary
    assert "arm64 Python" in report.diagnosis.fix
    assert report.exit_code == 73


def test_missing_symbol_from_plugin_is_a_pairing_diagnosis(tmp_path: Path, inject) -> None:
    """Stands in for TF 2.18 with tensorflow-metal 1.1.0 (tensorflow/tensorflow#81987)."""
    inject(MAC)
    py = make_env(tmp_path, {"crash_at_import": "symbol"}, metal="1.1.0")
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.IMPORT_FAILED
    assert report.exit_code == 73
    assert report.diagnosis is not None
    assert "Metal plugin" in report.diagnosis.summary
    assert "Symbol not found" in report.diagnosis.summary
    assert "doctor --fix" in report.diagnosis.fix


def test_crash_in_gpu_matmul_keeps_what_was_learned(tmp_path: Path, inject) -> None:
    """Stands in for a Metal GPU whose plugin dies running its first kernel."""
    inject(MAC)
    py = make_env(tmp_path, {"gpus": 1, "crash_in_gpu_matmul": True}, metal="1.1.0")
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.CRASHED
    assert report.crash_stage == "matmul-gpu"
    assert report.tensorflow_version == "2.15.1" and len(report.gpus) == 1
    assert report.diagnosis is not None and "/GPU:0" in report.diagnosis.summary


def test_wrong_gpu_result_fails_verification(tmp_path: Path, inject) -> None:
    """Stands in for a Metal plugin that computes a wrong matmul."""
    inject(MAC)
    py = make_env(tmp_path, {"gpus": 1, "wrong_gpu_result": True}, metal="1.1.0")
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.WRONG_RESULT
    assert report.exit_code == 73


def test_hanging_import_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    py = make_env(tmp_path, {"crash_at_import": "hang"})
    start = time.monotonic()
    report = verify.verify(str(py), timeout=3)
    assert time.monotonic() - start < 30
    assert report.status == verify_report.TIMEOUT
    assert report.exit_code == 73
    assert report.diagnosis is not None and "stage: import" in report.diagnosis.summary


def test_stdout_noise_from_native_code_does_not_break_the_report(tmp_path: Path) -> None:
    py = make_env(tmp_path, {"crash_at_import": "stdout-noise", "gpus": 0})
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.NO_GPU
    assert "noise a native library printed" in report.stderr_tail


def test_tensorflow_not_installed(tmp_path: Path) -> None:
    py = make_env(tmp_path, with_tf=False)
    report = verify.verify(str(py), timeout=60)
    assert report.status == verify_report.IMPORT_FAILED
    assert report.exit_code == 73
    assert report.diagnosis is not None
    assert "not installed" in report.diagnosis.summary
    assert f"--python {py}" in report.diagnosis.fix


def test_missing_interpreter_is_a_probe_error(tmp_path: Path) -> None:
    report = verify.verify(str(tmp_path / "no-such-python"), timeout=10)
    assert report.status == verify_report.PROBE_ERROR
    assert report.exit_code == 73


# -- the command and the install hook ----------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip_tfmac", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_verify_command_json_and_exit_codes(tmp_path: Path, inject) -> None:
    inject(MAC)
    py = make_env(tmp_path, {"gpus": 1}, metal="1.2.0")
    done = _cli("verify", "--python", str(py), "--json", "--require-gpu")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # stdout is exactly one JSON object
    assert data["version"] == 1
    assert data["status"] == "gpu" and data["ok"] is True and data["exit_code"] == 0
    assert data["matmul"]["gpu"]["ran_on"].endswith("device:GPU:0")
    assert data["metal"]["tensorflow_metal_version"] == "1.2.0"
    assert data["facts"]["injected"]  # injected facts are labelled in the JSON too


def test_verify_command_takes_python_before_the_command_word(tmp_path: Path) -> None:
    py = make_env(tmp_path, {"gpus": 0})
    done = _cli("--python", str(py), "verify", "--require-gpu")
    assert done.returncode == 70, done.stdout + done.stderr
    assert "FAILED (70)" in done.stdout


def test_verify_command_rejects_unknown_options() -> None:
    done = _cli("verify", "--frobnicate")
    assert done.returncode == 64
    assert "Traceback" not in done.stderr


def test_verify_command_crash_is_exit_73_with_json(tmp_path: Path) -> None:
    py = make_env(tmp_path, {"crash_at_import": "segv"})
    done = _cli("verify", "--python", str(py), "--json")
    assert done.returncode == 73
    data = json.loads(done.stdout)
    assert data["status"] == "crashed"
    assert data["crash"]["stage"] == "import"
    assert "Traceback" not in done.stderr


def test_run_post_install_prints_the_table_and_returns_the_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    py = make_env(tmp_path, {"gpus": 0})
    code = render_verify.run_post_install(str(py), require_gpu=True, as_json=False, timeout=60)
    assert code == 70
    out = capsys.readouterr().out
    assert out.startswith("pip-tfmac verify")
    assert "GPUs" in out and "none" in out


def test_verify_command_rejects_a_non_positive_timeout() -> None:
    done = _cli("verify", "--timeout", "0")
    assert done.returncode == 64
    assert "--timeout must be positive" in done.stderr


def test_crash_without_any_report_is_still_diagnosed() -> None:
    """A probe killed before its first stage marker: no facts at all, still a diagnosis."""
    run = verify_report.ProbeRun(-4, None, None, {}, "", False, 0.5)
    report = verify_interpret.interpret("/x/python", run, require_gpu=False)
    assert report.status == verify_report.CRASHED and report.exit_code == 73
    assert report.diagnosis is not None
    assert (
        "SIGILL" in report.diagnosis.summary
        and "before it could report" in report.diagnosis.summary
    )
    assert report.to_json()["crash"]["returncode"] == -4
