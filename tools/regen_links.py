"""Regenerate src/pip_tfmac/knowledge/links.toml: the link verdict of every TF/metal pair.

Maintainer command (network through pip; each TensorFlow wheel is 200-250 MB):

    python tools/regen_links.py --wheels ~/tfmac-wheels            # every pair, merge into the file
    python tools/regen_links.py --wheels DIR --tensorflow 2.18.1 --metal 1.1.0,1.2.0
    python tools/regen_links.py --wheels DIR --tensorflow 2.17.1,2.18.1 --metal 1.1.0,1.2.0 \\
        --fixtures tests/data/linkcheck --no-write                  # the offline test's tables

Which pairs: by default TensorFlow 2.12 to the newest release the knowledge lists (wheels.toml,
Python 3.11), the latest patch of each minor (`--all-patches` for every release), against every
tensorflow-metal release from 0.8.0 the knowledge lists. Reproducible: the same wheels and the
same `--date` give the same file (records sorted, each with both wheels' sha256); records of
pairs not in this run are kept (`--replace` drops them).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

from packaging.version import Version

import pip_tfmac
from pip_tfmac.core.linkcheck import ImageExports, PluginImports, needed_symbols
from pip_tfmac.flows.check_pair import PairReport, PairSpec, check_pair, pip_fetcher
from pip_tfmac.knowledge import load
from pip_tfmac.wheelhouse.symbols import SymbolCache, write_json_gz

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "src" / "pip_tfmac" / "knowledge" / "links.toml"
PYTHON = "3.11"
FIRST_TF = Version("2.12")
FIRST_METAL = Version("0.8")


def default_pairs(all_patches: bool) -> tuple[list[Version], list[Version]]:
    knowledge = load()
    tf = [v for v in knowledge.tf_versions(PYTHON) if v >= FIRST_TF and not v.is_prerelease]
    if not all_patches:
        latest: dict[tuple[int, int], Version] = {}
        for v in tf:
            key = (v.major, v.minor)
            latest[key] = max(latest.get(key, v), v)
        tf = list(latest.values())
    metal = [v for v in knowledge.arm64_versions("tensorflow-metal", PYTHON) or ()
             if v >= FIRST_METAL]
    return sorted(tf), sorted(metal)


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's for these characters)."""
    return json.dumps(text, ensure_ascii=False)


def record_toml(rec: dict[str, object]) -> str:
    lines = ["[[pair]]"]
    for key in ("tensorflow", "metal", "state", "scope", "tensorflow_distribution",
                "tensorflow_wheel", "tensorflow_sha256", "shim_wheel", "shim_sha256",
                "metal_wheel", "metal_sha256", "checked_on", "tool"):
        value = rec.get(key)
        if value:
            lines.append(f"{key} = {q(str(value))}")
    lines.append(f"missing_count = {rec['missing_count']}")
    macos = rec["min_macos"]
    assert isinstance(macos, dict)
    lines.append("min_macos = { " + ", ".join(f"{q(k)} = {q(v)}" for k, v in macos.items())
                 + " }")
    missing = rec["missing"]
    assert isinstance(missing, list)
    if missing:
        lines.append("missing = [")
        for m in missing:
            fields = (f"{k} = {q(v) if isinstance(v, str) else str(v).lower()}"
                      for k, v in m.items() if v is not None)
            lines.append("  { " + ", ".join(fields) + " },")
        lines.append("]")
    else:
        lines.append("missing = []")
    return "\n".join(lines)


def to_record(report: PairReport, date: str, tool: str, keep: int) -> dict[str, object]:
    v = report.verdict
    tf_wheel = v.tensorflow[0]
    return {
        "tensorflow": report.tensorflow, "metal": report.metal,
        "state": v.knowledge_state, "scope": v.scope,
        "tensorflow_distribution": report.tensorflow_distribution,
        "tensorflow_wheel": tf_wheel.filename, "tensorflow_sha256": tf_wheel.sha256,
        "shim_wheel": report.shim.filename if report.shim else None,
        "shim_sha256": report.shim.sha256 if report.shim else None,
        "metal_wheel": v.plugin.filename, "metal_sha256": v.plugin.sha256,
        "checked_on": date, "tool": tool, "missing_count": len(v.fatal()),
        "min_macos": {k.rsplit("/", 1)[-1]: ("%d.%d" % mv if mv else "?")
                      for k, mv in v.min_macos.items()},
        "missing": [{"symbol": m.symbol, "library": m.library, "lazy": m.lazy,
                     "weak": m.weak or None} for m in v.fatal()[:keep]],
    }


def existing_records() -> dict[tuple[str, str], str]:
    """The current file's [[pair]] blocks by (tensorflow, metal), kept verbatim."""
    if not OUT.exists():
        return {}
    import tomllib

    data = tomllib.loads(OUT.read_text("utf-8"))
    text = OUT.read_text("utf-8")
    blocks = text.split("\n[[pair]]\n")[1:]
    out = {}
    for block, pair in zip(blocks, data.get("pair", [])):
        out[(pair["tensorflow"], pair["metal"])] = "[[pair]]\n" + block.strip()
    return out


