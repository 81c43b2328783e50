"""pip with a small in-process hook on its resolver.

    python -m pip_tfmac.runners.pip_hook CONFIG.json [pip general options] COMMAND [args]

Why: a `--report` dry run before the install costs a second resolve every time, and pip
evaluates dependency markers for the host even with --platform. Hooking the one pip run's
resolver answers, at the cost of plain pip: does the resolution bring in a watched
(TensorFlow-family) name by any road (any depth, extras, local projects, PEP 723 scripts,
URLs)? If so and asked to, stop right after the resolve (exit STOP_EXIT_CODE), before pip
fetches more than metadata or installs anything; else pip carries on unchanged. Markers take
the target's values. A ResolutionImpossible is reported as data.

CONFIG: {"watch": [canonical names], "stop_on_watch": bool, "markers": {..} | null, "out": path}.
Result ("out", absent if pip never resolved): {"version": 1, "pip", "markers", "failed",
"stopped", "watched": [names], "resolved": [{"name", "version", "requested", "parents",
"asked": [{"by": name | "user", "by_version", "specifier", "requirement", "marker", "from"}],
"extras", "link", "editable", "installed"}], "causes": [{"name", "specifier", "requirement",
"marker", "extras", "from", "by", "by_version"}], "candidate_errors", "error"}.

`--python X` (pip would re-run *itself* under X, without our patches): we re-run this module
under X instead, importing only `pip` and `pip_tfmac` from here (as pip's __pip-runner__), so
the installed set and the default markers are X's. Only stdlib and pip are imported here.
With runners/pipargs.py the only place touching pip internals; the names patched are the same
in pip 24.0 (resolvelib 1.0.1, packaging 21.3) and 26.3 (resolvelib 1.2.1, packaging 26.3).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import re
import subprocess
import sys
from typing import Any

STOP_EXIT_CODE = 86  # a run stopped because a watched distribution was resolved
# Set in the child we re-run under the target, as pip does for its own --python.
_SUBPROCESS_FLAG = "_PIP_RUNNING_IN_SUBPROCESS"

_config: dict[str, Any] = {}
# Depth of pip's Resolver.resolve: 1 is the user's resolve; deeper ones (pip 26's in-process
# build dependencies) are the host's business and are neither reported nor cross-evaluated.
_depth = 0
# >0 while pip checks build requirements against the (host) build environment.
_host_only = 0
_stoppable = False  # inside a command whose run turns _Stopped into STOP_EXIT_CODE
# Candidates pip 26 drops with a warning only ("Ignoring version X of P since it has invalid
# metadata": a malformed marker, for one), caught from its log by _DroppedHandler.
_dropped: list[dict[str, str]] = []


class _DroppedHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if _depth == 1 and str(record.msg).startswith("Ignoring version"):
            _dropped.append({"link": "", "error": record.getMessage()})


def _module(name: str) -> Any:
    """A pip module, typed Any: its internals differ between the pips we support."""
    return importlib.import_module(name)


class _Stopped(BaseException):
    """Raised from inside the resolve; turned into STOP_EXIT_CODE by the wrapped command."""


# --- the result ---------------------------------------------------------------------------


def _write_json(data: dict[str, Any]) -> None:
    """Write the result atomically: a reader never sees half a file."""
    path = _config.get("out")
    if not path:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _project(name: str) -> str:
    """pip's key of a requirement or candidate, as a distribution name ("<Python...>" -> python)."""
    return "python" if name.startswith("<") else name.partition("[")[0]


def _by(parent: Any) -> dict[str, Any]:  # who asked: a candidate, or the user
    return ({"by": "user", "by_version": None} if parent is None else
            {"by": _project(str(parent.project_name)), "by_version": str(parent.version)})


