"""Helpers shared by the commands that plan (install, download, plan)."""

from __future__ import annotations


def asks_for_help(words: list[str]) -> bool:
    """`install --help` / `download -h`: pip's own help text, exactly as pip prints it."""
    return any(w in ("-h", "--help") for w in words)
