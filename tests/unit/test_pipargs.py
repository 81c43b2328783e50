"""pip's own parser, as pipargs uses it: requirement files, nested -r/-c, our options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pip_tfmac.errors import BadInputError, UsageError
from pip_tfmac.runners.pipargs import parse_install, split_own


@pytest.fixture(autouse=True)
def no_machine_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


def parse(*argv: str):  # type: ignore[no-untyped-def]
    return parse_install(["install", *argv], 0)


def test_own_options_are_taken_out_and_pip_options_kept() -> None:
    own, rest, shorthand = split_own(["--explain", "-q", "--strict", "--macos-version", "13",
                                      "--platform", "macos-arm64", "--index-url", "X", "tensorflow"])
    assert own.explain and own.strict and own.macos_version == "13" and shorthand
    assert rest == ["-q", "--index-url", "X", "tensorflow"]


def test_own_option_without_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--macos-version needs a value"):
        split_own(["--macos-version"])


def test_positional_and_file_requirements_are_flattened_in_order(tmp_path: Path) -> None:
    nested = tmp_path / "nested.txt"
    nested.write_text("tensorflow-text==2.18.*  # comment\n")
    cons = tmp_path / "cons.txt"
    cons.write_text("numpy<2\n")
    main = tmp_path / "reqs.txt"
    main.write_text(f"-r {nested.name}\n-c {cons.name}\n"
                    "tensorflow[and-cuda]==2.15.* ; python_version >= '3.9'\n"
                    "--extra-index-url https://example.invalid/simple\n")
    args = parse("-q", "deepface", "-r", str(main), "--no-deps")
    texts = [(r.text, r.constraint) for r in args.requests]
    assert texts == [
        ("deepface", False),
        ("tensorflow-text==2.18.*", False),
        ("numpy<2", True),
        ('tensorflow[and-cuda]==2.15.* ; python_version >= \'3.9\'', False),
    ]
    assert args.passthrough == ("-q", "--no-deps")
    assert args.file_options == ("--extra-index-url https://example.invalid/simple",)
    assert args.requests[1].origin.endswith("nested.txt:1")


OPTION_LINES = [
    "--no-binary numpy",
    "--only-binary=:all:",
    "--no-binary :all: --only-binary scipy,numpy",
    "--only-binary :all: --no-binary numpy",
    "--prefer-binary",
    "--pre",
    "--index-url https://example.invalid/simple",
    "--trusted-host example.invalid",
    "--all-releases foo",
    "--only-final :all:",
]


def _stable(value: object) -> str:
    """repr with sets sorted: FormatControl's sets print in insertion order, which differs
    between two equal objects built in another order (the flaky comparison this replaces)."""
    slots = getattr(type(value), "__slots__", None)
    if slots:
        parts = {name: getattr(value, name) for name in slots}
        return repr({k: sorted(v) if isinstance(v, (set, frozenset)) else v for k, v in parts.items()})
    return repr(value)


@pytest.mark.parametrize("text", OPTION_LINES)
def test_file_option_lines_are_re_emitted_so_pip_reads_the_same_options(tmp_path: Path, text: str) -> None:
    """Our flattened copy of a requirements file must give pip the options the original gave."""
    from pip._internal.req.req_file import RequirementsFileParser, get_line_parser

    def options(path: Path) -> dict[str, str]:
        (line,) = RequirementsFileParser(None, get_line_parser(None)).parse(str(path), False)  # type: ignore[arg-type]
        return {k: _stable(v) for k, v in vars(line.opts).items() if v not in (None, False, [])}

    original = tmp_path / "r.txt"
    original.write_text(text + "\n")
    try:
        expected = options(original)
    except Exception:
        pytest.skip(f"this pip does not know {text!r}")
    emitted = parse("-r", str(original)).file_options
    assert emitted and not any("Control(" in line for line in emitted)
    copy = tmp_path / "copy.txt"
    copy.write_text("\n".join(emitted) + "\n")
    assert options(copy) == expected


def test_hashes_stay_on_their_line(tmp_path: Path) -> None:
    reqs = tmp_path / "r.txt"
    reqs.write_text("six==1.16.0 --hash=sha256:" + "a" * 64 + "\n")
    (request,) = parse("-r", str(reqs)).requests
    assert request.line() == "six==1.16.0 --hash=sha256:" + "a" * 64


def test_short_option_clusters_are_split() -> None:
    args = parse("-qq", "-Ur", os.devnull, "-e", "./proj")
    assert args.passthrough == ("-qq", "-U")
    assert [r.editable for r in args.requests] == [True]


def test_missing_requirement_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        parse("-r", str(tmp_path / "missing.txt"))


def test_recursive_requirement_file_is_bad_input(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.write_text("-r loop.txt\n")
    with pytest.raises(BadInputError):
        parse("-r", str(loop))


def test_unknown_option_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no such option"):
        parse("--definitely-not-an-option")


def test_cross_target_options_are_read() -> None:
    args = parse("--platform", "macos-arm64", "--python-version", "3.10", "tensorflow")
    assert args.macos_shorthand and args.python_version == "3.10" and args.cross


def test_pip_config_file_values_are_honored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[install]\nno-deps = true\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert parse("six").values.ignore_dependencies


def test_the_fast_line_parser_reads_every_line_as_pips_own(tmp_path: Path) -> None:
    """Lines without options skip pip's per-line optparse build: the result must be identical."""
    from pip._internal.req.req_file import RequirementsFileParser, get_line_parser

    from pip_tfmac.runners.reqfile import _line_parser

    reqs = tmp_path / "r.txt"
    reqs.write_text(
        "six==1.16.0\n"
        "tensorflow[and-cuda]>=2.15 ; python_version >= '3.9'  # comment\n"
        "numpy==1.26.4 --hash=sha256:" + "c" * 64 + "\n"
        "--no-binary numpy\n"
        "attrs @ https://example.invalid/attrs-23.1.0-py3-none-any.whl\n"
        "pkg-a \\\n  >=1.0\n"
        "-e ./proj\n"
        "--index-url https://example.invalid/simple\n"
        "requests\n"
    )

    def read(line_parser):  # type: ignore[no-untyped-def]
        # pip < 24.1 sets requirement and is_editable only on requirement lines
        return [(line.lineno, getattr(line, "requirement", None),
                 getattr(line, "is_editable", None), repr(sorted(vars(line.opts).items())))
                for line in RequirementsFileParser(None, line_parser).parse(str(reqs), False)]  # type: ignore[arg-type]

    assert read(_line_parser(get_line_parser(None))) == read(get_line_parser(None))


