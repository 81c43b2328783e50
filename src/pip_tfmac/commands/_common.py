"""Helpers shared by the commands that plan (install, download, plan)."""

from __future__ import annotations

from typing import Any

from pip_tfmac.pipargs import InstallArgs


def open_wheelhouse(args: InstallArgs) -> Any:
    """The wheelhouse the plan builds into and hands to pip (--find-links)."""
    from pip_tfmac.cache import Wheelhouse

    return Wheelhouse.from_options(args.own.cache_dir, args.own.no_cache)
