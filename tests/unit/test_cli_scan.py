"""argv_grammar.split_command finds the command word exactly where pip's own parser does.

cli.py keeps pip's value-taking general options as a hand-written set (importing pip's parser
would cost ~100 ms per call). These tests hold that set to the installed pip's parser, and
compare split_command with pip's parser on tricky command lines.
"""

from __future__ import annotations

import os

import pytest
from packaging.version import Version

from pip_tfmac.core import argv as argv_grammar

pip = pytest.importorskip("pip")
main_parser = pytest.importorskip("pip._internal.cli.main_parser")

PIP_VERSION = Version(pip.__version__)

# Value-taking general options that exist only in part of the supported pip range
# (pyproject: pip>=24.0,<27), with the first pip that has them. Read off pip's own parser at
# the tags 24.0 ... 26.2.1 and the installed 26.3; every other value-taking general option is
# present, with the same spelling, in all of them.
ONLY_IN_NEWER_PIP = {"--resume-retries": Version("25.1")}
# The same for general options that take no value.
FLAGS_ONLY_IN_NEWER_PIP = {"--no-proxy-env": Version("26.2")}


@pytest.fixture(autouse=True)
def _no_machine_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip's parser reads config files and PIP_* variables; this machine has both."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


def _general_options() -> tuple[set[str], set[str]]:
    """(value-taking, flag) option strings of the installed pip's main parser."""
    parser = main_parser.create_main_parser()
    values: set[str] = set()
    flags: set[str] = set()
    for option in parser._get_all_options():
        names = set(option._long_opts) | set(option._short_opts)
        (values if option.takes_value() else flags).update(names)
    return values, flags


def test_every_value_option_of_installed_pip_is_known() -> None:
    values, _ = _general_options()
    assert values - argv_grammar.PIP_GENERAL_VALUE_OPTIONS == set()


def test_extra_value_options_are_only_those_of_other_pip_versions() -> None:
    values, _ = _general_options()
    extra = argv_grammar.PIP_GENERAL_VALUE_OPTIONS - values
    assert extra <= set(ONLY_IN_NEWER_PIP), extra
    for option in extra:
        # absent here only because the installed pip predates it
        assert PIP_VERSION < ONLY_IN_NEWER_PIP[option], (option, PIP_VERSION)


def test_no_flag_is_taken_for_a_value_option() -> None:
    _, flags = _general_options()
    assert flags & argv_grammar.PIP_GENERAL_VALUE_OPTIONS == set()


def test_flag_options_match_installed_pip_if_listed() -> None:
    """argv_grammar.PIP_GENERAL_FLAG_OPTIONS, where cli keeps one (to read abbreviations as optparse
    does), is held to pip's parser in the same way."""
    known = getattr(argv_grammar, "PIP_GENERAL_FLAG_OPTIONS", None)
    if known is None:
        pytest.skip("cli keeps no list of flag options")
    _, flags = _general_options()
    long_flags = {f for f in flags if f.startswith("--")}
    assert long_flags - known == set()
    extra = known - long_flags
    assert extra <= set(FLAGS_ONLY_IN_NEWER_PIP), extra
    for option in extra:
        assert PIP_VERSION < FLAGS_ONLY_IN_NEWER_PIP[option], (option, PIP_VERSION)


def test_value_options_have_no_short_form() -> None:
    """split_command only knows long spellings; a short value option would need handling."""
    values, _ = _general_options()
    assert {v for v in values if not v.startswith("--")} == set()


# --- split_command --------------------------------------------------------------------------

TRICKY = [
    # (argv, index, command)
    ([], None, None),
    (["install", "x"], 0, "install"),
    (["plan", "--json", "x"], 0, "plan"),
    (["-v", "install"], 1, "install"),
    (["-vvv", "-qq", "list"], 2, "list"),
    (["-vq", "freeze"], 1, "freeze"),
    (["--isolated", "--no-color", "plan", "tensorflow"], 2, "plan"),
    (["--log", "install", "list"], 2, "list"),  # the log file is called "install"
    (["--log=install", "list"], 1, "list"),
    (["--log-file", "plan", "install"], 2, "install"),
    (["--local-log", "x.log", "verify"], 2, "verify"),
    (["--python", "/venv/bin/python", "install", "tensorflow"], 2, "install"),
    (["--python=/venv", "plan"], 1, "plan"),
    (["--cache-dir", "/c", "--no-cache-dir", "download"], 3, "download"),
    (["--cache-dir=", "install"], 1, "install"),
    (["--cert", "--log", "x"], 2, "x"),  # optparse takes "--log" as --cert's value
    (["--exists-action", "w", "--exists-action=b", "install"], 3, "install"),
    (["--trusted-host", "h", "--trusted-host", "h2", "install"], 4, "install"),
    (["--timeout", "5", "--default-timeout", "6", "--retries", "1", "list"], 6, "list"),
    (["--proxy", "user@proxy:1", "install"], 2, "install"),
    (["--keyring-provider", "disabled", "install"], 2, "install"),
    # pip checks these values against choices: these two exist in pip 24.0 ... 26.3
    (["--use-feature", "fast-deps", "--use-deprecated", "legacy-resolver", "plan"], 4, "plan"),
    (["--client-cert", "c.pem", "doctor"], 2, "doctor"),
    (["--version", "list"], 1, "list"),
    (["-V"], None, None),
    (["--require-venv", "--debug", "wheelhouse", "list"], 2, "wheelhouse"),
    (["-"], 0, "-"),
    (["--log"], None, None),  # missing value: no command (pip: usage error)
    (["install", "--python", "/x", "tensorflow"], 0, "install"),
    # optparse (so pip) accepts any unambiguous prefix of a long option
    (["--pyth", "/venv/bin/python", "install", "tensorflow"], 2, "install"),
    (["--cache-d", "/c", "plan"], 2, "plan"),
    (["--log-f", "l.txt", "install"], 2, "install"),
    (["--isol", "install"], 1, "install"),
    # "--" ends the options; the next word is pip's command
    (["--", "install", "x"], 1, "install"),
    (["-v", "--", "plan"], 2, "plan"),
]
if PIP_VERSION >= ONLY_IN_NEWER_PIP["--resume-retries"]:
    TRICKY.append((["--resume-retries", "3", "install"], 2, "install"))


def _ids() -> list[str]:
    return [" ".join(argv) or "(empty)" for argv, _, _ in TRICKY]


@pytest.mark.parametrize(("argv", "index", "command"), TRICKY, ids=_ids())
def test_split_command(argv: list[str], index: int | None, command: str | None) -> None:
    assert argv_grammar.split_command(argv) == (index, command)


def _pip_split(argv: list[str]) -> tuple[int | None, str | None]:
    """Where pip's own main parser puts the command word (None where pip rejects argv)."""
    parser = main_parser.create_main_parser()
    try:
        _, rest = parser.parse_args(list(argv))
    except SystemExit:
        return None, None
    if not rest:
        return None, None
    return len(argv) - len(rest), rest[0]


@pytest.mark.parametrize(("argv", "index", "command"), TRICKY, ids=_ids())
def test_table_agrees_with_pips_parser(
    argv: list[str], index: int | None, command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The expectations above are pip's own reading, not ours."""
    assert _pip_split(argv) == (index, command)
