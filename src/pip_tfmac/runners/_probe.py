"""The GPU probe, run INSIDE the target interpreter: `python -I _probe.py [facts|verify]`.

Why a separate script: the target environment is not ours (another venv, another Python,
maybe an x86_64 Python under Rosetta), and importing TensorFlow there can crash the process
outright. So this file uses only the standard library and the `tensorflow` it probes, runs in a
subprocess started by verify.py, and prints exactly one JSON object on its real stdout.

Modes:
  facts    machine facts and installed distributions; TensorFlow is NOT imported (doctor)
  verify   machine facts, then import TensorFlow, list GPUs, find the Metal plugin, and time a
           matmul pinned to /GPU:0, reading back the device TensorFlow actually used

Crash safety: before each risky step a line `pip-tfmac-probe: {"stage": ..., "so_far": ...}`
goes to stderr, so when the process dies (SIGSEGV, SIGILL, abort) the parent still knows how
far it got and what it had learned. Everything TensorFlow prints to stdout is redirected to
stderr, so stdout carries only our JSON.

Test seam (documented, used by the tests because no Mac or Apple GPU exists where they run):
the environment variable PIP_TFMAC_PROBE_FACTS may name a JSON file whose object replaces the
matching machine facts (keys of FACT_KEYS, plus "loaded_plugins"). The report lists the injected
keys under "injected", so injected facts can never pass for measured ones.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from typing import Any

SCHEMA = 1
FACTS_ENV = "PIP_TFMAC_PROBE_FACTS"
STAGE_PREFIX = "pip-tfmac-probe: "
PLUGIN_DIR = "tensorflow-plugins"
# Distributions that can provide the `tensorflow` package, reported with their versions.
TF_DISTRIBUTIONS = (
    "tensorflow",
    "tensorflow-macos",
    "tensorflow-cpu",
    "tensorflow-intel",
    "tensorflow-aarch64",
    "tf-nightly",
    "tf-nightly-macos",
)
# Environment variables that change what TensorFlow does; doctor reads them.
ENV_KEYS = ("TF_USE_LEGACY_KERAS", "TF_PLUGGABLE_DEVICE_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES")
FACT_KEYS = (
    "sys_platform",
    "machine",
    "macos_version",
    "rosetta",
    "arm64_hardware",
    "python_version",
    "implementation",
    "executable",
    "prefix",
    "base_prefix",
    "conda",
    "conda_packages",
    "site_packages",
    "plugin_files",
    "env",
)


def _stage(name: str, so_far: dict[str, Any]) -> None:
    """Tell the parent where we are, in case the next step kills the process."""
    try:
        line = json.dumps({"stage": name, "so_far": so_far}, default=str)
    except (TypeError, ValueError):
        line = json.dumps({"stage": name})
    sys.stderr.write(STAGE_PREFIX + line + "\n")
    sys.stderr.flush()


def _overrides() -> dict[str, Any]:
    path = os.environ.get(FACTS_ENV)
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise TypeError(f"{FACTS_ENV} must name a JSON object, got {type(data).__name__}")
    return data


def _sysctl_int(name: str) -> int | None:
    """An integer sysctl on macOS via libc, without spawning `sysctl`.

    Returns None when the key does not exist (sysctl.proc_translated is absent on Intel Macs,
    which is "not translated") or when the call itself is impossible.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("/usr/lib/libc.dylib")
        value = ctypes.c_int(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        rc = libc.sysctlbyname(
            name.encode(), ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0)
        )
    except (OSError, AttributeError, ImportError):
        return None
    if rc != 0:
        return None
    return int(value.value)


def site_packages_dirs() -> list[str]:
    """The directories TensorFlow itself scans for tensorflow-plugins/ (its __init__ logic)."""
    import site

    dirs: list[str] = []
    user_site = getattr(site, "USER_SITE", None)
    if getattr(site, "ENABLE_USER_SITE", False) and user_site:
        dirs.append(user_site)
    dirs.extend(p for p in sys.path if "site-packages" in p)
    if hasattr(site, "getsitepackages"):
        dirs.extend(site.getsitepackages())
    seen: list[str] = []
    for d in dirs:
        d = os.path.abspath(d)
        if d and d not in seen and os.path.isdir(d):
            seen.append(d)
    return seen


