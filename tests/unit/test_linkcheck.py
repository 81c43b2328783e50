"""core/linkcheck.py: the verdict rule, with small hand-made values (no wheel, no LIEF).

The shapes mirror what the real wheels hold (see the team notes, facts/tensorflow-metal.md): the plugin
binds a few symbols two-level to `@rpath/_pywrap_tensorflow_internal.so`, which satisfies them
with per-symbol re-export entries into libtensorflow_cc, and most symbols flat (ordinal -2).
"""

from __future__ import annotations

import json

import pytest

from pip_tfmac.core.linkcheck import (
    BROKEN,
    LINK_BROKEN,
    LINK_CHECKED,
    LINKS,
    SCOPE_TWO_LEVEL,
    ImageExports,
    Import,
    LinkVerdict,
    PluginImports,
    WheelRef,
    check,
    needed_symbols,
    parse_macos,
)

PYWRAP = "@rpath/_pywrap_tensorflow_internal.so"
CC = "@rpath/libtensorflow_cc.2.dylib"
FW = "@rpath/libtensorflow_framework.2.dylib"
TF_WHEEL = WheelRef("tensorflow-9.9.0-cp311-cp311-macosx_12_0_arm64.whl", "a" * 64)
METAL_WHEEL = WheelRef("tensorflow_metal-9.9.0-cp311-cp311-macosx_12_0_arm64.whl", "b" * 64)
LOG_OLD = "__ZN3tsl8internal10LogMessageC1EPKcii"
LOG_NEW = "__ZN3tsl8internal10LogMessageC1EPKciN4absl12lts_2023080211LogSeverityE"


def plugin(*imports: Import) -> PluginImports:
    return PluginImports("tensorflow-plugins/libmetal_plugin.dylib", METAL_WHEEL, imports, (11, 3))


def pywrap(symbols: set[str] = frozenset(), reexports: dict[str, tuple[str, str]] | None = None
           ) -> ImageExports:
    return ImageExports(PYWRAP, "tensorflow/python/_pywrap_tensorflow_internal.so", TF_WHEEL,
                        frozenset(symbols), reexports or {}, (), (12, 0))


def cc(symbols: set[str]) -> ImageExports:
    return ImageExports(CC, "tensorflow/libtensorflow_cc.2.dylib", TF_WHEEL, frozenset(symbols),
                        {}, (), (12, 0))


def fw(symbols: set[str]) -> ImageExports:
    return ImageExports(FW, "tensorflow/libtensorflow_framework.2.dylib", TF_WHEEL,
                        frozenset(symbols), {}, (), (12, 0))


def test_two_level_import_satisfied_through_a_reexport_entry():
    p = plugin(Import("_TF_NewStatus", PYWRAP, lazy=True))
    images = (pywrap(reexports={"_TF_NewStatus": (CC, "_TF_NewStatus")}), cc({"_TF_NewStatus"}))
    verdict = check(p, images)
    assert verdict.state == LINKS and verdict.links
    assert verdict.knowledge_state == LINK_CHECKED
    assert verdict.missing == ()
    assert verdict.checked_two_level == 1 and verdict.unfollowed == 0


def test_reexport_whose_target_lacks_the_symbol_is_missing_and_says_where_it_ended():
    p = plugin(Import("_TF_NewStatus", PYWRAP, lazy=False))
    images = (pywrap(reexports={"_TF_NewStatus": (CC, "_TF_NewStatus")}), cc(set()))
    verdict = check(p, images)
    assert verdict.state == BROKEN
    (missing,) = verdict.missing
    assert missing.two_level and not missing.lazy
    assert "re-exports it from libtensorflow_cc.2.dylib" in missing.reason


def test_two_level_import_is_not_satisfied_by_another_image():
    """dyld looks a two-level import up in the image it names only."""
    p = plugin(Import(LOG_OLD, PYWRAP, lazy=True))
    verdict = check(p, (pywrap({LOG_NEW}), cc({LOG_OLD})))
    assert verdict.state == BROKEN
    assert [m.symbol for m in verdict.missing] == [LOG_OLD]
    assert verdict.knowledge_state == LINK_BROKEN


