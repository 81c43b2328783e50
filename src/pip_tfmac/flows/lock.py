"""`lock`: one requirement set, planned and resolved for each target, written as one pylock.toml.

    for each target: plan -> build local wheels -> pip dry run with --report   (flows/plan)
    then: packages with markers, wheels with sha256 (core/pylock) -> TOML, written atomically

Nothing is written until every target has resolved. The wheels pip-tfmac built go into a
`wheels/` folder next to the lock (a relative `path`), or are referenced by the URL of the index
they were published to (`--built-wheels-url`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote, unquote, urlparse

from packaging.utils import canonicalize_name

from pip_tfmac.core.pylock import LockedEnv, LockedWheel, TargetEnv, build_lock
from pip_tfmac.errors import BadInputError
from pip_tfmac.flows.plan import resolve
from pip_tfmac.flows.resolution import Resolved
from pip_tfmac.runners.pipargs import parse_install
from pip_tfmac.wheelhouse.names import redact_url

WHEELS_DIR = "wheels"
TF_NAMES = ("tensorflow", "tensorflow-macos")


@dataclass(frozen=True)
class LockRequest:
    general: tuple[str, ...]  # pip's general options before the command word
    install_args: tuple[str, ...]  # install options and requirements (no target options)
    targets: tuple[TargetEnv, ...]  # empty: the one target the install options describe
    output: Path
    built_wheels_url: Optional[str] = None


@dataclass(frozen=True)
class LockOutcome:
    path: Path
    envs: tuple[LockedEnv, ...]
    copied: tuple[str, ...]


def _argv_for(request: LockRequest, target: Optional[TargetEnv]) -> list[str]:
    argv = [*request.general, "install", *request.install_args]
    if target is not None:
        argv += target.pip_options()
    return argv


def lock(request: LockRequest, progress: Callable[[str], None]) -> LockOutcome:
    envs, to_copy = resolve_envs(request, progress)
    document = build_lock(envs, [_without_secrets(a) for a in request.install_args])
    copied = _write(request.output, document, to_copy)
    return LockOutcome(request.output, tuple(envs), copied)


def _without_secrets(arg: str) -> str:
    """An argument as recorded in the lock: URLs without user:password (`--index-url=URL` too)."""
    if "://" not in arg:
        return arg
    if arg.startswith("--") and "=" in arg:
        name, _, value = arg.partition("=")
        return f"{name}={redact_url(value)}"
    return redact_url(arg)


def resolve_envs(request: LockRequest, progress: Callable[[str], None]) -> tuple[list[LockedEnv], dict[str, Path]]:
    """Every target planned and resolved (nothing written): its locked set, and the built wheels."""
    envs: list[LockedEnv] = []
    to_copy: dict[str, Path] = {}
    for target in request.targets or (None,):
        argv = _argv_for(request, target)
        parsed = parse_install(argv, len(request.general), "install")
        if not parsed.cross:
            # A lock of this machine lists everything, installed or not (as `pip lock` does).
            argv.append("--ignore-installed")
            parsed = parse_install(argv, len(request.general), "install")
        if parsed.own.backend != "pip":
            # A lock records the URL and sha256 of the very file each package installs from;
            # pip's report says which, uv's compile does not (it names versions only).
            progress("a lock is resolved with pip (uv's compile reports no file URLs or sha256)")
            parsed = dataclasses.replace(parsed, own=dataclasses.replace(parsed.own, backend="pip"))
        progress(f"locking for {target.text if target else 'this interpreter'}")
        resolved = resolve(parsed, progress=progress, own_wheels_only=True)
        try:
            env, copies = _locked_env(resolved, request)
        finally:
            resolved.cleanup()
        envs.append(env)
        to_copy.update(copies)
    return envs, to_copy


def _locked_env(resolved: Resolved, request: LockRequest) -> tuple[LockedEnv, dict[str, Path]]:
    assert resolved.result is not None
    built = {os.path.basename(b): Path(b) for b in resolved.built}
    used: list[str] = []
    wheels: list[LockedWheel] = []
    copies: dict[str, Path] = {}
    tensorflow = metal = None
    for item in resolved.result.resolved():
        name = canonicalize_name(item.name)
        filename = unquote(item.filename)
        local = _local_path(item.url)
        sha256 = item.sha256 or (_sha256(local) if local else None)
        if not sha256:
            raise BadInputError(f"pip reported no sha256 for {item.filename} ({item.url}); a lock needs one.",
                                "give pip an index or find-links folder that serves wheels")
        if filename in built:
            used.append(filename)
            if request.built_wheels_url:
                url = request.built_wheels_url.rstrip("/") + "/" + quote(filename)
                wheels.append(LockedWheel(name, item.version, filename, sha256, url=url))
            else:
                copies[filename] = built[filename]
                wheels.append(LockedWheel(name, item.version, filename, sha256,
                                          path=f"./{WHEELS_DIR}/{filename}"))
        else:
            # as pip records it, without user:password: pip and uv read those from netrc/keyring
            wheels.append(LockedWheel(name, item.version, filename, sha256, url=redact_url(item.url)))
        if name in TF_NAMES:
            tensorflow = f"{name}=={item.version}"
        elif name == "tensorflow-metal":
            metal = f"{name}=={item.version}"
    env = LockedEnv(resolved.plan.target, tuple(wheels), tensorflow, metal, tuple(sorted(used)))
    return env, copies


def _local_path(url: str) -> Optional[Path]:
    if not url.startswith("file:"):
        return None
    return Path(unquote(urlparse(url).path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(output: Path, document: dict[str, object], copies: dict[str, Path]) -> tuple[str, ...]:
    """The built wheels first (so the lock never names a file that is not there), then the lock."""
    import tomli_w

    text = tomli_w.dumps(document)
    output = output.absolute()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if copies:
            folder = output.parent / WHEELS_DIR
            folder.mkdir(exist_ok=True)
            for filename, source in sorted(copies.items()):
                _copy_atomic(source, folder / filename)
        fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=".pylock-", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        raise BadInputError(f"cannot write the lock {output}: {exc.strerror or exc}.",
                            "choose a writable place with -o FILE") from None
    return tuple(sorted(copies))


def copy_wheels(folder: Path, copies: dict[str, Path]) -> None:
    """The built wheels into FOLDER/wheels (for `export --uv -o FOLDER`)."""
    target = folder / WHEELS_DIR
    try:
        target.mkdir(parents=True, exist_ok=True)
        for filename, source in sorted(copies.items()):
            _copy_atomic(source, target / filename)
    except OSError as exc:
        raise BadInputError(f"cannot copy the built wheels to {target}: {exc.strerror or exc}.",
                            "choose a writable folder with -o DIR") from None


def _copy_atomic(source: Path, dest: Path) -> None:
    tmp = dest.with_name("." + dest.name + ".part")
    shutil.copyfile(source, tmp)
    os.replace(tmp, dest)

