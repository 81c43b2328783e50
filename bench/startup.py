"""Startup: `pip-tfmac --version` and `--help` against `pip --version` (issue 6, item 1).

Goal: pip-tfmac --version <= 0.15 s. Usage:
    python bench/startup.py [--rounds 30] [--editable] [--keep DIR]
Creates a temporary venv with pip-tfmac installed from a built wheel (as users install it);
--editable also measures an editable install (its import hook costs start-up time); --keep
reuses/keeps the venvs in DIR. Prints a Markdown table per install kind.
"""

from __future__ import annotations

import argparse

from _bench import Comparison, bench_env, bench_venvs, machine, measure, table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--editable", action="store_true", help="also measure an editable install")
    ap.add_argument("--keep", help="create (or reuse) the venvs in this folder and keep them")
    opts = ap.parse_args()
    with bench_venvs(opts.keep, opts.editable) as venvs:
        print(f"Startup, {opts.rounds} rounds; {machine(venvs['wheel'])}\n")
        for kind, venv in venvs.items():
            tool, pip = str(venv / "bin" / "pip-tfmac"), str(venv / "bin" / "pip")
            commands = {
                "python -c pass": [str(venv / "bin" / "python"), "-c", "pass"],
                "pip --version": [pip, "--version"],
                "pip-tfmac --version": [tool, "--version"],
                "pip-tfmac --help": [tool, "--help"],
            }
            results = measure(commands, bench_env(venv), opts.rounds)
            print(
                f"### pip-tfmac installed {'editable' if kind == 'editable' else 'from a wheel'}\n"
            )
            print(
                table(
                    results,
                    [
                        Comparison("python -c pass", None, "(interpreter floor)"),
                        Comparison("pip --version", None),
                        Comparison("pip-tfmac --version", "pip --version", "<= 0.15 s"),
                        Comparison("pip-tfmac --help", "pip --version", "<= 0.15 s"),
                    ],
                )
            )
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
