"""Understand `pip install` arguments and requirement files exactly as pip does.

This is the one module that uses pip's internal API (pip has no public one): its install
command's option parser, which merges pip's config files and PIP_* variables, and its
requirement-file parser, which follows nested -r/-c. The supported pip range is pinned in
pyproject.toml and the suite runs on its oldest and newest release (tox.ini).
"""

from __future__ import annotations

import optparse
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

from pip_tfmac.errors import BadInputError, UsageError
from pip_tfmac.core.plan import Request
from pip_tfmac.core.target import MACOS_ARM64

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
}

# Requirement-bearing options of pip install: pip-tfmac re-emits them, rewritten.
_REQUIREMENT_DESTS = {"requirements", "constraints", "editables"}


class PipCrashingInput(BadInputError):
    """Input that some supported pip releases crash on with a traceback (recursive -r, a file
    that is not UTF-8, an invalid marker): pip-tfmac reports it itself instead of handing it on."""


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
    timeout = values.get("--verify-timeout", "300")
    try:
        verify_timeout = float(timeout)
    except ValueError:
        raise UsageError(f"--verify-timeout {timeout!r} is not a number of seconds.", "for example --verify-timeout 300") from None
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
        cache_dir=values.get("--tfmac-cache-dir") or os.environ.get("PIP_TFMAC_CACHE_DIR") or None,
        verify_timeout=verify_timeout,
    )
    return own, rest, shorthand


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
            _check_requirement(request)
            requests.append(request)
        else:
            _read_requirement_file(value, constraint=(kind == "constraint"), values=values,
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


def _check_requirement(request: Request) -> None:
    """A string that is neither a PEP 508 requirement nor a path/URL is bad input, said before pip runs."""
    if request.editable or request.requirement is not None:
        return
    from packaging.requirements import InvalidRequirement, Requirement

    name_part, semicolon, _marker = request.text.partition(";")
    looks_like_path = any(c in name_part for c in "/\\") or "://" in name_part or os.path.exists(name_part.strip())
    if looks_like_path:
        return
    try:
        Requirement(name_part)
    except InvalidRequirement as exc:
        raise BadInputError(f"invalid requirement {request.text!r} ({request.origin}): {exc}",
                            "write it as NAME, NAME==VERSION or NAME>=VERSION (PEP 508)") from None
    if semicolon:
        raise PipCrashingInput(f"invalid environment marker in {request.text!r} ({request.origin}).",
                               "write the marker as in PEP 508, e.g. NAME; python_version >= '3.10'")


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
            if option is not None and option.dest in _REQUIREMENT_DESTS and value is not None:
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
                    if option.dest in _REQUIREMENT_DESTS:
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


def _read_requirement_file(path: str, *, constraint: bool, values: Any, requests: list[Request],
                           file_options: list[str]) -> None:
    import logging

    from pip._internal.exceptions import InstallationError
    from pip._internal.req.req_file import RequirementsFileParser, get_line_parser

    # pip's decoder warns through the root logger ("WARNING:root:unable to decode ..."): keep
    # that stray line out of our one message.
    logging.getLogger().addHandler(logging.NullHandler())
    session = None
    if "://" in path and not path.startswith("file:"):
        from pip._internal.commands import create_command

        session = create_command("install")._build_session(values)  # type: ignore[attr-defined]
    elif not os.path.exists(path):
        raise BadInputError(f"requirements file {path!r} does not exist.",
                            "check the path given to -r/-c (it is relative to the current directory)")
    try:
        parser = RequirementsFileParser(session, _line_parser(get_line_parser(None)))  # type: ignore[arg-type]
        for line in parser.parse(path, constraint):
            origin = f"{line.filename}:{line.lineno}"
            if getattr(line, "requirement", None) is not None:  # pip < 24.1 omits it on option lines
                hashes = _hash_options(getattr(line.opts, "hashes", None))
                text = line.requirement or ""
                request = Request(text, origin=origin, constraint=line.constraint,
                                  editable=line.is_editable, line_options=hashes)
                _check_requirement(request)  # stop at the first bad line, as pip does
                requests.append(request)
            else:
                flags = " ".join(_option_line(line.opts, line.filename))
                if flags:  # one line, as written: pip applies the flags of a line in order
                    file_options.append(flags)
    except RecursionError:
        raise PipCrashingInput(f"requirements file {path!r} recursively references itself (recursive -r/-c).",
                            "remove the line that includes the file again") from None
    except UnicodeDecodeError as exc:
        raise PipCrashingInput(f"requirements file {path!r} is not valid text: {exc}.",
                            "save it as UTF-8") from None
    except InstallationError as exc:
        if "recursively references itself" in str(exc):
            raise PipCrashingInput(f"requirements file {path!r} includes itself (recursive -r/-c): {exc}",
                                   "remove the line that includes the file again") from None
        raise BadInputError(f"cannot read requirements file {path!r}: {exc}",
                            "fix the line named above (pip's requirement file format)") from None
    except OSError as exc:
        raise BadInputError(f"cannot read requirements file {path!r}: {exc.strerror or exc}.",
                            "check the path and its permissions") from None


def _line_parser(slow: Callable[[str], tuple[str, Any]]) -> Callable[[str], tuple[str, Any]]:
    """pip's line parser builds a new optparse parser for every line (~0.7 ms; 7 s for 10,000
    lines). A line without options gets a copy of the defaults of one parser instead: the same
    values parse_args([]) would return. Lines with options go to pip's parser."""
    import copy

    try:
        from pip._internal.req.req_file import break_args_options, build_parser

        template = build_parser().get_default_values()
        template.index_url = None
    except (ImportError, AttributeError):  # a pip whose internals differ: its own parser
        return slow

    def parse_line(line: str) -> tuple[str, Any]:
        args_str, options_str = break_args_options(line)
        if options_str.strip():
            return slow(line)
        return args_str, copy.deepcopy(template)

    return parse_line


def _hash_options(hashes: Any) -> tuple[str, ...]:
    """pip keeps a line's --hash values as {algorithm: [digests]}."""
    if not hashes:
        return ()
    if isinstance(hashes, dict):
        return tuple(f"--hash={algo}:{digest}" for algo, digests in hashes.items() for digest in digests)
    return tuple(f"--hash={h}" for h in hashes)


def _option_line(opts: Any, filename: str) -> Iterable[str]:
    """Re-emit a requirement file's option line (--index-url, --find-links, ...) for pip."""
    from pip._internal.req.req_file import SUPPORTED_OPTIONS

    seen: set[str] = set()
    for factory in SUPPORTED_OPTIONS:
        option = factory()
        if option.dest is None or option.dest in _REQUIREMENT_DESTS:
            continue  # nested files are followed by the parser itself
        value = getattr(opts, option.dest, None)
        if option.dest in ("format_control", "release_control"):
            # Two flags share each of these objects: rebuild the flags from it, once.
            if option.dest not in seen and value is not None:
                seen.add(option.dest)
                yield from _control_flags(option.dest, value)
            continue
        if value in (None, False, [], option.default):
            continue
        flag = option.get_opt_string()
        if option.dest == "find_links":
            base = os.path.dirname(os.path.abspath(filename))
            for link in value or ():
                relative = os.path.join(base, link)
                yield f"{flag} {relative if os.path.exists(relative) else link}"
        elif isinstance(value, list):
            for item in value:
                yield f"{flag} {item}"
        elif value is True:
            yield flag
        else:
            yield f"{flag} {value}"


def _control_flags(dest: str, value: Any) -> Iterable[str]:
    """`--no-binary`/`--only-binary` from a FormatControl, `--all-releases`/`--only-final` from
    a ReleaseControl (pip >= 26), in an order that rebuilds the same object when pip reads them."""
    if dest == "format_control":
        pairs = [("--no-binary", set(value.no_binary)), ("--only-binary", set(value.only_binary))]
        pairs.sort(key=lambda pair: ":all:" not in pair[1])  # ":all:" first: it clears the other set
        for flag, names in pairs:
            if names:
                yield f"{flag} {','.join(sorted(names))}"  # ":all:" is never beside a name
        return
    ordered = getattr(value, "get_ordered_args", None)
    for attr, name in ordered() if ordered else ():
        yield f"--{attr.replace('_', '-')} {name}"