def write_fixtures(folder: Path, plugins: dict[str, PluginImports],
                   images: dict[str, tuple[ImageExports, ...]]) -> None:
    """The extracted tables cut to what these plugins import: real data, a few kB."""
    folder.mkdir(parents=True, exist_ok=True)
    for version, plugin in plugins.items():
        write_json_gz(folder / f"metal-{version}.json.gz", plugin.to_json())
    for version, imgs in images.items():
        cut = needed_symbols(tuple(plugins.values()), imgs)
        write_json_gz(folder / f"tensorflow-{version}.json.gz",
                      {"images": [i.to_json() for i in cut]})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--wheels", type=Path, help="folder for the wheels (reused when present)")
    p.add_argument("--symbols", type=Path, help="symbol-table cache (default WHEELS/symbols)")
    p.add_argument("--tensorflow", help="comma-separated TensorFlow versions")
    p.add_argument("--metal", help="comma-separated tensorflow-metal versions")
    p.add_argument("--all-patches", action="store_true")
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    p.add_argument("--date", default=today)
    p.add_argument("--keep-missing", type=int, default=20, help="missing symbols listed per pair")
    p.add_argument("--replace", action="store_true", help="drop records of pairs not in this run")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--fixtures", type=Path, help="also write cut-down tables for the tests here")
    ns = p.parse_args(argv)
    tfs, metals = default_pairs(ns.all_patches)
    if ns.tensorflow:
        tfs = [Version(v) for v in ns.tensorflow.split(",")]
    if ns.metal:
        metals = [Version(v) for v in ns.metal.split(",")]
    wheels = ns.wheels or Path(tempfile.mkdtemp(prefix="regen-links-"))
    cache = SymbolCache(ns.symbols or wheels / "symbols")
    fetch = pip_fetcher(PYTHON)
    tool = f"pip-tfmac {pip_tfmac.__version__}, lief {_lief_version()}"
    blocks = {} if ns.replace else existing_records()
    failed = []
    for tf in tfs:
        for metal in metals:
            try:
                report = check_pair(PairSpec(tensorflow=str(tf), metal=str(metal)), fetch=fetch,
                                    dest=wheels, cache=cache,
                                    log=lambda line: print(f"  {line}", file=sys.stderr))
            except Exception as exc:  # noqa: BLE001 - one pair failing must not stop the run
                failed.append(f"{tf} x {metal}: {exc}")
                print(f"{tf} x {metal}: FAILED {exc}", file=sys.stderr)
                continue
            rec = to_record(report, ns.date, tool, ns.keep_missing)
            blocks[(str(tf), str(metal))] = record_toml(rec)
            print(f"{tf} x {metal}: {rec['state']} ({rec['missing_count']} missing) "
                  f"{report.seconds:.1f} s", file=sys.stderr, flush=True)
    if ns.fixtures:
        plugins = {}
        images = {}
        for metal in metals:
            path = fetch(f"tensorflow-metal=={metal}", wheels)
            plugins[str(metal)] = cache.plugin(path, _ref(path))
        for tf in tfs:
            path = fetch(f"tensorflow=={tf}", wheels)
            ref = _ref(path)
            from pip_tfmac.wheelhouse.macho import scan_wheel

            images[str(tf)] = cache.images(path, ref, scan_wheel(path, ref).images)
        write_fixtures(ns.fixtures, plugins, images)
    if not ns.no_write:
        ordered = sorted(blocks.items(), key=lambda kv: (Version(kv[0][0]), Version(kv[0][1])))
        all_tf = sorted({Version(k[0]) for k in blocks})
        all_metal = sorted({Version(k[1]) for k in blocks})
        header = HEADER.format(
            date=ns.date, tool=q(tool),
            coverage=q(f"tensorflow {', '.join(map(str, all_tf))} x tensorflow-metal "
                       f"{', '.join(map(str, all_metal))} ({len(blocks)} pairs)"))
        OUT.write_text(header + "\n\n".join(b for _, b in ordered) + "\n", "utf-8")
        print(f"wrote {OUT} ({len(blocks)} pairs)", file=sys.stderr)
    for line in failed:
        print(f"not regenerated: {line}", file=sys.stderr)
    return 1 if failed else 0


def _ref(path: Path):  # type: ignore[no-untyped-def]
    from pip_tfmac.wheelhouse.macho import wheel_ref

    return wheel_ref(path)


def _lief_version() -> str:
    import lief

    return str(lief.__version__).split("-")[0]


HEADER = """\
# Link verdicts of TensorFlow / tensorflow-metal pairs, read from the macOS arm64 wheels.
# GENERATED by tools/regen_links.py: do not edit by hand; rerun it (see its docstring).
#
# state: link-checked  every symbol the plugin imports (two-level and flat) is exported by the
#                      TensorFlow wheel's images; linking only, never run on a Mac
#        link-broken   `missing` lists symbols no image exports (first ones, sorted; all are
#                      counted in missing_count): `import tensorflow` fails with the plugin
# The wheels are the cp311 macOS arm64 ones; the plugin library is the same in every Python's
# wheel of a release. TensorFlow 2.13/2.14 `tensorflow` wheels are shims: the images were read
# from the tensorflow-macos wheel they require (shim_wheel names the shim).

schema = 1
generated_on = "{date}"
tool = {tool}
source = "the wheels (pip download --platform macosx_14_0_arm64 --python-version 3.11), sha256 each"
coverage = {coverage}

"""

if __name__ == "__main__":
    raise SystemExit(main())