def plugin_files(sites: list[str]) -> list[str]:
    found = []
    for site_dir in sites:
        plugin_dir = os.path.join(site_dir, PLUGIN_DIR)
        if os.path.isdir(plugin_dir):
            for name in sorted(os.listdir(plugin_dir)):
                if name.endswith((".so", ".dylib", ".dll")):
                    found.append(os.path.join(plugin_dir, name))
    return found


def _conda_packages(prefix: str) -> list[str]:
    meta = os.path.join(prefix, "conda-meta")
    names = []
    if os.path.isdir(meta):
        for entry in sorted(os.listdir(meta)):
            # conda-meta/NAME-VERSION-BUILD.json; names may contain dashes, the last two may not.
            if entry.endswith(".json") and entry.count("-") >= 2:
                names.append(entry[: -len(".json")].rsplit("-", 2)[0])
    return names


def machine_facts(overrides: dict[str, Any]) -> dict[str, Any]:
    """Everything verify and doctor need to know about the machine, as this process sees it."""
    darwin = sys.platform == "darwin"
    translated = _sysctl_int("sysctl.proc_translated") if darwin else None
    arm64 = _sysctl_int("hw.optional.arm64") if darwin else None
    sites = site_packages_dirs()
    facts = {
        "sys_platform": sys.platform,
        "machine": platform.machine(),
        "macos_version": (platform.mac_ver()[0] or None) if darwin else None,
        # The key is missing on Intel Macs: that means "not translated", not "unknown".
        "rosetta": (translated == 1) if darwin else False,
        "arm64_hardware": (arm64 == 1) if darwin else None,
        "python_version": platform.python_version(),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "conda": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        "conda_packages": _conda_packages(sys.prefix),
        "site_packages": sites,
        "plugin_files": plugin_files(sites),
        "env": {k: os.environ[k] for k in ENV_KEYS if k in os.environ},
    }
    for key in FACT_KEYS:
        if key in overrides:
            facts[key] = overrides[key]
    return facts


def loaded_libraries() -> list[str]:
    """Paths of the shared libraries mapped into this process right now."""
    paths: list[str] = []
    if sys.platform == "darwin":
        try:
            import ctypes

            dyld = ctypes.CDLL("/usr/lib/libSystem.dylib")
            dyld._dyld_image_count.restype = ctypes.c_uint32
            dyld._dyld_get_image_name.restype = ctypes.c_char_p
            dyld._dyld_get_image_name.argtypes = [ctypes.c_uint32]
            for i in range(dyld._dyld_image_count()):
                name = dyld._dyld_get_image_name(i)
                if name:
                    paths.append(os.fsdecode(name))
        except (OSError, AttributeError):
            pass
    elif os.path.exists("/proc/self/maps"):
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    path = parts[5].strip()
                    if path not in paths:
                        paths.append(path)
    return paths


def loaded_plugins(plugin_paths: list[str], overrides: dict[str, Any]) -> list[str]:
    if "loaded_plugins" in overrides:
        return list(overrides["loaded_plugins"])
    wanted = {os.path.realpath(p) for p in plugin_paths}
    loaded = []
    for path in loaded_libraries():
        real = os.path.realpath(path)
        if real in wanted or os.path.basename(os.path.dirname(real)) == PLUGIN_DIR:
            loaded.append(path)
    return loaded


def _version_of(name: str) -> str | None:
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8: no metadata API, report unknown
        return None
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def distributions() -> list[dict[str, Any]]:
    """Installed distributions with what doctor checks: wheel tags, requirements, top-level."""
    from importlib import metadata

    out = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        wheel = dist.read_text("WHEEL") or ""
        tags = [ln.split(":", 1)[1].strip() for ln in wheel.splitlines() if ln.startswith("Tag:")]
        top = set()
        for f in dist.files or ():
            parts = f.parts
            if (
                not parts
                or parts[0] in ("..", "__pycache__")
                or parts[0].endswith((".dist-info", ".egg-info", ".data"))
            ):
                continue
            # not str.removesuffix: the target may be older than Python 3.9
            top.add(parts[0][:-3] if parts[0].endswith(".py") else parts[0])  # noqa: FURB188
        try:
            location = str(dist.locate_file(""))
        except Exception:  # noqa: BLE001 - an odd finder; the location is only informative
            location = ""
        out.append(
            {
                "name": name,
                "version": dist.version,
                "wheel_tags": tags,
                "requires": list(dist.requires or ()),
                "installer": (dist.read_text("INSTALLER") or "").strip() or None,
                "top_level": sorted(top),
                "location": location,
            }
        )
    out.sort(key=lambda d: (str(d["name"]).lower(), str(d["location"])))
    return out