def _describe(requirement: Any) -> dict[str, Any]:
    """A pip Requirement as data: name, specifier ('' for any; '@ url' for a link), marker."""
    ireq = getattr(requirement, "_ireq", None)
    out: dict[str, Any] = {"name": _project(str(requirement.project_name)),
                           "requirement": requirement.format_for_error(),
                           "specifier": "", "marker": None, "extras": [], "from": None}
    if ireq is not None and ireq.req is not None:
        out["specifier"] = str(ireq.req.specifier)
        out["extras"] = sorted(ireq.req.extras)
        out["marker"] = str(ireq.markers) if ireq.markers is not None else None
        if isinstance(ireq.comes_from, str):  # "-r file (line 3)" for the user's own lines
            out["from"] = ireq.comes_from
    elif hasattr(requirement, "specifier"):  # Requires-Python
        out["specifier"] = str(requirement.specifier)
    else:
        link = getattr(getattr(requirement, "candidate", None), "source_link", None)
        if link is not None:
            out["specifier"] = "@ " + link.url
    return out


def _resolved_items(result: Any) -> list[dict[str, Any]]:
    """One item per resolved distribution, merging its extras keys ("pkg[tf]" into "pkg")."""
    items: dict[str, dict[str, Any]] = {}
    for key, candidate in result.mapping.items():
        name = _project(str(key))
        if name == "python":
            continue
        item = items.setdefault(name, {
            "name": name, "version": str(candidate.version), "requested": False,
            "parents": [], "asked": [], "extras": [], "link": None,
            "editable": bool(getattr(candidate, "is_editable", False)),
            # already in the environment and kept as is (no link to fetch)
            "installed": type(getattr(candidate, "base", candidate)).__name__
            == "AlreadyInstalledCandidate",
        })
        link = getattr(candidate, "source_link", None)
        if link is not None and item["link"] is None:
            item["link"] = link.url
        if "[" in str(key):
            item["extras"].extend(e for e in str(key).partition("[")[2].rstrip("]").split(",")
                                  if e not in item["extras"])
        criterion = result.criteria.get(key)
        for info in getattr(criterion, "information", ()):
            asker = _by(info.parent)
            if asker["by"] == name:  # "pkg[tf]" needs "pkg": not a parent
                continue
            if info.parent is None:
                item["requested"] = True
            elif asker["by"] not in item["parents"]:
                item["parents"].append(asker["by"])
            asked = {**asker, **{k: v for k, v in _describe(info.requirement).items()
                                 if k in ("specifier", "marker", "from", "requirement")}}
            if asked not in item["asked"]:
                item["asked"].append(asked)
    return sorted(items.values(), key=lambda i: i["name"])


def _base_result() -> dict[str, Any]:
    import pip
    return {"version": 1, "pip": pip.__version__, "markers": _config.get("markers"),
            "failed": False, "stopped": False, "resolved": [], "watched": [], "causes": []}


def _on_resolved(result: Any) -> None:
    data = _base_result()
    try:
        data["resolved"] = _resolved_items(result)
    except Exception as exc:  # noqa: BLE001  (never break pip over our bookkeeping)
        data["hook_error"] = f"{type(exc).__name__}: {exc}"
    watch = set(_config.get("watch") or ())
    data["watched"] = [i["name"] for i in data["resolved"] if i["name"] in watch]
    data["stopped"] = bool(data["watched"] and _config.get("stop_on_watch") and _stoppable)
    _write_json(data)
    if data["stopped"]:
        raise _Stopped()


def _on_impossible(exc: Any, factory: Any) -> None:
    """Causes of ResolutionImpossible, and the candidates pip dropped on the way (a wheel
    with invalid metadata, a failed build: pip 26 reports a malformed marker that way)."""
    data = {**_base_result(), "failed": True}
    try:
        data["causes"] = [{**_describe(info.requirement), **_by(info.parent)}
                          for info in exc.causes]
        # The versions pip found for the target (its tags, its Python) for each name; its
        # finder caches them, so this asks the index nothing new.
        finder = getattr(factory, "_finder", None)
        for cause in data["causes"]:
            found = finder.find_all_candidates(cause["name"]) if finder is not None else []
            cause["available"] = [str(v) for v in sorted({c.version for c in found})]
        failures = getattr(factory, "_build_failures", None) or {}
        data["candidate_errors"] = [{"link": getattr(link, "url", str(link)), "error": str(err)}
                                    for link, err in failures.items()] + _dropped
    except Exception as err:  # noqa: BLE001  (as above)
        data["hook_error"] = f"{type(err).__name__}: {err}"
    _write_json(data)


