"""Shared test helpers: an isolated pip environment, temporary venvs, tiny local wheels.

Everything here works offline: wheels are written byte by byte (no build tool, no index), and
the local project builds through an in-tree PEP 517 backend that needs no build requirements,
so pip's build isolation has nothing to download.

Imported as `helpers` (tests/conftest.py puts this directory on sys.path).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

StrPath = Union[str, "os.PathLike[str]"]

# Variables that change which Python or which site-packages a child process sees; a test that
# wants one sets it itself.
_PYTHON_VARS = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONSAFEPATH")


def isolated_env(base: StrPath, extra: Mapping[str, StrPath] | None = None) -> dict[str, str]:
    """os.environ without this machine's pip setup, plus `extra`.

    Removes every PIP_* variable (this machine sets find-links, cert, timeouts) and the
    variables that pick a Python; points pip's config at /dev/null (pip then reads no config
    file at all), and the XDG config/cache dirs and the user base at empty folders under
    `base`, so that a test that sets its own PIP_CONFIG_FILE still sees no machine-wide
    constraint file and no user config, and nothing is written to the real user cache.
    """
    base = Path(base)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in _PYTHON_VARS
    }
    for sub in ("xdg-config", "xdg-config-dirs", "xdg-cache", "userbase"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_NO_PYTHON_VERSION_WARNING="1",
        XDG_CONFIG_HOME=str(base / "xdg-config"),
        XDG_CONFIG_DIRS=str(base / "xdg-config-dirs"),
        XDG_CACHE_HOME=str(base / "xdg-cache"),
        PYTHONUSERBASE=str(base / "userbase"),
    )
    for key, value in (extra or {}).items():
        env[key] = os.fspath(value)
    return env


@dataclass(frozen=True)
class Result:
    """What a command did, as a user of it can observe."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit {self.returncode}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


def run(
    argv: Sequence[StrPath],
    env: Mapping[str, str],
    cwd: StrPath | None = None,
    timeout: float = 300,
) -> Result:
    args = tuple(os.fspath(a) for a in argv)
    proc = subprocess.run(
        args,
        check=False,
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(args, proc.returncode, proc.stdout, proc.stderr)


def find_python(version: str) -> str | None:
    """An interpreter of Python `version` ("3.12"): this one, pyenv's newest, or pythonX.Y on PATH,
    each asked for its version (a pyenv shim answers to every pythonX.Y name, even one it cannot
    run); None when the machine has none."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    pyenv = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python"))
    candidates = [str(p) for p in reversed(pyenv)] + [shutil.which(f"python{version}") or ""]
    for found in filter(None, candidates):
        probe = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return found
    return None


def install_env(base: Path, extra: Mapping[str, StrPath] | None = None) -> dict[str, str]:
    """isolated_env for tests that install real wheels: the certificate bundle kept, pip's cache
    under `base` (or PIP_TFMAC_E2E_PIP_CACHE, to reuse one across runs)."""
    env = isolated_env(base, extra)
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_TFMAC_E2E_PIP_CACHE") or str(base / "pip-cache")
    return env


def check(result: Result) -> Result:
    """`result`, asserting it succeeded (the failure shows the end of its output)."""
    assert result.returncode == 0, result.describe()[-6000:]
    return result


def tool_command() -> list[str]:
    """How to run the pip-tfmac under test: the console script of the running environment."""
    script = Path(sys.executable).with_name("pip-tfmac.exe" if os.name == "nt" else "pip-tfmac")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pip_tfmac"]


def venv_bin(venv: StrPath, name: str) -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    return Path(venv) / sub / (name + (".exe" if os.name == "nt" else ""))


def make_venv(path: StrPath, env: Mapping[str, str], *, system_site_packages: bool = False) -> Path:
    """A venv with the running Python and that Python's bundled pip (ensurepip: offline)."""
    argv = [sys.executable, "-m", "venv", os.fspath(path)]
    if system_site_packages:
        argv.append("--system-site-packages")
    result = run(argv, env)
    if result.returncode != 0:
        raise RuntimeError("venv creation failed\n" + result.describe())
    return Path(path)


# --- wheels -------------------------------------------------------------------------------


def write_wheel(
    directory: str,
    name: str,
    version: str,
    requires: list[str],
    files: dict[str, str],
    tag: str = "py3-none-any",
) -> str:
    """Write a minimal, valid, reproducible wheel; return its path.

    Also the body of the in-tree build backend of `write_local_project` (copied there by
    inspect.getsource), so it must stay self-contained: stdlib imports only, inside.
    """
    import base64 as _b64
    import hashlib as _hl
    import os as _os
    import zipfile as _zf

    norm = name.replace("-", "_")
    dist_info = f"{norm}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    entries = dict(files)
    entries[f"{dist_info}/METADATA"] = metadata
    entries[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: pip-tfmac-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
    )
    record_lines = []
    for arcname in sorted(entries):
        data = entries[arcname].encode()
        digest = _b64.urlsafe_b64encode(_hl.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{arcname},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = "\n".join(record_lines) + "\n"
    path = _os.path.join(directory, f"{norm}-{version}-{tag}.whl")
    with _zf.ZipFile(path, "w", _zf.ZIP_DEFLATED) as zf:
        for arcname in sorted(entries):
            info = _zf.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible
            info.external_attr = 0o644 << 16
            info.compress_type = _zf.ZIP_DEFLATED
            zf.writestr(info, entries[arcname])
    return path


def build_wheel(
    directory: StrPath,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    files: Mapping[str, str] | None = None,
) -> Path:
    """A tiny pure-Python wheel `name==version` with one module, built offline."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    content = (
        dict(files)
        if files is not None
        else {f"{module}/__init__.py": f'__version__ = "{version}"\n'}
    )
    return Path(write_wheel(os.fspath(directory), name, version, list(requires), content))


def sha256_of(path: StrPath) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_BACKEND_HOOKS = """

def _project():
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    name, version = open(os.path.join(here, "NAME-VERSION")).read().split()
    return here, name, version


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import os
    here, name, version = _project()
    module = name.replace("-", "_")
    with open(os.path.join(here, module, "__init__.py")) as f:
        source = f.read()
    path = write_wheel(wheel_directory, name, version, [], {module + "/__init__.py": source})
    return os.path.basename(path)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    import os
    here, name, version = _project()
    module = name.replace("-", "_")
    path = write_wheel(wheel_directory, name, version, [], {"_" + module + ".pth": here + "\\n"},
                       tag="py3-none-any")
    editable = path.replace("-py3-none-any.whl", "-0.editable-py3-none-any.whl")
    os.replace(path, editable)
    return os.path.basename(editable)
"""


def write_local_project(directory: StrPath, name: str, version: str) -> Path:
    """A local project that pip can build, install and install editable (-e) offline.

    Its build backend lives in the project (PEP 517 backend-path) and has no requirements.
    """
    root = Path(directory)
    module = name.replace("-", "_")
    (root / module).mkdir(parents=True, exist_ok=True)
    (root / module / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (root / "NAME-VERSION").write_text(f"{name} {version}\n")
    (root / "pyproject.toml").write_text(
        "[build-system]\n"
        "requires = []\n"
        'build-backend = "tfmac_test_backend"\n'
        'backend-path = ["."]\n'
    )
    backend = "import os\n\n" + inspect.getsource(write_wheel) + _BACKEND_HOOKS
    (root / "tfmac_test_backend.py").write_text(backend)
    return root


__all__ = [
    "Result",
    "build_wheel",
    "isolated_env",
    "make_venv",
    "run",
    "sha256_of",
    "tool_command",
    "venv_bin",
    "write_local_project",
]
