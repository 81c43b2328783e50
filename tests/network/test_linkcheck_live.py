"""Link verdicts re-derived from the real wheels on the index (issue 12).

`pip-tfmac check-pair` fetches each macOS arm64 wheel through pip into one wheelhouse shared by
the module (tensorflow 2.18.1 is downloaded once for two pairs; about 480 MB in all), reads the
Mach-O images and prints its verdict as JSON. pip runs with this machine's pip configuration
and PIP_* variables removed (helpers.isolated_env), so the default index is asked, as a user's
pip would (the approach of test_knowledge_live.py).

Also checks that the committed tables of tests/data/linkcheck (which the offline test
tests/unit/test_linkcheck_data.py reads) are what the wheels hold, and that the streamed export
"skeleton" gives the same exports as LIEF parsing a whole image.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from helpers import isolated_env, run, tool_command
from pip_tfmac.core.linkcheck import ImageExports, PluginImports, needed_symbols
from pip_tfmac.wheelhouse import macho
from pip_tfmac.wheelhouse.symbols import SymbolCache, read_json_gz

pytestmark = [pytest.mark.network, pytest.mark.slow]

DATA = Path(__file__).resolve().parent.parent / "data" / "linkcheck"
LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"
PAIRS = (  # (tensorflow, tensorflow-metal, links?)
    ("2.18.1", "1.1.0", False),
    ("2.17.1", "1.1.0", True),
    ("2.18.1", "1.2.0", True),
)


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("linkcheck-live")
    return base / "wheelhouse", isolated_env(base / "pip-isolated")


@pytest.fixture(scope="module")
def verdicts(house) -> dict[tuple[str, str], dict]:
    root, env = house
    out = {}
    for tf, metal, _ in PAIRS:
        result = run([*tool_command(), "check-pair", f"tensorflow=={tf}",
                      f"tensorflow-metal=={metal}", "--json", "--tfmac-cache-dir", str(root)],
                     env, timeout=900)
        assert result.returncode in (0, 76), result.describe()
        data = json.loads(result.stdout)
        assert data["version"] == 1
        out[(tf, metal)] = {"exit": result.returncode, **data}
    return out


@pytest.mark.parametrize("tf, metal, links", PAIRS)
def test_verdict_from_the_wheels(verdicts, tf, metal, links):
    data = verdicts[(tf, metal)]
    verdict = data["verdict"]
    assert data["exit"] == (0 if links else 76)
    assert verdict["state"] == ("links" if links else "broken")
    assert verdict["scope"] == "full"
    assert verdict["checked"]["two_level"] > 0 and verdict["checked"]["flat"] > 100
    if not links:
        assert [m["symbol"] for m in verdict["missing"]] == [LOG_OLD]
        assert verdict["missing"][0]["binding"] == "two-level"


def test_committed_tables_are_what_the_wheels_hold(house, verdicts):
    root, _ = house
    cache = SymbolCache.in_wheelhouse(root)
    wheels = root / "wheels"
    plugins = {}
    for metal in ("1.1.0", "1.2.0"):
        (path,) = wheels.glob(f"tensorflow_metal-{metal}-*.whl")
        plugins[metal] = cache.plugin(path, macho.wheel_ref(path))
        committed = PluginImports.from_json(read_json_gz(DATA / f"metal-{metal}.json.gz"))
        assert committed == plugins[metal]
    for tf in ("2.17.1", "2.18.1"):
        (path,) = wheels.glob(f"tensorflow-{tf}-*.whl")
        ref = macho.wheel_ref(path)
        images = cache.images(path, ref, macho.scan_wheel(path, ref).images)
        cut = needed_symbols(tuple(plugins.values()), images)
        committed = tuple(ImageExports.from_json(i) for i in
                          read_json_gz(DATA / f"tensorflow-{tf}.json.gz")["images"])
        assert committed == cut


def test_skeleton_exports_equal_a_whole_parse(house, verdicts):
    """The streamed skeleton (header, load commands, export trie) loses nothing LIEF reads."""
    import lief

    root, _ = house
    (path,) = (root / "wheels").glob("tensorflow-2.18.1-*.whl")
    ref = macho.wheel_ref(path)
    member = "tensorflow/python/_pywrap_tensorflow_internal.so"
    with zipfile.ZipFile(path) as zf:
        whole = lief.MachO.parse(zf.read(member)).at(0)
    assert macho.image_exports(whole, member, ref) == macho.read_image(path, member, ref)
