"""Pass-through overhead: `pip-tfmac list/freeze/show pip` against pip's own (issue 6, item 2).

Goal: <= 1.05x pip. Usage:
    python bench/passthrough.py [--rounds 20] [--editable] [--keep DIR]
Creates a temporary venv with pip-tfmac installed from a built wheel (as users install it) and
activated (VIRTUAL_ENV), so pip-tfmac hands each command to that venv's pip; --editable also
measures an editable install. Prints a Markdown table per install kind.
"""

from __future__ import annotations

import argparse

from _bench import Comparison, bench_env, bench_venvs, machine, measure, table

COMMANDS = (["list"], ["freeze"], ["show", "pip"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--editable", action="store_true", help="also measure an editable install")
    ap.add_argument("--keep", help="create (or reuse) the venvs in this folder and keep them")
    opts = ap.parse_args()
    with bench_venvs(opts.keep, opts.editable) as venvs:
        print(f"Pass-through, {opts.rounds} rounds; {machine(venvs['wheel'])}\n")
        for kind, venv in venvs.items():
            tool, pip = str(venv / "bin" / "pip-tfmac"), str(venv / "bin" / "pip")
            commands: dict[str, list[str]] = {}
            comparisons = []
            for args in COMMANDS:
                words = " ".join(args)
                commands[f"pip {words}"] = [pip, *args]
                commands[f"pip-tfmac {words}"] = [tool, *args]
                comparisons.append(Comparison(f"pip {words}", None))
                comparisons.append(Comparison(f"pip-tfmac {words}", f"pip {words}", "<= 1.05x"))
            results = measure(commands, bench_env(venv), opts.rounds)
            print(
                f"### pip-tfmac installed {'editable' if kind == 'editable' else 'from a wheel'}\n"
            )
            print(table(results, comparisons))
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
