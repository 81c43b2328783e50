"""Understand `pip install` arguments exactly as pip does.

One of the two modules that use pip's internal API (pip has no public one; the other is
reqfile.py): its install command's option parser, which merges pip's config files and PIP_*
variables. The supported pip range is pinned in pyproject.toml and the suite runs on its oldest
and newest release (tox.ini).
"""

from __future__ import annotations

import math
import optparse
import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence
from pip_tfmac.errors import CacheError, UsageError
from pip_tfmac.core.requests import Request
from pip_tfmac.core.target import MACOS_ARM64, parse_macos_version
from pip_tfmac.runners.reqfile import REQUIREMENT_DESTS, check_requirement, read_requirement_file


# pip-tfmac's own options for install/download/plan: name -> takes a value. None is a prefix of a
# pip option (optparse would expand an abbreviation to pip's option otherwise).
OWN_OPTIONS = {
    "--explain": False,
    "--strict": False,
    "--no-metal": False,
    "--allow-unverified-metal": False,
    "--json": False,
    "--no-verify": False,
    "--require-gpu": False,
    "--offline": False,
    "--no-tfmac-cache": False,
    "--macos-version": True,
    "--tfmac-cache-dir": True,
    "--verify-timeout": True,
    "--backend": True,
}

BACKENDS = ("pip", "uv")  # --backend / PIP_TFMAC_BACKEND



@dataclass(frozen=True)
class OwnOptions:
    explain: bool = False
    strict: bool = False
    no_metal: bool = False
    allow_unverified_metal: bool = False
    json: bool = False
    no_verify: bool = False
    require_gpu: bool = False
    offline: bool = False
    no_cache: bool = False
    macos_version: Optional[str] = None
    cache_dir: Optional[str] = None
    verify_timeout: float = 300.0
    backend: str = "pip"  # who resolves and installs the plan: pip or uv

@dataclass(frozen=True)
class InstallArgs:
    """An install/download/plan command line, taken apart."""

    command: str
    general: tuple[str, ...]  # pip's general options given before the command word
    passthrough: tuple[str, ...]  # every other option, verbatim, for pip
    requests: tuple[Request, ...]
    file_options: tuple[str, ...]  # index/find-links/... options found inside requirement files
    own: OwnOptions
    macos_shorthand: bool
    platforms: tuple[str, ...]
    python_version: Optional[str]
    target_dir: Optional[str]
    dry_run: bool
    report: Optional[str]
    values: Any = field(default=None, compare=False, repr=False)  # pip's parsed optparse.Values

    @property
    def cross(self) -> bool:
        return bool(self.platforms or self.macos_shorthand or self.python_version)

def split_own(tokens: Sequence[str]) -> tuple[OwnOptions, list[str], bool]:
    """Take pip-tfmac's options (and the macos-arm64 shorthand) out of the argument list."""
    values: dict[str, Any] = {}
    rest: list[str] = []
    shorthand = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            rest.extend(tokens[i:])
            break
        name, eq, inline = token.partition("=")
        if name in OWN_OPTIONS:
            if OWN_OPTIONS[name]:
                if eq:
                    value = inline
                elif i + 1 < len(tokens):
                    value = tokens[i + 1]
                    i += 1
                else:
                    raise UsageError(f"{name} needs a value.", f"for example {name} 14" if "macos" in name else f"{name} VALUE")
                values[name] = value
            else:
                values[name] = True
            i += 1
            continue
        if name == "--platform":
            value = inline if eq else (tokens[i + 1] if i + 1 < len(tokens) else "")
            if value in (MACOS_ARM64, "macos_arm64"):
                shorthand = True
                i += 1 if eq else 2
                continue
        rest.append(token)
        i += 1
    verify_timeout = seconds("--verify-timeout", values.get("--verify-timeout", "300"))
    if values.get("--macos-version") is not None:
        # Checked here, before anything runs: a bad value must not wait for the plan (or be
        # ignored by a request that never plans) while pip changes the environment.
        parse_macos_version(values["--macos-version"])
    cache_dir = values.get("--tfmac-cache-dir")
    if cache_dir is not None and not cache_dir.strip():
        raise UsageError("--tfmac-cache-dir needs a folder, not an empty value.",
                         "for example --tfmac-cache-dir ~/tfmac-wheels, or --no-tfmac-cache")
    cache_dir = cache_dir or os.environ.get("PIP_TFMAC_CACHE_DIR") or None
    folder = os.path.expanduser(cache_dir) if cache_dir else ""
    if folder and not values.get("--no-tfmac-cache") and os.path.exists(folder) and not os.path.isdir(folder):
        # Before pip runs: a request that never plans would otherwise accept the bad folder.
        raise CacheError(f"the wheelhouse folder {cache_dir!r} cannot be used: it is a file, not a folder.",
                         "give a folder to --tfmac-cache-dir or PIP_TFMAC_CACHE_DIR (or use --no-tfmac-cache)")
    backend = values.get("--backend") or os.environ.get("PIP_TFMAC_BACKEND") or "pip"
    if backend not in BACKENDS:
        where = "--backend" if "--backend" in values else "PIP_TFMAC_BACKEND"
        raise UsageError(f"{where} {backend!r} is not a backend pip-tfmac knows.", "use pip (the default) or uv")
    own = OwnOptions(
        explain=bool(values.get("--explain")),
        strict=bool(values.get("--strict")),
        no_metal=bool(values.get("--no-metal")),
        allow_unverified_metal=bool(values.get("--allow-unverified-metal")),
        json=bool(values.get("--json")),
        no_verify=bool(values.get("--no-verify")),
        require_gpu=bool(values.get("--require-gpu")),
        offline=bool(values.get("--offline")),
        no_cache=bool(values.get("--no-tfmac-cache")),
        macos_version=values.get("--macos-version"),
        cache_dir=cache_dir,
        verify_timeout=verify_timeout,
        backend=backend,
    )
    return own, rest, shorthand

