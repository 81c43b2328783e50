"""uv as the resolver and installer (`--backend uv`): `uv pip compile` for the plan's dry runs,
`uv pip install` for the install, with the same requirement/constraint files and wheelhouse.

uv comes from the `pip-tfmac[uv]` extra (the `uv` package next to pip-tfmac) or from PATH; a
missing or too old uv is a usage error (64). pip's options are translated to uv's spelling
(`translate`); those uv has no equivalent for are refused, by name, before anything runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Optional, Sequence

from pip_tfmac.core.target import Target
from pip_tfmac.errors import UsageError
from pip_tfmac.runners.backend import Call
from pip_tfmac.runners import uv_find, uv_prefetch
from pip_tfmac.runners.passthrough import run_to_completion
from pip_tfmac.runners.pip import PipResult

MIN_UV = uv_find.MIN_UV
DEFAULT_INDEX = "https://pypi.org/simple"

# pip option -> uv option (same value, or a flag).
_SAME_VALUE = {"--only-binary": "--only-binary", "--no-binary": "--no-binary",
               "--config-settings": "--config-setting", "--keyring-provider": "--keyring-provider",
               "--trusted-host": "--allow-insecure-host", "--cache-dir": "--cache-dir"}
_FLAGS = {"-U": "--upgrade", "--upgrade": "--upgrade", "--force-reinstall": "--reinstall",
          "--no-deps": "--no-deps", "--pre": "--prerelease=allow", "--require-hashes": "--require-hashes",
          "--no-build-isolation": "--no-build-isolation", "--compile": "--compile-bytecode",
          "--break-system-packages": "--break-system-packages", "--no-cache-dir": "--no-cache",
          "-q": "-q", "--quiet": "-q", "-v": "-v", "--verbose": "-v", "--dry-run": "--dry-run"}
# flags uv's install has and its compile lacks (they change how, not what, is installed)
_INSTALL_ONLY_FLAGS = {"--force-reinstall", "--compile", "--break-system-packages", "--require-hashes", "--dry-run"}
# install-only options that uv spells the same (ignored by the resolve: they change where, not what)
_INSTALL_ONLY = {"-t": "--target", "--target": "--target", "--prefix": "--prefix"}
# pip options that change nothing uv does (output, pip's own checks): dropped
_DROP_FLAGS = {"--no-compile", "--no-warn-script-location", "--no-warn-conflicts", "--isolated",
               "--disable-pip-version-check", "--no-input", "--no-color", "--no-python-version-warning",
               "--require-virtualenv", "--no-index"}
_DROP_VALUE = {"--progress-bar", "--root-user-action", "--python-version", "--platform",
               "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--python", "--timeout",
               "--retries", "--exists-action"}
_VALUE_OPTIONS = {*_SAME_VALUE, *_INSTALL_ONLY, *_DROP_VALUE, "--user", "--root", "--src", "--upgrade-strategy",
                  "--implementation", "--abi", "--report", "--proxy", "--cert", "--client-cert", "--log",
                  "--global-option", "--use-feature", "--use-deprecated", "--resume-retries"}
_SHORT_FLAGS = {"q": "-q", "v": "-v", "U": "--upgrade"}


def translate(tokens: Sequence[str], *, install: bool) -> list[str]:
    """pip's options (the user's, verbatim) in uv's spelling; raises UsageError naming the ones
    uv lacks. Index, find-links, target platform and Python are not read here: they come from
    pip's parsed values and the plan's target (`argv`)."""
    out: list[str] = []
    refused: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, eq, inline = token.partition("=")
        if not name.startswith("--") and name.startswith("-") and len(name) > 2 and all(c in _SHORT_FLAGS for c in name[1:]):
            out += [_SHORT_FLAGS[c] for c in name[1:]]
            i += 1
            continue
        takes = name in _VALUE_OPTIONS or (name in ("-t",))
        value = inline if eq else (tokens[i + 1] if takes and i + 1 < len(tokens) else None)
        i += 1 if (eq or not takes) else 2
        if name in _FLAGS:
            if install or name not in _INSTALL_ONLY_FLAGS:
                out.append(_FLAGS[name])
        elif name in _SAME_VALUE and value is not None:
            out += [_SAME_VALUE[name], value]
        elif name in _INSTALL_ONLY and value is not None:
            if install:
                out += [_INSTALL_ONLY[name], value]
        elif name == "--upgrade-strategy" and value == "only-if-needed":
            pass  # uv's behaviour
        elif name in _DROP_FLAGS or name in _DROP_VALUE:
            pass
        else:
            refused.append(name)
    if refused:
        names = ", ".join(dict.fromkeys(refused))
        raise UsageError(f"uv has no equivalent of pip's {names}: the uv backend cannot carry it out.",
                         "drop it, or use the pip backend (--backend pip, the default)")
    return out


def python_platform(target: Target) -> tuple[Optional[str], dict[str, str]]:
    """uv's --python-platform for a cross target, and the environment it needs (the macOS
    version goes through MACOSX_DEPLOYMENT_TARGET, which uv reads for Apple targets)."""
    machine = {"arm64": "aarch64", "aarch64": "aarch64", "x86_64": "x86_64", "amd64": "x86_64"}.get(target.machine)
    if target.system == "macos" and machine:
        env = {"MACOSX_DEPLOYMENT_TARGET": "%d.%d" % target.macos_version} if target.macos_version else {}
        return f"{machine}-apple-darwin", env
    if target.system == "linux" and machine:
        glibc = _manylinux(target.pip_platforms)
        return (f"{machine}-manylinux_{glibc[0]}_{glibc[1]}" if glibc else f"{machine}-unknown-linux-gnu"), {}
    if target.system == "windows" and machine:
        return f"{machine}-pc-windows-msvc", {}
    return None, {}


def _manylinux(tags: Sequence[str]) -> Optional[tuple[int, int]]:
    best: Optional[tuple[int, int]] = None
    for tag in tags:
        m = re.match(r"manylinux_(\d+)_(\d+)_", tag)
        found = (int(m.group(1)), int(m.group(2))) if m else ((2, 17) if tag.startswith("manylinux2014_") else None)
        if found and (best is None or found > best):
            best = found
    return best


def argv(uv: str, call: Call, *, install: bool) -> tuple[list[str], dict[str, str]]:
    """The uv command (compile for a resolve, install for an install) and its extra environment."""
    out = [uv, "pip", "install" if install else "compile"]
    env: dict[str, str] = {}
    if call.target.cross:
        platform, env = python_platform(call.target)
        if platform is None:
            raise UsageError(f"uv cannot resolve for {call.target.describe}: no uv --python-platform fits it.",
                             "use the pip backend (--backend pip, the default) for this target")
        out += ["--python-platform", platform, "--python-version", call.target.python_version]
        if install:
            out += ["--python", call.python]
    else:
        out += ["--python", call.python]
    out += translate([*call.general, *call.passthrough], install=install)
    out += _index_args(call.values, call.offline)
    out += ["-r", call.requirements_file] if install else [call.requirements_file]
    if call.constraints_file:
        out += ["-c", call.constraints_file]
    for link in call.find_links:
        out += ["--find-links", link]
    if not install:
        out += ["--no-header", "--annotation-style", "line"]
    return out, env


def _index_args(values: Any, offline: bool) -> list[str]:
    """pip's index settings (its command line, config files and PIP_* merged) for uv."""
    out: list[str] = []
    if offline or getattr(values, "no_index", False):
        return ["--no-index", *[a for link in getattr(values, "find_links", None) or () for a in ("--find-links", link)]]
    index = getattr(values, "index_url", None)
    if index and index.rstrip("/") != DEFAULT_INDEX:
        out += ["--index-url", index]
    for extra in getattr(values, "extra_index_urls", None) or ():
        out += ["--extra-index-url", extra]
    for link in getattr(values, "find_links", None) or ():
        out += ["--find-links", link]
    return out


