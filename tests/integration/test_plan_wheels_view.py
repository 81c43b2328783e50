"""A plan sees only the pip-tfmac builds it asked for: a wheel with a +tfmac local label built
for another plan (a recipe line's stand-in, say) outranks the release it stands for, so a shared
wheelhouse must not hand it to a plan that wants the real release."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import build_wheel, isolated_env, make_venv, run, tool_command, venv_bin

from types import SimpleNamespace

from pip_tfmac.flows.plan import foreign_builds, plan_wheels_view
from pip_tfmac.wheelhouse.provenance import Provenance
from pip_tfmac.wheelhouse.store import Wheelhouse


def test_foreign_builds_are_the_tfmac_labels_not_built_for_the_plan(tmp_path: Path) -> None:
    for name in ("a-1.0+tfmac.1-py3-none-any.whl", "b-2.0+tfmac.2-py3-none-any.whl",
                 "c-3.0-py3-none-any.whl", "d-1.0+local-py3-none-any.whl", "notes.txt", "bad.whl"):
        (tmp_path / name).write_bytes(b"")
    built = [str(tmp_path / "b-2.0+tfmac.2-py3-none-any.whl")]
    assert foreign_builds(str(tmp_path), built) == {"a-1.0+tfmac.1-py3-none-any.whl"}


def test_the_view_is_kept_and_refreshed(tmp_path: Path) -> None:
    """The view outlives the run (`plan --json` reports it as find-links for plain pip), a plan
    built twice (re-planned for arrivals) reuses it, and it follows the wheelhouse: a wheel
    removed since leaves no dangling link, a wheel added since shows."""
    house = Wheelhouse(tmp_path / "house")
    folder = house.find_links_dir
    for name in ("a-1.0+tfmac.1-py3-none-any.whl", "b-2.0+tfmac.2-py3-none-any.whl", "c-3.0-py3-none-any.whl"):
        (folder / name).write_bytes(b"")
    resolved = SimpleNamespace(workdir=str(tmp_path), wheelhouse=house,
                               built=[str(folder / "b-2.0+tfmac.2-py3-none-any.whl")])
    views = [Path(plan_wheels_view(resolved, str(folder))) for _ in range(2)]  # type: ignore[arg-type]
    assert views[0] == views[1] and views[0].parent == house.views_dir
    assert sorted(p.name for p in views[0].iterdir()) == ["b-2.0+tfmac.2-py3-none-any.whl", "c-3.0-py3-none-any.whl"]
    assert all(p.resolve().parent == folder.resolve() for p in views[0].iterdir())
    (folder / "c-3.0-py3-none-any.whl").unlink()
    (folder / "d-4.0-py3-none-any.whl").write_bytes(b"")
    view = Path(plan_wheels_view(resolved, str(folder)))  # type: ignore[arg-type]
    assert sorted(p.name for p in view.iterdir()) == ["b-2.0+tfmac.2-py3-none-any.whl", "d-4.0-py3-none-any.whl"]
    house.purge()
    assert list(house.views_dir.iterdir()) == []


def test_a_stand_in_built_for_another_plan_is_not_installed(tmp_path: Path) -> None:
    links = tmp_path / "links"
    build_wheel(links, "tensorflow-text", "2.18.0", requires=["tinydep>=1"])
    build_wheel(links, "tinydep", "1.0")
    house = tmp_path / "wheelhouse"
    env = isolated_env(tmp_path, {"PIP_TFMAC_CACHE_DIR": house})
    fetched = run([*tool_command(), "download", "--no-index", "--find-links", links, "tensorflow-text==2.18.0"],
                  env, cwd=tmp_path)
    assert fetched.returncode == 0, fetched.describe()
    # Another plan's build (hash recorded), as a recipe line's stand-in is left in the wheelhouse.
    other = build_wheel(tmp_path / "other", "tinydep", "1.0+tfmac.1")
    Wheelhouse(house).ensure_built(other.name, other.read_bytes,
                                   Provenance(rule="test: another plan's stand-in", source="test"))

    venv = make_venv(tmp_path / "venv", env)
    venv_env = dict(env, VIRTUAL_ENV=str(venv))
    # Offline: the wheelhouse is pip's only source, every wheel in it a candidate.
    installed = run([*tool_command(), "install", "--offline", "--no-verify", "tensorflow-text==2.18.0"],
                    venv_env, cwd=tmp_path)
    assert installed.returncode == 0, installed.describe()
    freeze = run([venv_bin(venv, "python"), "-m", "pip", "freeze"], venv_env).stdout
    assert "tinydep==1.0\n" in freeze and "tfmac" not in freeze, freeze
    # The plan's find-links still serve plain pip after the run, and still hide the build.
    planned = run([*tool_command(), "plan", "--offline", "--json", "tensorflow-text==2.18.0"], venv_env, cwd=tmp_path)
    assert planned.returncode == 0, planned.describe()
    links = json.loads(planned.stdout)["find_links"]
    assert links and all(Path(link).is_dir() for link in links), links
    assert not any("tfmac" in p.name for link in links for p in Path(link).iterdir())