def test_lazy_missing_symbol_still_breaks():
    """TensorFlow dlopens plugins with RTLD_NOW: lazy bindings are bound at load too."""
    verdict = check(plugin(Import(LOG_OLD, PYWRAP, lazy=True)), (pywrap({LOG_NEW}),))
    assert verdict.state == BROKEN
    assert verdict.missing[0].lazy
    assert "lazy" in verdict.missing[0].describe()


def test_flat_import_satisfied_by_any_image():
    p = plugin(Import("__ZN10tensorflow6StatusC1Ev", None, lazy=False),
               Import("_TF_Foo", None, lazy=True))
    verdict = check(p, (pywrap(), cc({"_TF_Foo"}), fw({"__ZN10tensorflow6StatusC1Ev"})))
    assert verdict.links
    assert verdict.checked_flat == 2 and verdict.checked_two_level == 0


def test_flat_import_missing_everywhere_breaks_and_is_reported_flat():
    verdict = check(plugin(Import("_TF_Gone", None, lazy=False)), (pywrap(), cc(set())))
    assert verdict.state == BROKEN
    (missing,) = verdict.missing
    assert not missing.two_level and missing.library is None
    assert missing.to_json()["binding"] == "flat"


def test_flat_import_found_through_a_reexport_entry():
    images = (pywrap(reexports={"_TF_X": (CC, "_TF_X")}), cc({"_TF_X"}))
    assert check(plugin(Import("_TF_X", None, lazy=False)), images).links


def test_missing_weak_import_does_not_break_but_is_listed():
    verdict = check(plugin(Import("_TF_Optional", PYWRAP, lazy=False, weak=True)), (pywrap(),))
    assert verdict.links
    assert len(verdict.missing) == 1 and verdict.fatal() == ()


def test_import_naming_an_image_that_was_not_read_is_missing():
    verdict = check(plugin(Import("_X", "@rpath/libunknown.dylib", lazy=False)), (pywrap({"_X"}),))
    assert verdict.state == BROKEN
    assert "no TensorFlow image is named libunknown.dylib" in verdict.missing[0].reason


def test_two_level_scope_skips_flat_imports_and_trusts_reexports_into_unread_images():
    p = plugin(Import("_TF_A", PYWRAP, lazy=True), Import("_TF_Gone", None, lazy=False))
    verdict = check(p, (pywrap(reexports={"_TF_A": (CC, "_TF_A")}),), scope=SCOPE_TWO_LEVEL)
    assert verdict.links
    assert verdict.checked_flat == 0
    assert verdict.unfollowed == 1
    assert verdict.scope == SCOPE_TWO_LEVEL


def test_reexport_to_a_renamed_symbol_is_followed_under_the_new_name():
    images = (pywrap(reexports={"_A": (CC, "_B")}), cc({"_B"}))
    assert check(plugin(Import("_A", PYWRAP, lazy=False)), images).links
    images = (pywrap(reexports={"_A": (CC, "_B")}), cc({"_A"}))
    assert not check(plugin(Import("_A", PYWRAP, lazy=False)), images).links


def test_reexport_loop_is_reported_not_followed_forever():
    a = ImageExports("@rpath/a.dylib", "a", TF_WHEEL, frozenset(), {"_S": ("@rpath/b.dylib", "_S")})
    b = ImageExports("@rpath/b.dylib", "b", TF_WHEEL, frozenset(), {"_S": ("@rpath/a.dylib", "_S")})
    verdict = check(plugin(Import("_S", "@rpath/a.dylib", lazy=False)), (a, b))
    assert not verdict.links
    assert "loop" in verdict.missing[0].reason


def test_whole_library_reexport_is_searched():
    lib = ImageExports(PYWRAP, "p", TF_WHEEL, frozenset(), {}, (CC,))
    assert check(plugin(Import("_Z", PYWRAP, lazy=False)), (lib, cc({"_Z"}))).links


def test_image_matched_by_basename_when_install_names_differ():
    image = ImageExports("/opt/tf/_pywrap_tensorflow_internal.so", "m", TF_WHEEL, frozenset({"_Q"}))
    assert check(plugin(Import("_Q", PYWRAP, lazy=False)), (image,)).links


