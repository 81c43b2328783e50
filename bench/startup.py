"""Startup: `pip-tfmac --version` and `--help` against `pip --version` (issue 6, item 1).

Goal: pip-tfmac --version <= 0.15 s. Usage:
    python bench/startup.py [--rounds 30] [--editable] [--keep DIR]
Creates a temporary venv with pip-tfmac installed from a built wheel (as users install it);
--editable also measures an editable install (its import hook costs start-up time); --keep
reuses/keeps the venvs in DIR. Prints a Markdown table per install kind.
"""

from __future__ import annotations

from pathlib import Path

from _bench import Comparison, per_install_kind


def commands_for(venv: Path) -> tuple[dict[str, list[str]], list[Comparison]]:
    tool, pip = str(venv / "bin" / "pip-tfmac"), str(venv / "bin" / "pip")
    commands = {
        "python -c pass": [str(venv / "bin" / "python"), "-c", "pass"],
        "pip --version": [pip, "--version"],
        "pip-tfmac --version": [tool, "--version"],
        "pip-tfmac --help": [tool, "--help"],
    }
    comparisons = [
        Comparison("python -c pass", None, "(interpreter floor)"),
        Comparison("pip --version", None),
        Comparison("pip-tfmac --version", "pip --version", "<= 0.15 s"),
        Comparison("pip-tfmac --help", "pip --version", "<= 0.15 s"),
    ]
    return commands, comparisons


if __name__ == "__main__":
    raise SystemExit(per_install_kind(__doc__ or "", "Startup", 30, commands_for))
