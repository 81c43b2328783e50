"""Does an installed wheel's tag fit the machine? (doctor's foreign-wheel check).
"""

from __future__ import annotations

import re
from packaging.tags import Tag, parse_tag
from pip_tfmac.core import knowledge as kn
from pip_tfmac.core.verify_report import MachineFacts
from pip_tfmac.core.doctor_model import ERROR, Environment, Finding, FixAction


_MAC_PLATFORM = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")

_MAC_ARCHES = {
    "arm64": {"arm64", "universal2"},
    "x86_64": {"x86_64", "intel", "universal", "universal2", "fat64", "fat3"},
}

_LINUX_ARCHES = ("x86_64", "aarch64", "i686", "ppc64le", "s390x", "armv7l", "riscv64")

def tag_matches(tag: Tag, facts: MachineFacts) -> bool:
    """Could this interpreter use a wheel with this tag? OS, CPU and CPython ABI, not libc.

    Deliberately coarser than pip's full tag list: it answers "x86_64 wheel in an arm64
    env" and "cp310 extension in a 3.11 env" without guessing the glibc of another machine.
    """
    return _interpreter_matches(tag, facts) and _platform_matches(tag.platform, facts)

def _interpreter_matches(tag: Tag, facts: MachineFacts) -> bool:
    ours = "".join(facts.python_version.split(".")[:2])
    if tag.interpreter.startswith("cp") and facts.implementation == "cpython":
        if tag.abi.startswith("cp"):
            return tag.interpreter == f"cp{ours}"
        if tag.abi in ("abi3", "none"):
            return _digits_le(tag.interpreter[2:], ours)
    if tag.interpreter.startswith("py"):
        return tag.interpreter[2:3] == ours[:1]
    return True  # another implementation's tag: not ours to judge

def _digits_le(theirs: str, ours: str) -> bool:
    if not theirs.isdigit():
        return True
    if len(theirs) == 1:
        return theirs == ours[:1]
    return (int(theirs[0]), int(theirs[1:])) <= (int(ours[0]), int(ours[1:]))

def _platform_matches(platform: str, facts: MachineFacts) -> bool:
    if platform == "any":
        return True
    machine = facts.machine.lower()
    mac = _MAC_PLATFORM.match(platform)
    if mac:
        if not facts.is_macos:
            return False
        if mac.group(3) not in _MAC_ARCHES.get(machine, {machine}):
            return False
        if facts.macos_version:
            wanted = (int(mac.group(1)), int(mac.group(2)))
            current = kn.parse_macos(facts.macos_version)
            if wanted[0] >= 11:  # from macOS 11 on, only the major counts
                return wanted[0] <= current[0]
            return wanted <= current
        return True
    if platform.startswith(("manylinux", "musllinux", "linux_")):
        if not facts.sys_platform.startswith("linux"):
            return False
        arch = next((a for a in _LINUX_ARCHES if platform.endswith(a)), None)
        return arch is None or arch == {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if platform.startswith("win"):
        return facts.sys_platform == "win32"
    return True  # a platform we do not know: no verdict

def foreign_wheels(env: Environment) -> list[Finding]:
    out: list[Finding] = []
    for dist in env.distributions:
        tags: list[Tag] = []
        for text in dist.wheel_tags:
            try:
                tags.extend(parse_tag(text))
            except ValueError:
                continue
        if not tags or any(tag_matches(t, env.facts) for t in tags):
            continue
        f = env.facts
        here = f"{f.sys_platform} {f.machine}, Python {f.python_minor}"
        if f.rosetta:
            fix = "this follows from the Rosetta finding: recreate the environment with an arm64 Python"
            action = None
        else:
            fix = (
                "reinstall it for this interpreter: `pip install --force-reinstall --no-deps "
                f"{dist.name}=={dist.version}`"
            )
            action = FixAction(
                (("install", "--force-reinstall", "--no-deps", f"{dist.name}=={dist.version}"),)
            )
        out.append(
            Finding(
                "foreign-wheel",
                ERROR,
                f"{dist.name} {dist.version} was installed from a wheel for "
                f"{', '.join(sorted(set(dist.wheel_tags)))}, which this interpreter ({here}) "
                "cannot use",
                fix,
                action,
            )
        )
    return out