def test_verdict_records_min_macos_per_image_and_both_wheels():
    verdict = check(plugin(), (pywrap(), cc(set())))
    assert verdict.min_macos == {
        "tensorflow-plugins/libmetal_plugin.dylib": (11, 3),
        "tensorflow/python/_pywrap_tensorflow_internal.so": (12, 0),
        "tensorflow/libtensorflow_cc.2.dylib": (12, 0),
    }
    assert verdict.plugin == METAL_WHEEL and verdict.tensorflow == (TF_WHEEL,)
    data = verdict.to_json()
    json.dumps(data)
    assert data["min_macos"]["tensorflow-plugins/libmetal_plugin.dylib"] == "11.3"
    assert data["plugin"]["sha256"] == "b" * 64
    assert data["tensorflow"][0]["sha256"] == "a" * 64


def test_missing_listed_two_level_first_then_flat_sorted():
    p = plugin(Import("_TF_z", None, False), Import("_b", PYWRAP, False),
               Import("_TF_a", None, False), Import("_c", PYWRAP, True))
    verdict = check(p, (pywrap(),))
    assert [(m.symbol, m.two_level) for m in verdict.missing] == [
        ("_b", True), ("_c", True), ("_TF_a", False), ("_TF_z", False)]


def test_values_round_trip_through_json():
    p = plugin(Import("_a", PYWRAP, True), Import("_b", None, False, weak=True))
    assert PluginImports.from_json(json.loads(json.dumps(p.to_json()))) == p
    image = pywrap({"_x"}, {"_y": (CC, "_y")})
    assert ImageExports.from_json(json.loads(json.dumps(image.to_json()))) == image


def test_needed_symbols_keeps_the_verdict_and_drops_the_rest():
    p = plugin(Import("_A", PYWRAP, False), Import("_F", None, False))
    images = (pywrap({"_unrelated"}, {"_A": (CC, "_A2"), "_other": (CC, "_o")}),
              cc({"_A2", "_F", "_o", "_many", "_more"}))
    cut = needed_symbols((p,), images)
    assert cut[0].symbols == frozenset() and set(cut[0].reexports) == {"_A"}
    assert cut[1].symbols == {"_A2", "_F"}
    assert check(p, cut).to_json() == check(p, images).to_json()


@pytest.mark.parametrize("text, expected", [("12.0", (12, 0)), ("11.3.0", (11, 3)), ("14", (14, 0)),
                                            ("", None), (None, None)])
def test_parse_macos(text, expected):
    assert parse_macos(text) == expected


def test_linkverdict_is_a_frozen_value():
    verdict = check(plugin(), ())
    assert isinstance(verdict, LinkVerdict)
    with pytest.raises(AttributeError):
        verdict.state = "x"  # type: ignore[misc]


def test_flat_system_symbol_is_external_not_missing():
    """tensorflow-metal 1.2.0 binds `_objc_msgSend` flat; libobjc, which it links, provides it."""
    p = plugin(Import("_objc_msgSend", None, False), Import("_TF_Gone", None, False),
               Import("__ZNSt3__112basic_stringIcED1Ev", None, False))
    verdict = check(p, (pywrap(),))
    assert verdict.external == ("__ZNSt3__112basic_stringIcED1Ev", "_objc_msgSend")
    assert [m.symbol for m in verdict.missing] == ["_TF_Gone"]


@pytest.mark.parametrize("symbol, tf", [
    ("_TF_NewStatus", True), ("_TFE_NewOp", True), ("__ZN10tensorflow6StatusC1Ev", True),
    ("__ZN6google8protobuf5Arena18Create", True), ("_objc_msgSend", False), ("_malloc", False),
    ("__ZNSt3__14cout", False),
])
def test_is_tensorflow_symbol(symbol, tf):
    from pip_tfmac.core.linkcheck import is_tensorflow_symbol

    assert is_tensorflow_symbol(symbol) is tf


def test_rpath_import_finds_an_image_by_its_file_name_whatever_its_install_name():
    """TF 2.20's _pywrap_tensorflow_internal.so is a stub with a bazel install name."""
    stub = ImageExports("bazel-out/x/lib__pywrap_tensorflow_16_shared_object.dylib",
                        "tensorflow/python/_pywrap_tensorflow_internal.so", TF_WHEEL,
                        frozenset({"_PyInit__pywrap_tensorflow_internal"}))
    imp = Import("_TF_DeleteStatus", PYWRAP, True)
    verdict = check(plugin(imp), (stub, fw({"_TF_DeleteStatus"})))
    assert not verdict.links
    assert verdict.missing[0].reason == "_pywrap_tensorflow_internal.so does not export it"
