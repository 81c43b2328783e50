"""The knowledge files (src/pip_tfmac/knowledge/*.toml): they load, every rule carries its source,
and the facts agree with each other. Offline; tests/network/test_knowledge_live.py checks the wheel
claims against the live index.
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pip_tfmac.core.knowledge import BROKEN, UNVERIFIED, VERIFIED, Knowledge, parse_macos
from pip_tfmac.knowledge import load

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
FILES = ("tensorflow.toml", "wheels.toml")

# The tensorflow-metal compatibility table as printed in the plugin's project description
# (published with release 1.2.0; see the team notes, facts/tensorflow-metal.md): tensorflow | metal | macOS.
OFFICIAL_TABLE = (
    ("v2.5", "v0.1.2", "12.0+"),
    ("v2.6", "v0.2.0", "12.0+"),
    ("v2.7", "v0.3.0", "12.0+"),
    ("v2.8", "v0.4.0", "12.0+"),
    ("v2.9", "v0.5.0", "12.1+"),
    ("v2.10", "v0.6.0", "12.1+"),
    ("v2.11", "v0.7.0", "12.1+"),
    ("v2.12", "v0.8.0", "12.1+"),
    ("v2.13", "v1.0.0", "12.1+"),
    ("v2.14-v2.18", "v1.1.0", "12.1+"),
    ("v2.18", "v1.1.0", "12.1+"),
)


def text(name: str) -> str:
    return resources.files("pip_tfmac").joinpath("knowledge", name).read_text("utf-8")


def raw(name: str) -> dict[str, Any]:
    return tomllib.loads(text(name))


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load()


def literal_cells(literal: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in literal.split("|"))


# -- loading and sources -----------------------------------------------------------------------


def test_knowledge_files_load(knowledge: Knowledge) -> None:
    assert knowledge.names and knowledge.providers and knowledge.metal_pairs
    assert knowledge.companions and knowledge.wheels
    for name in FILES:
        data = raw(name)
        assert data["schema"] == 1
        assert data["read_on"] == "2026-11-24"


def _rules(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for key in ("names", "dropped_extras", "provider", "elsewhere", "companion", "undeclared"):
        out += [(f"{key}[{i}]", rule) for i, rule in enumerate(data.get(key, []))]
    return out


def test_every_rule_in_tensorflow_toml_has_a_source() -> None:
    data = raw("tensorflow.toml")
    rules = _rules(data)
    assert len(rules) >= 15
    for where, rule in rules:
        assert str(rule.get("source", "")).strip(), where
    assert data["metal"]["source"].strip()


def test_every_wheel_table_has_a_source() -> None:
    for package, table in raw("wheels.toml")["wheels"].items():
        assert str(table.get("source", "")).strip(), package


def test_every_loaded_rule_has_a_source(knowledge: Knowledge) -> None:
    sources = (
        [n.source for n in knowledge.names.values()]
        + [d.source for d in knowledge.dropped_extras]
        + [p.source for p in knowledge.providers]
        + [p.source for p in knowledge.metal_pairs]
        + [c.source for c in knowledge.companions.values()]
        + [e.source for e in knowledge.elsewhere]
        + list(knowledge.wheels_source.values())
    )
    assert all(s.strip() for s in sources)
    assert set(knowledge.wheels_source) == set(knowledge.wheels)


def _all_sources() -> list[str]:
    data = raw("tensorflow.toml")
    out = [rule["source"] for _, rule in _rules(data)] + [data["metal"]["source"]]
    out += [p["evidence_source"] for p in data["metal"]["pair"] if "evidence_source" in p]
    out += [t["source"] for t in raw("wheels.toml")["wheels"].values()]
    return out


@pytest.mark.parametrize("source", sorted(set(_all_sources())))
def test_source_is_a_url_or_an_index_project(source: str) -> None:
    """`index:PROJECT` names a project on the default index without naming its host."""
    assert re.match(r"^(https://[^\s/]+/\S*|index:[a-z0-9][a-z0-9.-]*)", source), source


FORBIDDEN_HOST_WORDS = ("py" + "pi", "python" + "hosted")  # in pieces: this file names no host


def index_hosts_named(content: str) -> list[str]:
    """Package-index host names in a text: in URLs, or written bare as a domain."""
    content = content.lower()
    found = [host for host in re.findall(r"[a-z][a-z0-9+.-]*://([^/\s\"'#]+)", content)
             if any(word in host for word in FORBIDDEN_HOST_WORDS)]
    for word in FORBIDDEN_HOST_WORDS:
        found += re.findall(rf"\b[a-z0-9.-]*{word}[a-z0-9-]*\.(?:org|io|com)\b", content)
    return found


@pytest.mark.parametrize("name", FILES)
def test_no_package_index_host_in_knowledge_files(name: str) -> None:
    """The index is pip's business (and the user's config); the knowledge never names its host."""
    assert index_hosts_named(text(name)) == []


def test_index_host_check_catches_urls_and_bare_domains() -> None:
    word = FORBIDDEN_HOST_WORDS[0]
    assert index_hosts_named(f'source = "https://{word}.org/project/tensorflow-metal/"') == [f"{word}.org"] * 2
    assert index_hosts_named(f"see files.{FORBIDDEN_HOST_WORDS[1]}.org") == [f"files.{FORBIDDEN_HOST_WORDS[1]}.org"]
    assert index_hosts_named('source = "index:tensorflow-metal"') == []
    assert index_hosts_named('source = "https://github.com/tensorflow/text"') == []


# -- tensorflow-metal pairs --------------------------------------------------------------------


def test_metal_pair_states_are_known(knowledge: Knowledge) -> None:
    assert {p.state for p in knowledge.metal_pairs} == {VERIFIED, UNVERIFIED, BROKEN}
    for pair in raw("tensorflow.toml")["metal"]["pair"]:
        assert pair["state"] in {"verified", "unverified", "broken"}, pair


def test_literal_row_recorded_for_every_verified_pair(knowledge: Knowledge) -> None:
    for pair in knowledge.metal_pairs:
        if pair.state == VERIFIED:
            assert literal_cells(pair.literal)[:3] in OFFICIAL_TABLE, pair


def test_every_official_row_is_recorded(knowledge: Knowledge) -> None:
    recorded = {literal_cells(p.literal)[:3] for p in knowledge.metal_pairs if p.literal}
    assert recorded == set(OFFICIAL_TABLE)


def test_the_contradictory_last_row_keeps_its_note(knowledge: Knowledge) -> None:
    rows = [p for p in knowledge.metal_pairs if literal_cells(p.literal)[:1] == ("v2.18",)]
    assert len(rows) == 1
    assert literal_cells(rows[0].literal)[3] == "Fixes compatibility with 2.18+ TF versions"
    assert rows[0].metal == SpecifierSet("==1.2.*")  # the reading, explained by its evidence
    assert "1.2.0" in rows[0].evidence


def test_verified_pair_matches_its_literal_row(knowledge: Knowledge) -> None:
    """Where the reading differs from the print, the evidence must say so."""
    for pair in knowledge.metal_pairs:
        if pair.state != VERIFIED:
            continue
        tf_cell, metal_cell, macos_cell = literal_cells(pair.literal)[:3]
        first_tf = Version(tf_cell.split("-")[0].lstrip("v"))
        assert pair.tensorflow.contains(first_tf), pair
        assert pair.min_macos == parse_macos(macos_cell.rstrip("+")), pair
        if not pair.metal.contains(Version(metal_cell.lstrip("v"))):
            assert "read as" in pair.evidence, pair
        last_tf = Version(tf_cell.split("-")[-1].lstrip("v"))
        if not pair.tensorflow.contains(last_tf):
            assert pair.evidence and pair.source.startswith("https://"), pair


def test_unverified_and_broken_pairs_carry_evidence(knowledge: Knowledge) -> None:
    for pair in knowledge.metal_pairs:
        if pair.state != VERIFIED:
            assert pair.evidence.strip(), pair
    broken = [p for p in knowledge.metal_pairs if p.state == BROKEN]
    assert [p.source for p in broken] == ["https://github.com/tensorflow/tensorflow/issues/81987"]


TF_MINORS = [Version(f"2.{minor}.0") for minor in range(5, 23)]


@pytest.mark.parametrize("tf", TF_MINORS, ids=str)
def test_at_most_one_verified_metal_series_per_tf_minor(knowledge: Knowledge, tf: Version) -> None:
    verified = [p for p in knowledge.metal_pairs_for(tf) if p.state == VERIFIED]
    assert len(verified) == (1 if tf <= Version("2.18") else 0), verified


def test_no_combination_is_both_verified_and_broken(knowledge: Knowledge) -> None:
    metal_versions = [Version(v) for v in ("0.1.2", "0.5.1", "1.0.1", "1.1.0", "1.2.0")]
    for tf in TF_MINORS:
        for metal in metal_versions:
            states = {p.state for p in knowledge.metal_pairs_for(tf) if p.metal.contains(metal)}
            assert not {VERIFIED, BROKEN} <= states, (tf, metal)


def test_every_metal_series_has_a_wheel(knowledge: Knowledge) -> None:
    every = {v for py in PYTHONS for v in knowledge.arm64_versions("tensorflow-metal", py) or ()}
    for pair in knowledge.metal_pairs:
        assert any(pair.metal.contains(v) for v in every), pair


VERIFIED_PAIRS = [p for p in load().metal_pairs if p.state == VERIFIED]


@pytest.mark.parametrize("pair", VERIFIED_PAIRS, ids=[str(p.tensorflow) for p in VERIFIED_PAIRS])
def test_every_verified_pair_is_installable_for_some_python(knowledge: Knowledge, pair: Any) -> None:
    """A verified pair must be usable somewhere: some Python has both its TF and its plugin."""
    usable = [
        (py, tf) for py in PYTHONS for tf in knowledge.tf_versions(py)
        if pair.tensorflow.contains(tf) and knowledge.metal_choice(tf, py) is not None
    ]
    assert usable, pair


def test_metal_wheel_pythons(knowledge: Knowledge) -> None:
    assert knowledge.metal_wheel_pythons() == ("3.9", "3.10", "3.11", "3.12")


def test_oldest_macos_for_metal_is_12_0(knowledge: Knowledge) -> None:
    assert min(p.min_macos for p in knowledge.metal_pairs) == (12, 0)
    assert raw("tensorflow.toml")["metal"]["min_macos"] == "12.0"


# -- providers, names, companions --------------------------------------------------------------


def test_providers_cover_every_tensorflow_release_exactly_once(knowledge: Knowledge) -> None:
    releases = {v for dist in ("tensorflow", "tensorflow-macos") for py in PYTHONS
                for v in knowledge.arm64_versions(dist, py) or ()}
    for version in releases:
        matching = [p for p in knowledge.providers if p.versions.contains(version)]
        assert len(matching) == 1, version
    assert knowledge.provider_for(Version("2.12.0")).distribution == "tensorflow-macos"
    assert knowledge.provider_for(Version("2.13.0")).distribution == "tensorflow"


def test_provider_distributions_are_tracked(knowledge: Knowledge) -> None:
    for provider in knowledge.providers:
        assert provider.distribution in knowledge.wheels


def test_tensorflow_has_no_arm64_wheel_before_2_13(knowledge: Knowledge) -> None:
    for py in PYTHONS:
        assert all(v >= Version("2.13") for v in knowledge.arm64_versions("tensorflow", py) or ())


def test_tf_names(knowledge: Knowledge) -> None:
    gpu = {name: rule.gpu for name, rule in knowledge.names.items()}
    assert gpu == {"tensorflow": True, "tensorflow-macos": True, "tensorflow-cpu": False,
                   "tensorflow-gpu": True, "tensorflow-intel": True}


def test_dropped_extras_belong_to_a_known_name(knowledge: Knowledge) -> None:
    assert knowledge.dropped_extras
    for rule in knowledge.dropped_extras:
        assert rule.package in knowledge.names and rule.reason


def test_every_companion_is_tracked_in_wheels(knowledge: Knowledge) -> None:
    """Without a wheel list the planner cannot say which companion versions exist."""
    for name in knowledge.companions:
        assert name in knowledge.wheels, name


def test_companion_tables_map_tf_minors_to_specifiers() -> None:
    for rule in raw("tensorflow.toml")["companion"]:
        assert rule.get("same_minor") or rule.get("versions"), rule["name"]
        for minor, spec in rule.get("versions", {}).items():
            assert re.fullmatch(r"2\.\d+", minor), (rule["name"], minor)
            assert str(SpecifierSet(spec)), (rule["name"], spec)


def test_family_names(knowledge: Knowledge) -> None:
    assert {"tensorflow", "tensorflow-macos", "tensorflow-metal", "tensorflow-text",
            "tf-keras"} <= knowledge.family()


# -- wheels.toml -------------------------------------------------------------------------------


WHEEL_TABLES = sorted(raw("wheels.toml")["wheels"].items())


@pytest.mark.parametrize(("package", "table"), WHEEL_TABLES, ids=[p for p, _ in WHEEL_TABLES])
def test_wheel_lists_are_final_releases_newest_first(package: str, table: dict[str, Any]) -> None:
    assert set(table) - {"source"} == set(PYTHONS), package
    for py in PYTHONS:
        listed = table[py]
        versions = [Version(v) for v in listed]
        assert [str(v) for v in versions] == listed, (package, py)  # normalized spelling
        assert versions == sorted(versions, reverse=True), (package, py)
        assert len(set(versions)) == len(versions), (package, py)
        assert not any(v.is_prerelease or v.is_devrelease or v.local for v in versions), (package, py)


def test_loaded_versions_newest_first(knowledge: Knowledge) -> None:
    for package, per_python in knowledge.wheels.items():
        for py, versions in per_python.items():
            assert list(versions) == sorted(versions, reverse=True), (package, py)
    assert list(knowledge.tf_versions("3.11")) == sorted(knowledge.tf_versions("3.11"), reverse=True)


def test_tf_versions_per_python(knowledge: Knowledge) -> None:
    assert str(knowledge.tf_versions("3.13")[-1]) == "2.20.0"
    assert str(knowledge.tf_versions("3.12")[-1]) == "2.16.1"
    assert str(knowledge.tf_versions("3.11")[-1]) == "2.12.0"
    assert str(knowledge.tf_versions("3.10")[-1]) == "2.9.0"
    assert str(knowledge.tf_versions("3.9")[-1]) == "2.5.0"
    assert str(knowledge.tf_versions("3.9")[0]) == "2.20.0"
    assert str(knowledge.tf_versions("3.11")[0]) == "2.21.0"


def test_untracked_package_is_unknown_not_empty(knowledge: Knowledge) -> None:
    assert knowledge.arm64_versions("requests", "3.11") is None
    assert knowledge.arm64_versions("tensorflow-addons", "3.12") == ()
