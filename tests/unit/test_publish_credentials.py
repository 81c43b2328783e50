"""wheelhouse/publish.py: credentials read as twine reads them (never from argv), URL checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pip_tfmac.errors import UsageError
from pip_tfmac.wheelhouse.publish import check_url, read_credentials, simple_url


def test_environment_wins_and_the_username_defaults_like_twine() -> None:
    found = read_credentials("http://127.0.0.1:8080/", {"TWINE_USERNAME": "ci", "TWINE_PASSWORD": "pw"})
    assert (found.username, found.password, found.source) == ("ci", "pw", "environment")  # type: ignore[union-attr]
    token = read_credentials("http://127.0.0.1:8080/", {"TWINE_PASSWORD": "pypi-abc"})
    assert token is not None and token.username == "__token__"


def test_netrc_is_read_for_the_index_host(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login team password s3cret\n")
    netrc.chmod(0o600)
    found = read_credentials("http://127.0.0.1:8080/", {"NETRC": str(netrc)})
    assert found is not None and (found.username, found.password, found.source) == ("team", "s3cret", "netrc")
    assert read_credentials("http://127.0.0.2:8080/", {"NETRC": str(netrc)}) is None


@pytest.mark.parametrize("url", ["ftp://host/", "not a url", "http://user:pw@127.0.0.1/"])
def test_bad_upload_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        check_url(url)


def test_the_simple_index_sits_beside_the_upload_root() -> None:
    assert simple_url(check_url("http://127.0.0.1:8080")) == "http://127.0.0.1:8080/simple/"
