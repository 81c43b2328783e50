"""Which machine a plan is for: the probed target interpreter, or a cross target from
`--platform`/`--python-version` (pip's options) and our `--platform macos-arm64` shorthand."""

from __future__ import annotations

from pip_tfmac import errors
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.target import Target, cross_target
from pip_tfmac.runners.interpreter import python_option, resolve_target_python
from pip_tfmac.runners.pipargs import InstallArgs
from pip_tfmac.runners.probe_target import probe


def determine_target(args: InstallArgs, knowledge: Knowledge) -> tuple[Target, str]:
    if getattr(args.values, "python", None) and python_option(args.general) is None:
        raise errors.UsageError(
            f"--python {args.values.python} must be placed before the command word, as pip requires.",
            f"pip-tfmac --python {args.values.python} {args.command} ...",
        )
    python = resolve_target_python(args.general)
    if args.macos_shorthand and args.platforms:
        raise errors.UsageError(
            "--platform macos-arm64 cannot be combined with other --platform tags "
            f"({', '.join(args.platforms)}): a plan is for one machine.",
            "drop either --platform macos-arm64 or the other --platform options",
        )
    if args.cross:
        platforms = ["macos-arm64"] if args.macos_shorthand else list(args.platforms)
        if not platforms:
            raise errors.UsageError(
                "--python-version without --platform does not say which machine to plan for.",
                "add --platform macos-arm64 (or pip's own platform tags)",
            )
        version = args.python_version
        if version is None:
            version = probe(python).python_version
        return cross_target(platforms, version, args.own.macos_version), python
    if args.own.macos_version:
        raise errors.UsageError("--macos-version only applies to --platform macos-arm64.",
                                "add --platform macos-arm64, or drop --macos-version")
    return probe(python, sorted(knowledge.family())), python
