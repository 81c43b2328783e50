"""`wheelhouse publish URL`: the wheels pip-tfmac built, uploaded to a team index.

The upload is the legacy upload API every index that accepts `twine upload` speaks (pypiserver,
devpi, a PyPI-compatible registry): one multipart POST a file with `:action=file_upload`. It is
written here with the standard library rather than twine as a library: one POST needs no
requests/rich/readme-renderer stack in every user's install, and twine has no stable Python API.
Credentials are read the way twine reads them, never from argv: TWINE_USERNAME/TWINE_PASSWORD,
then the `keyring` package when it is installed, then ~/.netrc (or $NETRC).

Nothing changes unless everything can: the index's simple page is read first for every file;
a file already there with the same sha256 is skipped, one with another sha256 stops the run
before the first upload. Errors are PublishError (exit 78), the password never in a message.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import Request, urlopen

from packaging.utils import canonicalize_name, parse_wheel_filename

from pip_tfmac.errors import PublishError, UsageError
from pip_tfmac.wheelhouse.store import Wheelhouse
from pip_tfmac.wheelhouse.wheelread import read_wheel_metadata

TIMEOUT = 60


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    source: str  # "environment", "keyring", "netrc": said in messages, the password never


@dataclass(frozen=True)
class Published:
    filename: str
    status: str  # "uploaded" or "already there"


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url!r} is not an index upload URL.", "for example http://127.0.0.1:8080/ (pypiserver)")
    if parts.username or parts.password:
        raise UsageError("the upload URL carries credentials; they would be visible to every user of this machine.",
                         "remove them from the URL; set TWINE_USERNAME/TWINE_PASSWORD, a keyring entry or ~/.netrc")
    return url if url.endswith("/") else url + "/"


def read_credentials(url: str, environ: Optional[dict[str, str]] = None) -> Optional[Credentials]:
    """twine's order: the environment, then keyring (if installed); then ~/.netrc as pip does."""
    env = os.environ if environ is None else environ
    user, password = env.get("TWINE_USERNAME"), env.get("TWINE_PASSWORD")
    if password:
        return Credentials(user or "__token__", password, "environment")
    try:
        import keyring  # type: ignore[import-not-found,unused-ignore]

        found = keyring.get_credential(url, user)
        if found is not None and found.password:
            return Credentials(found.username or user or "", found.password, "keyring")
    except Exception:  # keyring missing, or no backend: twine goes on too
        pass
    import netrc

    host = urlsplit(url).hostname or ""
    try:
        entry = netrc.netrc(env.get("NETRC") or None).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        entry = None
    if entry and entry[2]:
        return Credentials(user or entry[0] or "", entry[2], "netrc")
    return None


def simple_url(upload_url: str) -> str:
    """pypiserver serves its simple index at /simple/ beside the upload root."""
    return urljoin(upload_url, "simple/")


def _get(url: str) -> str:
    try:
        with urlopen(Request(url, headers={"Accept": "text/html"}), timeout=TIMEOUT) as response:
            return str(response.read().decode("utf-8", "replace"))
    except HTTPError as exc:
        if exc.code == 404:
            return ""
        raise _http_error(exc, url) from None
    except (URLError, OSError) as exc:
        raise _unreachable(url, exc) from None


def published_sha256(simple: str, filename: str) -> Optional[str]:
    """The sha256 the index lists for `filename` (None: not there)."""
    name = canonicalize_name(parse_wheel_filename(filename)[0])
    page = _get(urljoin(simple, f"{name}/"))
    for href in re.findall(r'href="([^"]+)"', page):
        path, _, fragment = href.partition("#")
        if path.rsplit("/", 1)[-1].replace("%2B", "+") == filename:
            match = re.search(r"sha256=([0-9a-f]{64})", fragment)
            return match.group(1) if match else ""
    return None


def _unreachable(url: str, exc: BaseException) -> PublishError:
    reason = getattr(exc, "reason", exc)
    return PublishError(f"the index at {url} cannot be reached ({reason}); nothing was uploaded.",
                        "check the URL and that the index server is running")


def _http_error(exc: HTTPError, url: str) -> PublishError:
    if exc.code in (401, 403):
        return PublishError(f"the index at {url} refused the credentials (HTTP {exc.code}); nothing further was uploaded.",
                            "check TWINE_USERNAME/TWINE_PASSWORD, the keyring entry or ~/.netrc for this host")
    return PublishError(f"the index at {url} refused the upload (HTTP {exc.code} {exc.reason}); nothing further was uploaded.",
                        "check that this index accepts uploads (pypiserver: -a update -P htpasswd)")


def _form(path: str, data: bytes) -> tuple[bytes, str]:
    filename = os.path.basename(path)
    meta = read_wheel_metadata(data)
    _name, version, _, tags = parse_wheel_filename(filename)
    fields = {":action": "file_upload", "protocol_version": "1", "name": str(meta["Name"]),
              "version": str(version), "filetype": "bdist_wheel",
              "pyversion": min(t.interpreter for t in tags),
              "metadata_version": str(meta.get("Metadata-Version", "2.1")),
              "sha256_digest": hashlib.sha256(data).hexdigest()}
    boundary = uuid.uuid4().hex
    body = b""
    for key, value in fields.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n").encode()
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(url: str, path: str, credentials: Optional[Credentials]) -> None:
    with open(path, "rb") as handle:
        data = handle.read()
    body, content_type = _form(path, data)
    headers = {"Content-Type": content_type}
    if credentials is not None:
        token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    try:
        with urlopen(Request(url, data=body, headers=headers, method="POST"), timeout=TIMEOUT):
            pass
    except HTTPError as exc:
        raise _http_error(exc, url) from None
    except (URLError, OSError) as exc:
        raise _unreachable(url, exc) from None


def built_wheels(house: Wheelhouse) -> list[tuple[str, str]]:
    """(filename, sha256) of every sound wheel pip-tfmac built, sorted."""
    out = []
    for filename, entry in sorted(house.entries().items()):
        if entry.kind == "built" and house.check(filename) is None:
            out.append((filename, entry.sha256))
    return out


def publish(house: Wheelhouse, url: str, *, simple: Optional[str] = None,
            say: Callable[[str], None] = lambda _line: None) -> list[Published]:
    url = check_url(url)
    simple = simple or simple_url(url)
    wheels = built_wheels(house)
    todo: list[tuple[str, str]] = []
    done: list[Published] = []
    for filename, sha256 in wheels:  # check everything before the first upload
        there = published_sha256(simple, filename)
        if there is None:
            todo.append((filename, sha256))
        elif there in ("", sha256):
            done.append(Published(filename, "already there"))
        else:
            raise PublishError(f"the index already has {filename} with other bytes (sha256 {there[:12]}..., "
                               f"this wheelhouse's {sha256[:12]}...); nothing was uploaded.",
                               "built wheels are reproducible: compare the recipes/knowledge versions of both machines, "
                               "or remove the file from the index")
    credentials = read_credentials(url) if todo else None
    for filename, _sha in todo:
        say(f"uploading {filename}")
        upload(url, str(house.path_of(filename)), credentials)
        done.append(Published(filename, "uploaded"))
    return sorted(done, key=lambda p: p.filename)
