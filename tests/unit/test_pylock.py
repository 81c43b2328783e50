"""core/pylock: target-env parsing, the lock document's shape, reading locks back."""

from __future__ import annotations

import pytest

from pip_tfmac.core.errors import BadInputError, UsageError
from pip_tfmac.core.pylock import (
    LockedEnv,
    LockedWheel,
    build_lock,
    parse_target_env,
    read_lock,
    target_env_text,
)
from pip_tfmac.core.target import cross_target

SHA = "a" * 64


def test_target_env_shorthands_become_pip_options() -> None:
    assert parse_target_env("macos-arm64@3.11").pip_options() == [
        "--platform", "macos-arm64", "--python-version", "3.11"]
    tags = parse_target_env("linux-aarch64@3.12").platforms
    assert tags[0] == "manylinux_2_28_aarch64" and "manylinux_2_17_aarch64" in tags and tags[-1] == "manylinux2014_aarch64"
    assert parse_target_env("manylinux_2_17_x86_64,linux_x86_64@3.10").platforms == (
        "manylinux_2_17_x86_64", "linux_x86_64")


@pytest.mark.parametrize("bad", ["macos-arm64", "@3.11", "linux-x86_64@3", "linux-x86_64@three"])
def test_malformed_target_env_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_target_env(bad)


def _env(platform: tuple[str, ...], wheels: list[tuple[str, str]], **kw: str) -> LockedEnv:
    target = cross_target(platform, "3.11")
    return LockedEnv(target, tuple(LockedWheel(n, v, f"{n}-{v}-py3-none-any.whl", SHA,
                                               url=f"https://example.invalid/{n}-{v}.whl") for n, v in wheels), **kw)


def test_packages_shared_by_every_target_carry_no_marker_and_others_their_targets() -> None:
    mac = _env(("macos-arm64",), [("numpy", "2.0"), ("tensorflow-metal", "1.2.0"), ("tensorflow", "2.18.1")],
               tensorflow="tensorflow==2.18.1", metal="tensorflow-metal==1.2.0")
    linux = _env(("manylinux_2_28_x86_64",), [("numpy", "2.0"), ("tensorflow", "2.19.0")])
    doc = build_lock([mac, linux])
    assert doc["lock-version"] == "1.0" and doc["created-by"] == "pip-tfmac"
    assert doc["requires-python"] == "==3.11.*"
    by = {(p["name"], p["version"]): p for p in doc["packages"]}
    assert "marker" not in by[("numpy", "2.0")]
    assert "darwin" in by[("tensorflow-metal", "1.2.0")]["marker"]
    assert "linux" in by[("tensorflow", "2.19.0")]["marker"]
    targets = doc["tool"]["pip-tfmac"]["targets"]
    assert [t["target-env"] for t in targets] == ["macos-arm64@3.11", "linux-x86_64@3.11"]
    assert targets[0]["tensorflow-metal"] == "tensorflow-metal==1.2.0"


def test_read_lock_selects_by_marker_and_refuses_malformed_locks() -> None:
    mac = _env(("macos-arm64",), [("tensorflow-metal", "1.2.0")])
    linux = _env(("manylinux_2_28_x86_64",), [("tensorflow", "2.19.0")])
    view = read_lock(build_lock([mac, linux]), "pylock.toml")
    assert view.select(mac.target.markers) == {"tensorflow-metal": "1.2.0"}
    assert view.fits(linux.target.markers)
    assert not view.fits(cross_target(("win_amd64",), "3.11").markers)
    for broken in ({"lock-version": "2.0", "packages": []},
                   {"lock-version": "1.0", "packages": [{"name": "x", "version": "not a version"}]},
                   {"lock-version": "1.0", "packages": [{"name": "x", "wheels": [{"name": "x.whl"}]}]},
                   {"lock-version": "1.0", "environments": ["os_name =="], "packages": []}):
        with pytest.raises(BadInputError):
            read_lock(broken, "pylock.toml")


def test_target_env_text_round_trips() -> None:
    assert target_env_text(cross_target(("macos-arm64",), "3.10")) == "macos-arm64@3.10"
    assert target_env_text(cross_target(("manylinux_2_28_aarch64",), "3.12")) == "linux-aarch64@3.12"


def test_uv_export_constrains_the_mac_pair_and_routes_built_wheels_through_a_flat_index() -> None:
    from pip_tfmac.core.uvexport import uv_export

    mac = _env(("macos-arm64",), [("tensorflow-macos", "2.12.0"), ("tensorflow-metal", "0.8.0")],
               tensorflow="tensorflow==2.12.0+tfmac.1", metal="tensorflow-metal==0.8.0")
    mac = LockedEnv(mac.target, mac.wheels, mac.tensorflow, mac.metal, ("tensorflow-2.12.0+tfmac.1-py3-none-any.whl",))
    linux = _env(("manylinux_2_28_x86_64",), [("tensorflow", "2.12.0")], tensorflow="tensorflow==2.12.0")
    out = uv_export([mac, linux], ["./wheels"])
    marker = "sys_platform == 'darwin' and platform_machine == 'arm64' and python_version == '3.11'"
    assert out.settings["constraint-dependencies"] == [f"tensorflow==2.12.0+tfmac.1; {marker}",
                                                       f"tensorflow-metal==0.8.0; {marker}"]
    assert out.dependencies == (f"tensorflow-metal==0.8.0; {marker}",)
    assert out.settings["index"][0]["format"] == "flat" and out.settings["index"][0]["explicit"] is True
    assert out.settings["sources"] == {"tensorflow": [{"index": "pip-tfmac-built", "marker": marker}]}
    assert "index" not in uv_export([linux], ["./wheels"]).settings
