"""Running pip as a subprocess: every resolve, download and install goes through here.

pip's `--report` JSON (a documented, versioned interface) is how results come back. The pip
that runs is the one pip-tfmac is installed with (a tested version), pointed at the target
interpreter with pip's own `--python` when that is another environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from pip_tfmac.runners.interpreter import same_interpreter
from pip_tfmac.runners.pip_hook import STOP_EXIT_CODE as HOOK_STOP_EXIT_CODE  # noqa: F401  (re-exported)
from pip_tfmac.runners import tempdirs


@dataclass(frozen=True)
class ResolvedItem:
    name: str
    version: str
    filename: str
    url: str
    sha256: Optional[str]
    requested: bool
    requires: tuple[str, ...] = ()  # the metadata's Requires-Dist (markers and extras kept)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "filename": self.filename,
                "sha256": self.sha256, "requested": self.requested}


@dataclass(frozen=True)
class PipResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    report: Optional[Mapping[str, Any]] = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def resolved(self) -> tuple[ResolvedItem, ...]:
        if not self.report:
            return ()
        items = []
        for entry in self.report.get("install", []):
            meta = entry.get("metadata", {})
            info = entry.get("download_info", {}) or {}
            url = info.get("url", "")
            hashes = (info.get("archive_info") or {}).get("hashes") or {}
            items.append(ResolvedItem(
                name=meta.get("name", ""), version=meta.get("version", ""),
                filename=url.rsplit("/", 1)[-1].split("#", 1)[0], url=url,
                sha256=hashes.get("sha256"), requested=bool(entry.get("requested")),
                requires=tuple(meta.get("requires_dist") or ()),
            ))
        return tuple(items)

    def summary(self) -> str:
        """pip's own one-line result ("Would install ...") or its error lines."""
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith(("Would install", "Successfully"))]
        if lines:
            return "\n".join(lines)
        errors = [ln for ln in self.stderr.splitlines() if ln.strip()]
        return "\n".join(errors[-12:])


# pip reads PEP 751 locks (`-r pylock.toml`, experimental) from 26.1 on (pip 26.1 needs Python 3.10+).
PYLOCK_MIN_PIP = "26.1"


def reads_pylock() -> tuple[bool, str]:
    """(whether the pip pip-tfmac runs reads pylock.toml, its version)."""
    import pip

    return _at_least(pip.__version__, PYLOCK_MIN_PIP), str(pip.__version__)


def base_argv(python: str, general: Sequence[str]) -> list[str]:
    """`python -m pip [general]`, aimed at the target interpreter."""
    argv = [sys.executable, "-m", "pip", *general]
    if "--python" not in general and not any(g.startswith("--python=") for g in general):
        if not same_interpreter(python, sys.executable):
            argv += ["--python", python]
    return argv


def run(argv: Sequence[str], *, capture: bool = True, env: Optional[Mapping[str, str]] = None,
        stdout_to_stderr: bool = False) -> PipResult:
    if capture:
        proc = subprocess.run(list(argv), capture_output=True, text=True, errors="replace",
                              env=dict(env) if env is not None else None)
        return PipResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    sys.stdout.flush()
    code = subprocess.call(list(argv), env=dict(env) if env is not None else None,
                           stdout=sys.stderr.fileno() if stdout_to_stderr else None)
    return PipResult(tuple(argv), code, "", "")


def run_with_report(argv: Sequence[str], *, capture: bool = True) -> PipResult:
    """Run pip with `--report` into a temporary file and read it back."""
    fd, path = tempfile.mkstemp(prefix=tempdirs.prefix("report"), suffix=".json")
    os.close(fd)
    try:
        result = run([*argv, "--report", path], capture=capture)
        report = None
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            report = json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            report = None
        return PipResult(result.argv, result.returncode, result.stdout, result.stderr, report)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


# --- pip with the resolver hook (runners/pip_hook.py) -----------------------------------------

HOOK_MODULE = "pip_tfmac.runners.pip_hook"


def hooked_argv(python: str, general: Sequence[str], config_path: str) -> list[str]:
    """`base_argv` with pip's resolver hooked: `python -m pip_tfmac.runners.pip_hook CONFIG ...`.

    Same argv shape as base_argv (the command and its arguments follow). With `--python` the
    hook re-runs itself under the target interpreter, so markers and the installed set are
    the target's, as with pip's own --python.
    """
    argv = base_argv(python, general)
    return [argv[0], "-m", HOOK_MODULE, config_path, *argv[3:]]


def write_hook_config(path: str, *, watch: Sequence[str], out: str, stop_on_watch: bool = True,
                      markers: Optional[Mapping[str, str]] = None) -> None:
    """Write the hook's CONFIG.json (watch: canonical names; markers: the target's, or None)."""
    data = {"watch": sorted(set(watch)), "stop_on_watch": stop_on_watch,
            "markers": dict(markers) if markers is not None else None, "out": out}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)


@dataclass(frozen=True)
class HookAsk:
    """One requirement on a distribution: who asked (a parent, or "user") and for what."""

    by: str
    by_version: Optional[str]
    specifier: str
    requirement: str = ""
    marker: Optional[str] = None
    source: Optional[str] = None  # "-r requirements.txt (line 3)" for the user's own lines