def _on_error(exc: BaseException) -> None:
    """Another failure of the resolve (pip 24.0 crashes on a malformed marker): say what."""
    _write_json({**_base_result(), "failed": True, "error": f"{type(exc).__name__}: {exc}"})


# --- the patches ---------------------------------------------------------------------------


def _patch_markers(markers: dict[str, str]) -> None:
    """Make pip's vendored packaging see the target's marker environment.

    Every marker evaluation in pip (requirement files, the user's requirements via
    InstallRequirement.match_markers, dependency metadata via iter_dependencies in both
    metadata backends, pkg_resources, `pip check`) goes through Marker.evaluate, which calls
    the module-global `default_environment()` in packaging 21.3 (pip 24.0) and 26.3 (pip 26.3).
    The installation report imports the name itself, so it is patched there too.
    """
    pmarkers = _module("pip._vendor.packaging.markers")
    original = pmarkers.default_environment

    def target_environment() -> Any:
        env = original()
        if _depth <= 1 and not _host_only:
            env.update(markers)
        return env

    pmarkers.default_environment = target_environment
    _module("pip._internal.models.installation_report").default_environment = target_environment

    # Build requirements are checked against the build environment, which runs on the host.
    # (pip 24.0: a module; 26: a package re-exporting the base class that defines the check)
    cls = _module("pip._internal.build_env").BuildEnvironment
    check = cls.check_requirements

    def check_requirements(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _host_only
        _host_only += 1
        try:
            return check(self, *args, **kwargs)
        finally:
            _host_only -= 1

    cls.check_requirements = check_requirements


def _patch_resolver() -> None:
    """Watch pip's resolvelib run: `RLResolver` is the name pip's resolver module calls.

    The subclass sees resolvelib's Result (mapping, graph, criteria) right after the resolve,
    before `prepare_linked_requirements_more` (24.0: later in Resolver.resolve; 26.3: in the
    command): a stop there has fetched metadata only."""
    pip_resolver = _module("pip._internal.resolution.resolvelib.resolver")
    impossible = _module("pip._vendor.resolvelib").ResolutionImpossible

    base: Any = pip_resolver.RLResolver

    class HookedResolver(base):  # type: ignore[misc]
        def resolve(self, *args: Any, **kwargs: Any) -> Any:
            try:
                result = super().resolve(*args, **kwargs)
            except impossible as exc:
                if _depth == 1:
                    _on_impossible(exc, getattr(self.provider, "_factory", None))
                raise
            except Exception as exc:
                if _depth == 1:
                    _on_error(exc)
                raise
            if _depth == 1:
                _on_resolved(result)
            return result

    pip_resolver.RLResolver = HookedResolver
    logging.getLogger("pip._internal.resolution.resolvelib").addHandler(_DroppedHandler())
    outer = pip_resolver.Resolver.resolve

    def resolve(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _depth
        _depth += 1
        try:
            return outer(self, *args, **kwargs)
        finally:
            _depth -= 1

    pip_resolver.Resolver.resolve = resolve


def _patch_commands() -> None:
    """Turn _Stopped into STOP_EXIT_CODE inside the command's `run`: pip logs a BaseException
    escaping `run` as a crash (exit 2); a normal return also lets pip clean its temp dirs."""
    for name in ("install", "download", "wheel", "lock"):  # lock: pip >= 25.1
        try:
            cls = getattr(_module(f"pip._internal.commands.{name}"), f"{name.title()}Command")
        except (ImportError, AttributeError):
            continue
        original = cls.run

        def run(self: Any, options: Any, args: Any, _original: Any = original) -> int:
            global _stoppable
            _stoppable = True
            try:
                return int(_original(self, options, args))
            except _Stopped:
                sys.stdout.flush()
                sys.stderr.flush()
                return STOP_EXIT_CODE

        cls.run = run


# --- --python: run ourselves under the target interpreter ------------------------------------

# Run by the target: only `pip` and `pip_tfmac` come from our environment (pip then sees the
# target's site-packages as installed).
_BOOTSTRAP = """\
import runpy, sys
from importlib.machinery import PathFinder
need = tuple(int(n) for n in sys.argv[3].split("."))
if sys.version_info[:2] < need:  # pip's own message and exit code for its --python
    sys.exit("This version of pip does not support python %d.%d (requires >=%s)."
             % (sys.version_info[0], sys.version_info[1], sys.argv[3]))
ROOTS = {"pip": sys.argv[1], "pip_tfmac": sys.argv[2]}
class _Finder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        root = ROOTS.get(fullname)
        return PathFinder.find_spec(fullname, [root], target) if root else None
sys.meta_path.insert(0, _Finder())
del sys.argv[1:4]
runpy.run_module("pip_tfmac.runners.pip_hook", run_name="__main__", alter_sys=True)
"""


def _target_interpreter(args: list[str]) -> str | None:
    """The interpreter named by pip's general `--python` option, or None (run here)."""
    if os.environ.get(_SUBPROCESS_FLAG) or not any(a.startswith("--py") for a in args):
        return None  # (optparse takes abbreviations: --pyth is --python)
    from pip._internal.cli.main_parser import create_main_parser, identify_python_interpreter
    from pip._internal.exceptions import CommandError

    try:  # quietly: pip itself answers --help, --version and bad options
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            general, _rest = create_main_parser().parse_args(list(args))
    except SystemExit:  # --help, --version, a bad option: pip answers those itself
        return None
    if not general.python:  # (an option of the command, e.g. --python-version)
        return None
    interpreter = identify_python_interpreter(general.python)
    if interpreter is None:
        raise CommandError(f"Could not locate Python interpreter {general.python}")
    return str(interpreter)


def _reexec(interpreter: str, config_path: str, args: list[str]) -> int:
    roots = [os.path.dirname(os.path.dirname(os.path.abspath(_module(m).__file__)))
             for m in ("pip", "pip_tfmac")]
    with open(os.path.join(roots[0], "pip", "__pip-runner__.py"), encoding="utf-8") as runner:
        need = re.search(r"PYTHON_REQUIRES = \((\d+), (\d+)\)", runner.read())
    env = dict(os.environ, **{_SUBPROCESS_FLAG: "1"})
    argv = [interpreter, "-c", _BOOTSTRAP, *roots, f"{need[1]}.{need[2]}" if need else "3.0",
            config_path, *args]
    with subprocess.Popen(argv, env=env) as proc:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            return 1


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stderr.write("usage: python -m pip_tfmac.runners.pip_hook CONFIG.json [pip args]\n")
        return 2
    config_path, pip_args = args[0], args[1:]
    # As `python -m pip` does: the current directory is not an installed package.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)
    with open(config_path, encoding="utf-8") as handle:
        _config.update(json.load(handle))
    if _config.get("out") and not os.environ.get(_SUBPROCESS_FLAG):
        with contextlib.suppress(FileNotFoundError):  # a stale result must not be read as ours
            os.unlink(_config["out"])
    from pip._internal.exceptions import CommandError

    try:
        interpreter = _target_interpreter(pip_args)
        if interpreter is not None:
            return _reexec(interpreter, config_path, pip_args)
    except CommandError as exc:
        sys.stderr.write(f"ERROR: {exc}\n")
        return 1
    if _config.get("markers"):
        _patch_markers({str(k): str(v) for k, v in _config["markers"].items()})
    _patch_resolver()
    _patch_commands()
    from pip._internal.cli import main as pip_cli

    # pip 26 has `cli` (imports frozen after an install, for self-upgrades); 24.0 only `main`.
    entry = getattr(pip_cli, "cli", None) or pip_cli.main
    return int(entry(pip_args))


if __name__ == "__main__":
    sys.exit(main())
