"""Pass-through overhead: `pip-tfmac list/freeze/show pip` against pip's own (issue 6, item 2).

Goal: <= 1.05x pip. Usage:
    python bench/passthrough.py [--rounds 20] [--editable] [--keep DIR]
Creates a temporary venv with pip-tfmac installed from a built wheel (as users install it) and
activated (VIRTUAL_ENV), so pip-tfmac hands each command to that venv's pip; --editable also
measures an editable install. Prints a Markdown table per install kind.
"""

from __future__ import annotations

from pathlib import Path

from _bench import Comparison, per_install_kind

COMMANDS = (["list"], ["freeze"], ["show", "pip"])


def commands_for(venv: Path) -> tuple[dict[str, list[str]], list[Comparison]]:
    tool, pip = str(venv / "bin" / "pip-tfmac"), str(venv / "bin" / "pip")
    commands: dict[str, list[str]] = {}
    comparisons = []
    for args in COMMANDS:
        words = " ".join(args)
        commands[f"pip {words}"] = [pip, *args]
        commands[f"pip-tfmac {words}"] = [tool, *args]
        comparisons.append(Comparison(f"pip {words}", None))
        comparisons.append(Comparison(f"pip-tfmac {words}", f"pip {words}", "<= 1.05x"))
    return commands, comparisons


if __name__ == "__main__":
    raise SystemExit(per_install_kind(__doc__ or "", "Pass-through", 20, commands_for))
