"""The verdict logic on real extracted data: symbol tables read from the real wheels (cut to the
symbols the plugins import, tests/data/linkcheck/, written by tools/regen_links.py --fixtures).
tests/network/test_linkcheck_live.py re-derives the same verdicts from the wheels themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from pip_tfmac.core.linkcheck import ImageExports, PluginImports, check
from pip_tfmac.wheelhouse.symbols import read_json_gz

DATA = Path(__file__).resolve().parent.parent / "data" / "linkcheck"
LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"


def plugin(version: str) -> PluginImports:
    return PluginImports.from_json(read_json_gz(DATA / f"metal-{version}.json.gz"))


def images(version: str) -> tuple[ImageExports, ...]:
    data = read_json_gz(DATA / f"tensorflow-{version}.json.gz")
    return tuple(ImageExports.from_json(i) for i in data["images"])


def test_metal_110_with_tf_2181_misses_the_old_logmessage_constructor():
    verdict = check(plugin("1.1.0"), images("2.18.1"))
    assert not verdict.links
    (missing,) = verdict.missing
    assert missing.symbol == LOG_OLD
    assert missing.two_level and missing.library == "@rpath/_pywrap_tensorflow_internal.so"
    assert missing.lazy  # and still fatal: RTLD_NOW


@pytest.mark.parametrize("metal, tf", [("1.1.0", "2.17.1"), ("1.2.0", "2.18.1"),
                                       ("1.2.0", "2.17.1")])
def test_pairs_that_link(metal, tf):
    verdict = check(plugin(metal), images(tf))
    assert verdict.links, [m.describe() for m in verdict.missing]
    assert verdict.checked_two_level > 0 and verdict.checked_flat > 100


def test_two_level_imports_are_satisfied_by_reexport_entries():
    """A symbol-table (nm) reading of pywrap would report every two-level import missing."""
    p = plugin("1.1.0")
    pywrap = next(i for i in images("2.17.1")
                  if i.member.endswith("_pywrap_tensorflow_internal.so"))
    through_reexport = [i for i in p.two_level() if i.symbol in pywrap.reexports]
    assert len(through_reexport) >= len(p.two_level()) - 1
    assert not any(i.symbol in pywrap.symbols for i in through_reexport)


def test_min_macos_read_from_build_version():
    assert plugin("1.1.0").min_macos == (11, 3)
    assert plugin("1.2.0").min_macos == (12, 1)
    assert {i.min_macos for i in images("2.18.1")} == {(12, 0)}