_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)(?:\s*;[^#]*)?(?:\s*#\s*via\s+(.*))?$")


def parse_compile(text: str) -> dict[str, Any]:
    """`uv pip compile --annotation-style line` output as a pip `--report` (install entries with
    name, version, requested, and Requires-Dist rebuilt from uv's `# via` annotations)."""
    entries: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m:
            via = [v.strip() for v in (m.group(3) or "").split(",") if v.strip()]
            entries.append((m.group(1), m.group(2), via))
    requires: dict[str, list[str]] = {}
    for name, _version, via in entries:
        for parent in via:
            requires.setdefault(parent.split("[")[0].lower(), []).append(name)
    install = []
    for name, version, via in entries:
        install.append({"metadata": {"name": name, "version": version,
                                     "requires_dist": requires.get(name.lower(), [])},
                        "requested": any(v.startswith("-r ") for v in via), "download_info": {}})
    return {"version": "1", "installer": "uv", "install": install}


def hashed_pins(text: str) -> str:
    """`uv pip compile --generate-hashes` output, one requirement a line, markers dropped."""
    out: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        words = line.split("#", 1)[0].split() if not line.lstrip().startswith("#") else []
        if not words:
            continue
        pin = " ".join(words[:3]) if len(words) > 2 and words[1] == "@" else words[0]
        hashes = [w for w in words if w.startswith("--hash=")]
        out.append(" ".join([pin, *hashes]))
    return "\n".join(out) + ("\n" if out else "")


def uv_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


class UvBackend:
    name = "uv"

    def __init__(self, uv: str) -> None:
        self.uv = uv
        self.resolved_once = False

    def dry_run(self, call: Call) -> PipResult:
        """`uv pip compile` of the plan. A plan resolves two or three times within seconds (the
        first finds the TensorFlow to pair, the next the paired set): after the first, uv is
        asked `--offline` first (the index pages it just read, from its cache: no round trip
        per project), and online again only when that fails."""
        cmd, extra = argv(self.uv, call, install=False)
        proc = None
        fresh = self.resolved_once or (not call.target.cross and uv_prefetch.warmed(call.python))
        if fresh and not call.offline:
            proc = subprocess.run([*cmd, "--offline"], capture_output=True, text=True, errors="replace",
                                  env=uv_env(extra))
            if proc.returncode != 0:
                proc = None
        if proc is None:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=uv_env(extra))
        self.resolved_once = self.resolved_once or proc.returncode == 0
        report = parse_compile(proc.stdout) if proc.returncode == 0 else None
        stdout = proc.stdout
        if report is not None:
            stdout = "Would install " + " ".join(f"{e['metadata']['name']}-{e['metadata']['version']}"
                                                 for e in report["install"]) + "\n"
        return PipResult(tuple(cmd), proc.returncode, stdout, proc.stderr, report)

    def pins_with_hashes(self, call: Call) -> Optional[str]:
        """The plan's set as `name==version --hash=sha256:...` lines (one a line, no markers:
        uv resolved for the target, so every line is needed there), from uv's cache when the
        plan's compile just filled it; None when uv cannot say."""
        cmd, extra = argv(self.uv, call, install=False)
        cmd = [a for a in cmd if a not in ("--annotation-style", "line")] + ["--generate-hashes", "--no-annotate"]
        proc = None
        for attempt in ([*cmd, "--offline"], cmd) if self.resolved_once and not call.offline else (cmd,):
            proc = subprocess.run(attempt, capture_output=True, text=True, errors="replace", env=uv_env(extra))
            if proc.returncode == 0:
                return hashed_pins(proc.stdout)
        return None

    def install(self, call: Call) -> int:
        """`uv pip install` of the plan. After the plan's compile (seconds ago, online) uv is
        asked `--offline` first: the index pages it just read and the wheels in its cache (no
        second round trip per project: a warm install costs what uv's own install costs).
        Online again only when that fails (a wheel uv has not downloaded yet); the failed
        offline attempt's messages are not shown."""
        cmd, extra = argv(self.uv, call, install=True)
        env = uv_env(extra)
        if self.resolved_once and not call.offline and "--no-cache" not in cmd:
            with tempfile.TemporaryFile() as output:
                code = run_to_completion([*cmd, "--offline"], env=env, output=output)
                if code in (0, 130, 143):  # installed (or interrupted: nothing is run again)
                    output.seek(0)
                    sys.stderr.flush()
                    shutil.copyfileobj(output, sys.stderr.buffer)  # uv's own summary
                    sys.stderr.buffer.flush()
                    return code
        return run_to_completion(cmd, stdout_to_stderr=call.stdout_to_stderr, env=env)


def version_of(uv: str) -> Optional[tuple[int, ...]]:
    """uv's version (`uv --version`), kept between runs while the binary is unchanged."""
    return uv_find.version_of(uv)


def candidates() -> list[str]:
    """Where uv is looked for: the `uv` package installed with pip-tfmac (the extra), then PATH."""
    return uv_find.candidates()


def find_uv() -> str:
    """The uv to run: the extra's, else PATH's (checked once per process); a usage error when
    none is recent enough."""
    return uv_find.find(candidates())
