"""Which machine a plan is for: the probed target interpreter, or a cross target from
`--platform`/`--python-version` (pip's options) and our `--platform macos-arm64` shorthand."""

from __future__ import annotations

from pip_tfmac import errors
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.target import Target, cross_target
from pip_tfmac.runners.interpreter import python_option, resolve_target_python
from pip_tfmac.runners.pipargs import InstallArgs
from pip_tfmac.runners.probe_target import probe, use_cache
from pip_tfmac.runners.probe_writable import probe_changeable


def determine_target(args: InstallArgs, knowledge: Knowledge) -> tuple[Target, str]:
    if getattr(args.values, "python", None) and python_option(args.general) is None:
        raise errors.UsageError(
            f"--python {args.values.python} must be placed before the command word, as pip requires.",
            f"pip-tfmac --python {args.values.python} {args.command} ...",
        )
    python = resolve_target_python(args.general)
    use_cache(args.own.cache_dir, args.own.no_cache)  # the probe's answers are kept there
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


def ensure_changeable(python: str, args: InstallArgs) -> None:
    """Refuse, before anything runs, an install into an environment that cannot be changed:
    externally managed (PEP 668) or not writable. Exit 74 with the remedy (README "Exit codes").

    Skipped where pip would not write into the environment's own folders (--dry-run, --target,
    --prefix, --root, a cross target) and, for PEP 668 only, with --break-system-packages
    (or its config/PIP_* form), which is handed to pip as the user's own decision.
    """
    values = args.values
    if (args.command != "install" or args.dry_run or args.target_dir or args.cross
            or getattr(values, "root_path", None) or getattr(values, "prefix_path", None)):
        return
    state = probe_changeable(python, user=getattr(values, "use_user_site", None))
    if state is None:
        return
    if state.managed and not getattr(values, "override_externally_managed", False):
        why = state.managed_why.strip().splitlines()[0] if state.managed_why.strip() else ""
        raise errors.EnvironmentError_(
            f"the target environment {state.prefix} is externally managed (PEP 668), "
            "so pip-tfmac will not install into it" + (f": {why}" if why else "."),
            "create a virtual environment (python3 -m venv .venv && . .venv/bin/activate) and "
            "install there; or add --break-system-packages (handed to pip) if you accept the risk",
        )
    if state.blocked:
        raise errors.EnvironmentError_(
            f"the target environment {state.prefix} cannot be changed: {', '.join(state.blocked)} "
            "is not writable (read-only file system or permissions); nothing was installed.",
            "create a virtual environment you can write (python3 -m venv .venv) and install "
            "there, or install with --user",
        )