def test_a_bad_line_stops_the_reading_there(tmp_path: Path) -> None:
    """pip stops at the first invalid line; so does pip-tfmac (a 10,000-line file took 8 s)."""
    reqs = tmp_path / "r.txt"
    reqs.write_text("tinya=>1.0\n" + "-r missing-later.txt\n")
    with pytest.raises(BadInputError, match=r"tinya=>1\.0.*r\.txt:1"):
        parse("-r", str(reqs))


# --- option values are checked before anything runs (issue 13) ---------------------------------

import pytest as _pytest  # noqa: E402

from pip_tfmac.errors import CacheError  # noqa: E402
from pip_tfmac.runners.pipargs import seconds  # noqa: E402


@_pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e999", "0", "-5", "", "abc"])
def test_a_time_limit_is_a_finite_number_above_zero(text: str) -> None:
    with _pytest.raises(UsageError):
        seconds("--verify-timeout", text)


def test_a_good_time_limit_is_read() -> None:
    assert seconds("--verify-timeout", "2.5") == 2.5


@_pytest.mark.parametrize("argv", [["--macos-version", "abc"], ["--macos-version=10.15"],
                                   ["--tfmac-cache-dir="], ["--verify-timeout", "nan"]])
def test_split_own_refuses_bad_values(argv: list[str]) -> None:
    with _pytest.raises(UsageError):
        split_own(["tinya", *argv])


def test_a_cache_dir_that_is_a_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    afile = tmp_path / "f"
    afile.write_text("")
    with _pytest.raises(CacheError):
        split_own(["tinya", "--tfmac-cache-dir", str(afile)])
    split_own(["tinya", "--tfmac-cache-dir", str(afile), "--no-tfmac-cache"])  # not used: fine


def test_an_option_value_with_spaces_is_re_emitted_quoted(tmp_path: Path) -> None:
    """`--find-links "dir with space"` in a file stays one value when pip reads our copy."""
    links = tmp_path / "dir with space"
    links.mkdir()
    reqs = tmp_path / "r.txt"
    reqs.write_text(f'--find-links "{links}"\nsix\n')
    (line,) = parse("-r", str(reqs)).file_options
    assert line == f"--find-links '{links}'"
