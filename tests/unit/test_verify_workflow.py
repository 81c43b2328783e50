"""The macOS arm64 CI workflow cannot run here; check what can be checked without a Mac:
it is valid YAML of the expected shape, it does the issue's steps, and every pip-tfmac command
it runs is one the README documents (command word, options and package names)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is in the [test] extra")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "macos-arm64.yml"
README = ROOT / "README.md"


def load() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def run_scripts(data: dict[str, Any]) -> list[str]:
    return [step["run"] for job in data["jobs"].values() for step in job["steps"] if "run" in step]


def tool_commands(data: dict[str, Any]) -> list[list[str]]:
    """Each `pip-tfmac ...` invocation in the run scripts, up to a redirect or shell operator."""
    commands = []
    for script in run_scripts(data):
        for line in script.splitlines():
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words):
                if word == "pip-tfmac":
                    command = []
                    for w in words[i:]:
                        if w in (">", ">>", "|", "||", "&&", ";") or w.startswith(">"):
                            break
                        command.append(w)
                    commands.append(command)
    return commands


def test_workflow_runs_on_hosted_apple_silicon() -> None:
    data = load()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    for name, job in data["jobs"].items():
        assert job["strategy"]["matrix"]["os"] == ["macos-14"], name
        assert job["runs-on"] == "${{ matrix.os }}"
        setup = next(
            s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python")
        )
        assert setup["with"]["architecture"] == "arm64"


def test_workflow_does_the_documented_steps() -> None:
    data = load()
    tf_job, mm_job = data["jobs"]["tensorflow"], data["jobs"]["tflite-model-maker"]
    tf_runs = "\n".join(s.get("run", "") for s in tf_job["steps"])
    mm_runs = "\n".join(s.get("run", "") for s in mm_job["steps"])
    for runs in (tf_runs, mm_runs):
        assert "python -m pip install ." in runs
        assert "pip-tfmac verify --json > verify.json" in runs
        assert "pip-tfmac doctor --json > doctor.json" in runs
        assert 'echo "VIRTUAL_ENV=' in runs  # each job installs into its own venv
    assert "pip-tfmac install tensorflow\n" in tf_runs + "\n"
    assert "pip-tfmac install tflite-model-maker" in mm_runs
    assert "tflite-model-maker" not in tf_runs
    for job in (tf_job, mm_job):
        upload = next(
            s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")
        )
        assert set(upload["with"]["path"].split()) == {"verify.json", "doctor.json"}
        assert upload["if"] == "${{ !cancelled() }}"  # reports are kept when a step fails


def _usage_section(readme: str) -> str:
    match = re.search(r"^## Usage\s*$(.*?)(?=^## |\Z)", readme, re.MULTILINE | re.DOTALL)
    if match is None:
        pytest.skip("README.md has no '## Usage' section yet to check the workflow against")
    return match.group(1)


def _documents(readme: str, command: list[str]) -> bool:
    """The exact command is in a README example, or its command word and positionals are,
    and each option is shown with that command or listed for it in an options table."""
    word = command[1]
    examples = [
        shlex.split(line.split(" #")[0])
        for line in readme.splitlines()
        if line.strip().startswith(f"pip-tfmac {word}")
    ]
    if any(ex[: len(command)] == command for ex in examples):
        return True
    positionals = [a for a in command[2:] if not a.startswith("-")]
    if positionals and not any(ex[2:] == positionals for ex in examples):
        return False
    rows = [line for line in readme.splitlines() if line.startswith("|") and word in line]
    for option in (a for a in command[2:] if a.startswith("-")):
        shown = any(option in ex for ex in examples)
        listed = any(f"`{option}" in row for row in rows)
        if not (shown or listed):
            return False
    return True


def test_every_workflow_command_is_documented_in_the_readme() -> None:
    readme = README.read_text()
    usage = _usage_section(readme)
    commands = tool_commands(load())
    assert len(commands) >= 6
    for command in commands:
        assert f"pip-tfmac {command[1]}" in usage, f"`pip-tfmac {command[1]}` is not in Usage"
        assert _documents(readme, command), (
            f"`{shlex.join(command)}` is not documented in README.md"
        )


def test_the_readme_check_can_fail() -> None:
    readme = "    pip-tfmac verify --json\n| `--json` | one object (plan, verify) |\n"
    assert _documents(readme, ["pip-tfmac", "verify", "--json"])
    assert not _documents(readme, ["pip-tfmac", "verify", "--require-gpu"])
    assert not _documents(readme, ["pip-tfmac", "doctor", "--json"])  # the row names no doctor
    assert not _documents(readme, ["pip-tfmac", "install", "tensorflow"])