def seconds(option: str, text: str) -> float:
    """A time limit in seconds: a finite number above zero. `float()` alone accepts 'nan',
    'inf' and negatives, which would pass here and fail only after the install changed things."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a number of seconds.", f"for example {option} 300") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} {text!r} is not a number of seconds above zero.",
                         f"for example {option} 300") from None
    return value


def parse_install(args: Sequence[str], index: int, pip_command: str = "install") -> InstallArgs:
    """Parse `[general] COMMAND [options] [reqs]` the way pip would for `pip_command`."""
    own, rest, shorthand = split_own(list(args[index + 1 :]))
    general = tuple(args[:index])
    from pip._internal.commands import create_command

    command = create_command(pip_command, isolated=("--isolated" in general or "--isolated" in rest))
    values, positional = _parse(command.parser, [*general, *rest])
    passthrough, cli_requests = _split_requirement_tokens(command.parser, rest)
    requests: list[Request] = []
    file_options: list[str] = []
    for kind, value in cli_requests:
        if kind in ("requirement", "editable"):
            request = Request(value, editable=(kind == "editable"))
            check_requirement(request)
            requests.append(request)
        else:
            read_requirement_file(value, constraint=(kind == "constraint"), values=values,
                                   requests=requests, file_options=file_options)
    platforms = tuple(getattr(values, "platforms", None) or ())
    return InstallArgs(
        command=args[index],
        general=general,
        passthrough=tuple(passthrough),
        requests=tuple(requests),
        file_options=tuple(file_options),
        own=own,
        macos_shorthand=shorthand,
        platforms=platforms,
        python_version=_python_version(values),
        target_dir=getattr(values, "target_dir", None),
        dry_run=bool(getattr(values, "dry_run", False)),
        report=getattr(values, "json_report_file", None),
        values=values,
    )


def _python_version(values: Any) -> Optional[str]:
    version = getattr(values, "python_version", None)
    if not version:
        return None
    # pip stores --python-version as a tuple of ints
    if isinstance(version, (tuple, list)):
        return ".".join(str(p) for p in version[:2])
    return str(version)

class _ParserExit(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

def _parse(parser: optparse.OptionParser, tokens: list[str]) -> tuple[Any, list[str]]:
    # pip's parser exits the process on a bad option; turn that into our error.
    def error(msg: str) -> None:
        raise _ParserExit(msg)

    original = parser.error
    parser.error = error  # type: ignore[method-assign,assignment]
    try:
        return parser.parse_args(tokens)
    except _ParserExit as exc:
        raise UsageError(exc.message, "run `pip-tfmac help install` for pip's install options") from None
    finally:
        parser.error = original  # type: ignore[method-assign]

def _split_requirement_tokens(parser: optparse.OptionParser, tokens: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Separate requirement-bearing arguments (-r/-c/-e and positionals) from the rest, in order."""
    keep: list[str] = []
    found: list[tuple[str, str]] = []
    kind_of = {"requirements": "file", "constraints": "constraint", "editables": "editable"}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            found.extend(("requirement", t) for t in tokens[i + 1 :])
            break
        if token.startswith("--"):
            name, eq, inline = token.partition("=")
            option = _long_option(parser, name)
            takes = option is not None and option.takes_value()
            value = inline if eq else (tokens[i + 1] if takes and i + 1 < len(tokens) else None)
            step = 1 if (eq or not takes) else 2
            if option is not None and option.dest in REQUIREMENT_DESTS and value is not None:
                found.append((kind_of[option.dest], value))
            else:
                keep.extend(tokens[i : i + step])
            i += step
            continue
        if token.startswith("-") and token != "-":
            # a cluster of short options: -qq, -rFILE, -r FILE, -Ur FILE
            j = 1
            consumed = 1
            cluster_keep = "-"
            while j < len(token):
                option = parser._short_opt.get("-" + token[j])  # type: ignore[attr-defined]
                if option is not None and option.takes_value():
                    value = token[j + 1 :] or (tokens[i + 1] if i + 1 < len(tokens) else "")
                    if not token[j + 1 :]:
                        consumed = 2
                    if option.dest in REQUIREMENT_DESTS:
                        found.append((kind_of[option.dest], value))
                    else:
                        cluster_keep += token[j] + token[j + 1 :]
                        if consumed == 2:
                            keep.append(cluster_keep)
                            keep.append(value)
                            cluster_keep = ""
                    break
                cluster_keep += token[j]
                j += 1
            if cluster_keep not in ("", "-"):
                keep.append(cluster_keep)
            i += consumed
            continue
        found.append(("requirement", token))
        i += 1
    return keep, found

def _long_option(parser: optparse.OptionParser, name: str) -> Optional[optparse.Option]:
    try:
        full = parser._match_long_opt(name)  # type: ignore[attr-defined]
    except optparse.BadOptionError:
        return None
    except optparse.AmbiguousOptionError:
        return None
    return parser._long_opt.get(full)  # type: ignore[attr-defined,no-any-return]
