"""doctor's link check of an installed environment (issue 12 part 5): the installed
libmetal_plugin.dylib against the installed TensorFlow's Mach-O images, and the finding that
names the missing symbols.

Test doubles, and what each stands in for:
- TablesReader hands back the symbol tables extracted from the real wheels (tests/data/linkcheck,
  the same data test_linkcheck_data.py checks): it stands in for LIEF reading the real installed
  libraries (libtensorflow_cc alone is 600+ MB, which no test can carry). The files it is asked
  about are real files in a real site-packages layout, found by the real gatherer; only their
  bytes are placeholders.
- The hand-built arm64 dylib of test_linkcheck_macho.py stands in for an installed TensorFlow
  image where LIEF itself reads the file from disk (LiefReader), so that path runs for real.
- A fake venv (test_verify_probe.make_env) with injected macOS facts stands in for a Mac with
  TensorFlow 2.18.1 and tensorflow-metal 1.1.0 installed; `doctor` runs its real probe there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pip_tfmac.core import doctor_model
from pip_tfmac.core.doctor_model import Distribution, Environment
from pip_tfmac.core.doctor_rules import diagnose
from pip_tfmac.core.linkcheck import ImageExports, PluginImports, check
from pip_tfmac.core.verify_report import MachineFacts
from pip_tfmac.flows import doctor as doctor_flow
from pip_tfmac.knowledge import load
from pip_tfmac.wheelhouse import installed_link
from pip_tfmac.wheelhouse.installed_link import InstalledFiles, LiefReader, check_installed, find_installed
from pip_tfmac.wheelhouse.symbols import read_json_gz
from test_verify_probe import MAC as MAC_FACTS, _site_packages, make_env

DATA = Path(__file__).resolve().parent.parent / "data" / "linkcheck"
LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"
KNOWLEDGE = load()


def plugin_table(version: str) -> PluginImports:
    return PluginImports.from_json(read_json_gz(DATA / f"metal-{version}.json.gz"))


def image_tables(version: str) -> tuple[ImageExports, ...]:
    return tuple(ImageExports.from_json(i) for i in read_json_gz(DATA / f"tensorflow-{version}.json.gz")["images"])


class TablesReader:
    """Stands in for LIEF on the installed files: the tables of the real wheels, by member."""

    def __init__(self, metal: str, tf: str) -> None:
        self.metal, self.tf = metal, tf
        self.asked: list[str] = []

    def plugin(self, files: InstalledFiles) -> PluginImports:
        self.asked.append(files.member(files.plugin))
        return plugin_table(self.metal)

    def image(self, files: InstalledFiles, path: Path) -> ImageExports:
        member = files.member(path)
        self.asked.append(member)
        return next(i for i in image_tables(self.tf) if i.member == member)


def fake_site(site: Path, tf: str) -> Path:
    """The files a tensorflow + tensorflow-metal install puts in site-packages (placeholders)."""
    for member in ["tensorflow-plugins/libmetal_plugin.dylib", *(i.member for i in image_tables(tf))]:
        path = site / member
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(b"placeholder: the reader double supplies the symbols")
    return site


FACTS = MachineFacts(sys_platform="darwin", machine="arm64", python_version="3.11.9",
                     executable="/v/bin/python", macos_version="14.5", rosetta=False,
                     arm64_hardware=True)


def env(tf: str, metal: str, site: Path) -> Environment:
    facts = MachineFacts(**{**FACTS.__dict__, "site_packages": (str(site),)})
    dists = (Distribution("tensorflow", tf, ("cp311-cp311-macosx_12_0_arm64",), top_level=("tensorflow",)),
             Distribution("tensorflow-metal", metal, ("cp311-cp311-macosx_12_0_arm64",)))
    return Environment("py", facts, dists)


# -- the gatherer -------------------------------------------------------------------------------

def test_finds_the_plugin_and_the_tensorflow_images_in_site_packages(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "site", "2.18.1")
    (site / "tensorflow" / "libunrelated.dylib").write_bytes(b"x")
    files = find_installed([str(tmp_path / "elsewhere"), str(site)])
    assert files is not None and files.site == site
    assert [files.member(p) for p in files.images] == sorted(i.member for i in image_tables("2.18.1"))
    assert find_installed([str(tmp_path / "elsewhere")]) is None


def test_installed_check_reproduces_the_known_break(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "site", "2.18.1")
    reader = TablesReader("1.1.0", "2.18.1")
    result = check_installed([str(site)], reader)
    assert result.verdict is not None and not result.verdict.links
    assert [m.symbol for m in result.verdict.missing] == [LOG_OLD]
    assert reader.asked[0] == "tensorflow-plugins/libmetal_plugin.dylib"


def test_installed_check_of_a_pair_that_links(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "site", "2.17.1")
    result = check_installed([str(site)], TablesReader("1.1.0", "2.17.1"))
    assert result.verdict is not None and result.verdict.links


def test_lief_reads_an_installed_image_from_disk(tmp_path: Path) -> None:
    pytest.importorskip("lief")
    from test_linkcheck_macho import build_dylib

    site = tmp_path / "site"
    image = site / "tensorflow" / "libtensorflow_cc.2.dylib"
    image.parent.mkdir(parents=True)
    image.write_bytes(build_dylib())
    files = InstalledFiles(site, site / "tensorflow-plugins" / "libmetal_plugin.dylib", (image,))
    exports = LiefReader().image(files, image)
    assert exports.member == "tensorflow/libtensorflow_cc.2.dylib"
    assert "_foo" in exports.symbols and exports.reexports["_bar"][0] == "@rpath/liby.dylib"


def test_an_unreadable_plugin_skips_the_check_and_says_why(tmp_path: Path) -> None:
    pytest.importorskip("lief")
    site = fake_site(tmp_path / "site", "2.18.1")  # placeholders: not Mach-O
    result = check_installed([str(site)])
    assert result.verdict is None and "Mach-O" in result.skipped


# -- the rule -------------------------------------------------------------------------------

def test_finding_names_the_missing_symbol_and_the_paired_plugin(tmp_path: Path) -> None:
    e = doctor_flow.with_link_check(env("2.18.1", "1.1.0", fake_site(tmp_path, "2.18.1")),
                                    TablesReader("1.1.0", "2.18.1"))
    (finding,) = [f for f in diagnose(e, (), KNOWLEDGE) if f.id == "metal-pairing"]
    assert finding.severity == doctor_model.ERROR
    assert LOG_OLD in finding.message and "link check of the installed files" in finding.message
    assert "two-level to @rpath/_pywrap_tensorflow_internal.so, lazy" in finding.message
    assert finding.action is not None
    assert finding.action.steps == (("install", "tensorflow-metal==1.2.0"),)


def test_installed_verdict_wins_over_the_knowledge() -> None:
    """The knowledge calls 2.17.1 + 1.1.0 verified; the installed files are what dyld loads."""
    broken = check(plugin_table("1.1.0"), image_tables("2.18.1"))
    e = Environment("py", FACTS, env("2.17.1", "1.1.0", Path("/nowhere")).distributions,
                    metal_link=broken)
    (finding,) = [f for f in diagnose(e, (), KNOWLEDGE) if f.id == "metal-pairing"]
    assert LOG_OLD in finding.message


def test_no_plugin_that_links_means_uninstall() -> None:
    """TF 2.20.0 has no plugin that links (links.toml): the fix removes the plugin. (The verdict
    value is the 1.1.0 x 2.18.1 one: the rule reads only its missing symbols.)"""
    broken = check(plugin_table("1.1.0"), image_tables("2.18.1"))
    e = Environment("py", FACTS, env("2.20.0", "1.2.0", Path("/nowhere")).distributions, metal_link=broken)
    (finding,) = [f for f in diagnose(e, (), KNOWLEDGE) if f.id == "metal-pairing"]
    assert finding.action is not None and finding.action.removes == ("tensorflow-metal",)
    assert "uninstall tensorflow-metal" in finding.fix


def test_a_linking_installed_pair_leaves_the_knowledge_verdict() -> None:
    links = check(plugin_table("1.1.0"), image_tables("2.17.1"))
    e = Environment("py", FACTS, env("2.17.1", "1.1.0", Path("/nowhere")).distributions, metal_link=links)
    assert "metal-pairing" not in [f.id for f in diagnose(e, (), KNOWLEDGE)]


def test_not_run_off_the_mac_or_without_the_plugin(tmp_path: Path) -> None:
    site = fake_site(tmp_path, "2.18.1")
    reader = TablesReader("1.1.0", "2.18.1")
    linux = Environment("py", MachineFacts("linux", "x86_64", "3.11.9", "/v/bin/python",
                                           site_packages=(str(site),)), env("2.18.1", "1.1.0", site).distributions)
    assert doctor_flow.with_link_check(linux, reader).metal_link is None
    no_metal = env("2.18.1", "1.1.0", site)
    no_metal = Environment("py", no_metal.facts, no_metal.distributions[:1])
    assert doctor_flow.with_link_check(no_metal, reader).metal_link is None
    assert reader.asked == []


# -- doctor end to end, with its real probe in a fake venv ------------------------------------

def test_doctor_reports_the_missing_symbol_of_the_installed_plugin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(MAC_FACTS))
    monkeypatch.setenv("PIP_TFMAC_PROBE_FACTS", str(facts))
    py = make_env(tmp_path, {"version": "2.18.1"}, metal="1.1.0")
    site = fake_site(_site_packages(py.parent.parent), "2.18.1")
    info = site / "tensorflow-2.18.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorflow\nVersion: 2.18.1\n")
    (info / "RECORD").write_text("tensorflow/__init__.py,,\n")
    monkeypatch.setattr(installed_link, "LiefReader", lambda: TablesReader("1.1.0", "2.18.1"))
    monkeypatch.setattr(doctor_flow, "pip_check", lambda python, timeout: ())
    report = doctor_flow.doctor(str(py), timeout=60)
    (finding,) = [f for f in report.findings if f.id == "metal-pairing"]
    assert finding.severity == doctor_model.ERROR and LOG_OLD in finding.message
    assert "tensorflow-metal 1.1.0 with TensorFlow 2.18.1" in finding.message
