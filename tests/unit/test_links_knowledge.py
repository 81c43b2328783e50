"""knowledge/links.toml and its loader: the file parses into core values, every record carries
both wheels' sha256, and the verdicts the issue names are in it. Offline."""

from __future__ import annotations

import re

import pytest
from packaging.version import Version

from pip_tfmac.core.linkcheck import LINK_BROKEN, LINK_CHECKED
from pip_tfmac.core.links import LinkTable, parse_links
from pip_tfmac.knowledge import load_links

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def table() -> LinkTable:
    return load_links()


def test_every_record_names_both_wheels_with_sha256(table):
    assert table.records
    for rec in table.records:
        assert rec.state in (LINK_CHECKED, LINK_BROKEN)
        assert SHA256.match(rec.tensorflow_wheel.sha256), rec
        assert SHA256.match(rec.metal_wheel.sha256), rec
        assert rec.metal_wheel.filename.startswith(f"tensorflow_metal-{rec.metal}-")
        assert rec.checked_on and rec.tool.startswith("pip-tfmac")
        assert "libmetal_plugin.dylib" in rec.min_macos


def test_broken_records_carry_their_missing_symbols_and_checked_ones_none(table):
    for rec in table.records:
        if rec.state == LINK_BROKEN:
            assert rec.missing and rec.missing_count >= len(rec.missing)
        else:
            assert rec.missing == () and rec.missing_count == 0


@pytest.mark.parametrize("tf, metal, state", [
    ("2.18.1", "1.1.0", LINK_BROKEN),
    ("2.17.1", "1.1.0", LINK_CHECKED),
    ("2.18.1", "1.2.0", LINK_CHECKED),
])
def test_the_known_pairs(table, tf, metal, state):
    rec = table.record(Version(tf), Version(metal))
    assert rec is not None and rec.state == state
    if state == LINK_BROKEN:
        assert rec.missing[0].symbol == "__ZN3tsl8internal10LogMessageC1EPKcii"
        assert rec.missing[0].two_level and rec.missing[0].lazy
        assert "__ZN3tsl8internal10LogMessageC1EPKcii" in rec.evidence()


def test_pairs_are_unique_and_sorted(table):
    keys = [(r.tensorflow, r.metal) for r in table.records]
    assert len(keys) == len(set(keys))
    assert keys == sorted(keys)


def test_shim_releases_name_the_wheel_the_images_came_from(table):
    for rec in table.records:
        if rec.shim_wheel is not None:
            assert rec.tensorflow_distribution == "tensorflow-macos"
            assert rec.shim_wheel.filename.startswith("tensorflow-")


def test_lookups(table):
    tf = Version("2.17.1")
    assert Version("1.1.0") in table.linking_metals(tf)
    metals = [r.metal for r in table.for_tensorflow(tf)]
    assert metals == sorted(metals, reverse=True)
    assert table.record(Version("9.9"), Version("1.0")) is None


def test_parse_links_rejects_an_unknown_state_and_a_record_without_sha256():
    base = {"tensorflow": "2.17.1", "metal": "1.1.0", "tensorflow_wheel": "t.whl",
            "tensorflow_sha256": "a" * 64, "metal_wheel": "m.whl", "metal_sha256": "b" * 64}
    assert parse_links({"pair": [{**base, "state": "link-checked"}]}).records[0].links
    with pytest.raises(ValueError, match="unknown state"):
        parse_links({"pair": [{**base, "state": "verified"}]})
    with pytest.raises(ValueError, match="sha256"):
        parse_links({"pair": [{**base, "state": "link-broken", "metal_wheel": ""}]})


def test_parse_links_reads_missing_and_min_macos():
    table = parse_links({"generated_on": "2026-12-06", "tool": "pip-tfmac 0", "pair": [{
        "tensorflow": "2.18.1", "metal": "1.1.0", "state": "link-broken",
        "tensorflow_wheel": "t.whl", "tensorflow_sha256": "a" * 64,
        "metal_wheel": "m.whl", "metal_sha256": "b" * 64, "missing_count": 3,
        "min_macos": {"libmetal_plugin.dylib": "11.3"},
        "missing": [{"symbol": "_X", "library": "@rpath/p.so", "lazy": True}],
    }]})
    (rec,) = table.records
    assert rec.min_macos == {"libmetal_plugin.dylib": (11, 3)}
    assert rec.missing[0].library == "@rpath/p.so" and rec.missing_count == 3
    assert rec.checked_on == "2026-12-06" and rec.tool == "pip-tfmac 0"