def _timed_matmul(tf: Any, device: str, n: int, repeats: int) -> dict[str, Any]:
    """Multiply two n x n matrices of ones on `device`; the checksum must be exactly n**3."""
    with tf.device(device):
        a = tf.ones((n, n))
        b = tf.ones((n, n))
        c = tf.matmul(a, b)  # warm-up: kernels get built here
        checksum = float(tf.reduce_sum(c))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            c = tf.matmul(a, b)
            float(tf.reduce_sum(c))  # forces the op to finish
            times.append(time.perf_counter() - start)
    times.sort()
    return {
        "requested": device,
        "ran_on": str(c.device),  # read back from TensorFlow, never assumed
        "median_ms": round(times[len(times) // 2] * 1000.0, 3),
        "checksum_ok": checksum == float(n) ** 3,
    }


def probe_tensorflow(
    result: dict[str, Any], overrides: dict[str, Any], n: int, repeats: int
) -> None:
    _stage("import", result)
    # Read before the import: when a plugin breaks `import tensorflow`, its version is what
    # install's self-heal needs to know (was it there before this install?).
    result["tensorflow_metal_version"] = _version_of("tensorflow-metal")
    start = time.perf_counter()
    try:
        import tensorflow as tf
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a broken plugin counts too
        result["import_error"] = {
            "type": type(exc).__name__,
            "module": type(exc).__module__,
            "message": str(exc)[:4000],
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[
                -4000:
            ],
        }
        return
    result["import_seconds"] = round(time.perf_counter() - start, 3)
    result["tensorflow"] = {
        "version": str(getattr(tf, "__version__", "")),
        "file": str(getattr(tf, "__file__", "")),
        "distributions": {d: v for d in TF_DISTRIBUTIONS for v in [_version_of(d)] if v},
    }
    result["loaded_plugins"] = loaded_plugins(result["facts"]["plugin_files"], overrides)
    _stage("devices", result)
    gpus = []
    for dev in tf.config.list_physical_devices("GPU"):
        details = {}
        get_details = getattr(tf.config.experimental, "get_device_details", None)
        if get_details is not None:
            try:
                details = {str(k): str(v) for k, v in dict(get_details(dev)).items()}
            except Exception:  # noqa: BLE001 - details are informative only
                details = {}
        gpus.append(
            {"name": str(dev.name), "device_type": str(dev.device_type), "details": details}
        )
    result["gpus"] = gpus
    matmul: dict[str, Any] = {"size": n, "repeats": repeats}
    result["matmul"] = matmul
    for key, device in (("gpu", "/GPU:0"), ("cpu", "/CPU:0")):
        _stage("matmul-" + key, result)
        try:
            matmul[key] = _timed_matmul(tf, device, n, repeats)
        except Exception as exc:  # noqa: BLE001 - a failing op is a finding, not a crash
            matmul[key] = {"requested": device, "error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "verify"
    n = int(argv[2]) if len(argv) > 2 else 1024
    repeats = int(argv[3]) if len(argv) > 3 else 5
    # Keep the real stdout for our JSON; anything else written to fd 1 goes to stderr.
    real_stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        import faulthandler

        faulthandler.enable(file=sys.stderr)  # a segfault still leaves a Python traceback
    except (ImportError, RuntimeError, ValueError):
        pass
    result: dict[str, Any] = {"schema": SCHEMA, "mode": mode}
    try:
        overrides = _overrides()
        result["injected"] = sorted(k for k in overrides if k in FACT_KEYS or k == "loaded_plugins")
        result["facts"] = machine_facts(overrides)
        if mode == "facts":
            result["distributions"] = distributions()
        elif mode == "verify":
            probe_tensorflow(result, overrides, n, repeats)
        else:
            result["probe_error"] = f"unknown mode {mode!r}"
    except Exception:  # noqa: BLE001 - the parent gets the traceback as data
        result["probe_error"] = traceback.format_exc()[-4000:]
    _stage("done", {})
    real_stdout.write(json.dumps(result, default=str) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