@dataclass(frozen=True)
class HookItem:
    """A resolved distribution, with the dependents that brought it in."""

    name: str
    version: str
    requested: bool
    parents: tuple[str, ...]
    asked: tuple[HookAsk, ...]
    extras: tuple[str, ...] = ()
    link: Optional[str] = None
    editable: bool = False
    installed: bool = False  # already in the target environment, kept as is


@dataclass(frozen=True)
class HookCause:
    """One cause of ResolutionImpossible: `name specifier`, asked by `by` (or "user")."""

    name: str
    specifier: str
    by: str
    by_version: Optional[str]
    requirement: str = ""
    marker: Optional[str] = None
    source: Optional[str] = None
    available: tuple[str, ...] = ()  # versions pip found for the target, oldest first


@dataclass(frozen=True)
class HookResult:
    """What the hook saw of the user's resolve (absent file: pip stopped before resolving)."""

    resolved: tuple[HookItem, ...]
    failed: bool
    causes: tuple[HookCause, ...]
    stopped: bool
    watched: tuple[str, ...] = ()
    pip_version: str = ""
    hook_error: Optional[str] = None
    # a failed resolve: candidates pip dropped ((link, error): invalid metadata, failed build),
    # or the error of a resolve that failed otherwise (pip 24.0 on a malformed marker)
    candidate_errors: tuple[tuple[str, str], ...] = ()
    error: Optional[str] = None

    def item(self, name: str) -> Optional[HookItem]:
        return next((i for i in self.resolved if i.name == name), None)


def _ask(data: Mapping[str, Any]) -> HookAsk:
    return HookAsk(by=str(data.get("by", "user")), by_version=data.get("by_version"),
                   specifier=str(data.get("specifier", "")),
                   requirement=str(data.get("requirement", "")), marker=data.get("marker"),
                   source=data.get("from"))


def read_hook_result(path: str) -> Optional[HookResult]:
    """Read the hook's result file; None when there is none (pip never got to resolve)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    if not text.strip():
        return None
    data = json.loads(text)
    items = tuple(
        HookItem(name=i["name"], version=i["version"], requested=bool(i.get("requested")),
                 parents=tuple(i.get("parents", ())),
                 asked=tuple(_ask(a) for a in i.get("asked", ())),
                 extras=tuple(i.get("extras", ())), link=i.get("link"),
                 editable=bool(i.get("editable")), installed=bool(i.get("installed")))
        for i in data.get("resolved", ())
    )
    causes = tuple(
        HookCause(name=c["name"], specifier=str(c.get("specifier", "")),
                  by=str(c.get("by", "user")), by_version=c.get("by_version"),
                  requirement=str(c.get("requirement", "")), marker=c.get("marker"),
                  source=c.get("from"), available=tuple(c.get("available", ())))
        for c in data.get("causes", ())
    )
    return HookResult(resolved=items, failed=bool(data.get("failed")), causes=causes,
                      stopped=bool(data.get("stopped")), watched=tuple(data.get("watched", ())),
                      pip_version=str(data.get("pip", "")), hook_error=data.get("hook_error"),
                      candidate_errors=tuple((str(e.get("link", "")), str(e.get("error", "")))
                                             for e in data.get("candidate_errors", ())),
                      error=data.get("error"))


# Runs the hook under the TARGET interpreter with the target's own pip (as `pip` there would),
# pip_tfmac appended to sys.path so that the target's pip, not ours, is the one imported.
_HOOK_IN_TARGET = (
    "import runpy, sys\n"
    "if sys.path and sys.path[0] == '':\n"
    "    del sys.path[0]\n"
    "sys.path.append({package_parent!r})\n"
    "runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
)


# The oldest pip whose resolver internals the hook has been run against (23.2.1, the pip that
# CPython 3.11's ensurepip bundles; the supported range 24.0-26.x is tested at both ends).
HOOK_MIN_TARGET_PIP = "23.2"


def hooked_user_argv(args: Sequence[str], config_path: str) -> Optional[list[str]]:
    """The user's own pip command line (general options, command, arguments) under the hook,
    run by the same pip the pass-through would run (passthrough.pip_argv), so that its output is
    byte for byte that pip's: the target's own pip when it has one, else ours pointed at the
    target with --python. None: the target's pip predates the hook (plain pass-through)."""
    from pip_tfmac.runners.interpreter import python_option, resolve_target_python, target_pip_version

    if python_option(args):
        return [sys.executable, "-m", HOOK_MODULE, config_path, *args]
    target = resolve_target_python(args)
    if same_interpreter(target, sys.executable):
        return [sys.executable, "-m", HOOK_MODULE, config_path, *args]
    version = target_pip_version(target)
    if version is not None and not _at_least(version, HOOK_MIN_TARGET_PIP):
        return None
    if version is not None:
        parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        boot = _HOOK_IN_TARGET.format(package_parent=os.path.dirname(parent), module=HOOK_MODULE)
        return [target, "-c", boot, config_path, *args]
    return [sys.executable, "-m", HOOK_MODULE, config_path, "--python", target, *args]


def _at_least(version: str, floor: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) >= Version(floor)
    except InvalidVersion:
        return False
