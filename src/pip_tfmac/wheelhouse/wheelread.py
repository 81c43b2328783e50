"""Reading wheels: the archive, its one dist-info, METADATA, and RECORD checked against it.

Why apart from building: reading is what every consumer of a wheel needs (the patcher, the
provenance reader, `verify_record` in tests and tools) and it holds no building rules.
"""

from __future__ import annotations

import base64
import csv
import email.message
import email.parser
import email.policy
import hashlib
import io
import os
import zipfile
import zlib
from pathlib import Path
from typing import Union

from pip_tfmac.errors import BadInputError


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


WheelSource = Union[str, "os.PathLike[str]", bytes]


def open_zip(wheel: WheelSource) -> zipfile.ZipFile:
    try:
        if isinstance(wheel, bytes):
            return zipfile.ZipFile(io.BytesIO(wheel))
        return zipfile.ZipFile(Path(wheel))
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInputError(f"not a readable wheel: {exc}", "rebuild or re-download it") from None


def find_dist_info(zf: zipfile.ZipFile) -> str:
    dirs = sorted(
        {
            n.split("/", 1)[0]
            for n in zf.namelist()
            if n.split("/", 1)[0].endswith(".dist-info")
            and n.endswith("/METADATA")
            and n.count("/") == 1
        }
    )
    if len(dirs) != 1:
        raise BadInputError(
            f"a wheel must have exactly one .dist-info directory with METADATA, found {dirs}.",
            "rebuild or re-download the wheel",
        )
    return dirs[0]


def parse_headers(data: bytes) -> email.message.Message:
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)


def read_wheel_metadata(wheel: WheelSource) -> email.message.Message:
    """The METADATA of a wheel (path or bytes) as an email Message (`msg.get_all(...)`)."""
    with open_zip(wheel) as zf:
        return parse_headers(zf.read(f"{find_dist_info(zf)}/METADATA"))


def verify_record(wheel: WheelSource) -> list[str]:
    """Problems between a wheel's RECORD and its contents (empty list: it verifies)."""
    problems: list[str] = []
    with open_zip(wheel) as zf:
        dist_info = find_dist_info(zf)
        record_path = f"{dist_info}/RECORD"
        try:
            rows = list(csv.reader(io.StringIO(zf.read(record_path).decode("utf-8"))))
        except KeyError:
            return [f"{record_path} is missing"]
        listed = set()
        for row in rows:
            if not row:
                continue
            path, digest, size = (row + ["", ""])[:3]
            listed.add(path)
            if path == record_path:
                continue
            try:
                data = zf.read(path)
            except KeyError:
                problems.append(f"{path}: listed in RECORD but not in the wheel")
                continue
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                problems.append(f"{path}: damaged in the archive ({exc})")
                continue
            if digest != record_hash(data):
                problems.append(f"{path}: hash does not match RECORD")
            if size != str(len(data)):
                problems.append(f"{path}: size {len(data)} does not match RECORD ({size})")
        for name in zf.namelist():
            if not name.endswith("/") and name not in listed:
                problems.append(f"{name}: in the wheel but not in RECORD")
    return problems
