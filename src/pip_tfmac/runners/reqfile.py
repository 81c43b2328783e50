"""Requirement files read by pip's own parser (nested -r/-c, options lines, per-line --hash),
turned into Request values and re-emittable option lines. Uses pip's internal API.
"""

from __future__ import annotations

import os
import shlex
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable
from pip_tfmac.errors import BadInputError, TfmacError
from pip_tfmac.core.requests import Request

if TYPE_CHECKING:
    from packaging.markers import Marker


def read_requirement_file(path: str, *, constraint: bool, values: Any, requests: list[Request],
                           file_options: list[str], _network: bool = False) -> None:
    import logging

    from pip._internal.exceptions import InstallationError
    from pip._internal.req.req_file import RequirementsFileParser, get_line_parser

    # pip's decoder warns through the root logger ("WARNING:root:unable to decode ..."): keep
    # that stray line out of our one message.
    logging.getLogger().addHandler(logging.NullHandler())
    session = None
    if _network or ("://" in path and not path.startswith("file:")):
        from pip._internal.commands import create_command

        session = create_command("install")._build_session(values)  # type: ignore[attr-defined]
    elif not os.path.exists(path):
        raise BadInputError(f"requirements file {path!r} does not exist.",
                            "check the path given to -r/-c (it is relative to the current directory)")
    before_requests, before_options = len(requests), len(file_options)
    try:
        parser = RequirementsFileParser(session, _line_parser(get_line_parser(None)))  # type: ignore[arg-type]
        for line in parser.parse(path, constraint):
            origin = f"{line.filename}:{line.lineno}"
            if getattr(line, "requirement", None) is not None:  # pip < 24.1 omits it on option lines
                hashes = _hash_options(getattr(line.opts, "hashes", None))
                text = line.requirement or ""
                request = Request(text, origin=origin, constraint=line.constraint,
                                  editable=line.is_editable, line_options=hashes)
                check_requirement(request)  # stop at the first bad line, as pip does
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
    except TfmacError:
        raise
    except Exception as exc:  # pip's network errors (no common base across pip releases)
        if session is None and isinstance(exc, AttributeError) and not _network:
            # A local file that includes a URL (-r https://...): pip needs a session for that
            # one; read it again with one (a session costs time, so only when needed).
            del requests[before_requests:], file_options[before_options:]
            read_requirement_file(path, constraint=constraint, values=values, requests=requests,
                                  file_options=file_options, _network=True)
            return
        if session is None:
            raise
        # An unreachable URL is bad input the user can fix, not a bug in pip-tfmac (75).
        reason = getattr(exc, "message", None) or getattr(exc, "reason", None) or exc
        reason = re.sub(r"\[/?[a-z ]*\]", "", str(reason))  # pip's rich markup: [magenta]..[/]
        raise BadInputError(f"cannot fetch requirements file {path!r}: {type(exc).__name__}: {reason}",
                            "check the URL and the network (pip's proxy and index settings apply), "
                            "or download the file and give its path") from None

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
        if option.dest is None or option.dest in REQUIREMENT_DESTS:
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
                yield f"{flag} {shlex.quote(relative if os.path.exists(relative) else link)}"
        elif isinstance(value, list):
            for item in value:
                yield f"{flag} {shlex.quote(str(item))}"
        elif value is True:
            yield flag
        else:
            yield f"{flag} {shlex.quote(str(value))}"

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


# Requirement-bearing options of pip install: pip-tfmac re-emits them, rewritten.
REQUIREMENT_DESTS = {"requirements", "constraints", "editables"}

class PipCrashingInput(BadInputError):
    """Input that some supported pip releases crash on with a traceback (recursive -r, a file
    that is not UTF-8, an invalid marker): pip-tfmac reports it itself instead of handing it on."""

def check_requirement(request: Request) -> None:
    """A string that is neither a PEP 508 requirement nor a path/URL is bad input, said before pip
    runs; so is a marker that parses but cannot be evaluated (`os_name === "posix"`: pip crashes
    on it with a traceback)."""
    if request.editable:
        return
    parsed = request.requirement
    if parsed is not None:
        if parsed.marker is not None:
            check_marker(parsed.marker, request)
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


def check_marker(marker: "Marker", request: Request) -> None:
    """Evaluate the marker once (for this machine, any extra): one that raises is bad input."""
    from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName

    try:
        marker.evaluate({"extra": ""})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise PipCrashingInput(f"invalid environment marker in {request.text!r} ({request.origin}): {exc}",
                               "write the marker as in PEP 508, e.g. NAME; os_name == 'posix' "
                               "or NAME; python_version >= '3.10'") from None
