"""Helpers shared by the commands that plan (install, download, plan)."""

from __future__ import annotations

from typing import Any, Callable

from pip_tfmac.runners.pipargs import InstallArgs


def open_wheelhouse(args: InstallArgs) -> Callable[[], Any]:
    """Opens the wheelhouse the plan builds into (--find-links), only once a plan needs it."""

    def opener() -> Any:
        from pip_tfmac.wheelhouse.store import Wheelhouse

        return Wheelhouse.from_options(args.own.cache_dir, args.own.no_cache)

    return opener


def asks_for_help(words: list[str]) -> bool:
    """`install --help` / `download -h`: pip's own help text, exactly as pip prints it."""
    return any(w in ("-h", "--help") for w in words)
