"""A real package index for tests: pypiserver as a process on 127.0.0.1, started and stopped
by the test that needs it (`with index_server(folder) as url: ...`).

Uploads need a password file (htpasswd, written here with passlib) and `authenticate`; without
one the index is read-only. Imported as `indexserver` (tests/conftest.py puts tests/ on sys.path).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Optional


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_htpasswd(path: Path, user: str, password: str) -> Path:
    from passlib.apache import HtpasswdFile

    ht = HtpasswdFile(str(path), new=True)
    ht.set_password(user, password)
    ht.save()
    return path


@contextlib.contextmanager
def index_server(packages: Path, env: Mapping[str, str], *,
                 htpasswd: Optional[Path] = None) -> Iterator[str]:
    """Serve `packages` at http://127.0.0.1:PORT/ (simple index at /simple/); yield the base URL."""
    packages.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [sys.executable, "-m", "pypiserver", "run", "-p", str(port), "-i", "127.0.0.1",
            "--disable-fallback", "--server", "wsgiref"]
    argv += ["-P", str(htpasswd), "-a", "update"] if htpasswd else ["-P", ".", "-a", "."]
    argv.append(str(packages))
    log = open(packages.parent / f"pypiserver-{port}.log", "wb")
    proc = subprocess.Popen(argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("pypiserver did not start:\n" +
                                       (packages.parent / f"pypiserver-{port}.log").read_text())
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def uv_command() -> list[str]:
    """uv from the test environment (the test extra installs it)."""
    here = Path(sys.executable).with_name("uv")
    if here.exists():
        return [str(here)]
    return [sys.executable, "-m", "uv"]


__all__ = ["free_port", "index_server", "os", "uv_command", "write_htpasswd"]
