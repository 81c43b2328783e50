"""A small Mach-O holding only what an export lookup needs, streamed out of a big image.

Why: LIEF parses whole files, and libtensorflow_cc is 600+ MB (2+ GB resident when LIEF parses
it). The export trie is a few MB near its end. This reads the image front to back once, keeps
the header, the load commands and the trie, moves the trie right after the load commands and
zeroes every other file offset (symbol tables, bind opcodes, segment contents), so LIEF reads
nothing that is not there. The only Mach-O knowledge here is the layout of the load commands
it rewrites (mach-o/loader.h); the trie itself is decoded by LIEF.
"""

from __future__ import annotations

import struct
from typing import IO, Optional

from pip_tfmac.errors import BadInputError

_MH_MAGIC_64 = 0xFEEDFACF
_FAT_MAGIC = 0xCAFEBABE
_CPU_ARM64 = 0x0100000C
_LC_SEGMENT_64 = 0x19
_LC_SYMTAB = 0x2
_LC_DYSYMTAB = 0xB
_LC_DYLD_INFO = 0x22
_LC_DYLD_INFO_ONLY = 0x80000022
_LC_DYLD_EXPORTS_TRIE = 0x80000033
_LC_NOTE = 0x31
# linkedit_data_command kinds: (dataoff, datasize) point into __LINKEDIT; zeroed in a skeleton.
_LINKEDIT_DATA = frozenset(
    {0x1D, 0x1E, 0x26, 0x29, 0x2B, 0x2E, 0x80000034, 0x36, 0x37, 0x38}
)
_CHUNK = 1 << 20


def _read_exact(stream: IO[bytes], size: int, label: str) -> bytes:
    parts = []
    while size > 0:
        chunk = stream.read(min(size, _CHUNK))
        if not chunk:
            raise BadInputError(f"{label} ends early: not a complete Mach-O image.")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _skip(stream: IO[bytes], size: int, label: str) -> None:
    while size > 0:
        chunk = stream.read(min(size, _CHUNK))
        if not chunk:
            raise BadInputError(f"{label} ends early: not a complete Mach-O image.")
        size -= len(chunk)


def export_skeleton(stream: IO[bytes], label: str) -> bytes:
    """A small Mach-O with the image's header, load commands and export trie only.

    Reads `stream` front to back once, holding only the header, the load commands and the trie
    (for libtensorflow_cc a few MB out of 600+). Offsets in the load commands that point at
    anything else are zeroed, so LIEF reads nothing that is not there.
    """
    head = _read_exact(stream, 8, label)
    pos = 8
    base = 0
    if struct.unpack(">I", head[:4])[0] == _FAT_MAGIC:
        (count,) = struct.unpack(">I", head[4:8])
        table = _read_exact(stream, 20 * count, label)
        pos += 20 * count
        slices = [struct.unpack(">iiIII", table[i * 20:(i + 1) * 20]) for i in range(count)]
        arm = [s for s in slices if s[0] == _CPU_ARM64]
        if not arm:
            raise BadInputError(f"{label} has no arm64 slice.")
        base = arm[0][2]
        _skip(stream, base - pos, label)
        head = _read_exact(stream, 8, label)
        pos = base + 8
    if struct.unpack("<I", head[:4])[0] != _MH_MAGIC_64:
        raise BadInputError(f"{label} is not a 64-bit Mach-O image.")
    rest = _read_exact(stream, 24, label)
    header = bytearray(head + rest)
    sizeofcmds = struct.unpack_from("<I", header, 20)[0]
    commands = bytearray(_read_exact(stream, sizeofcmds, label))
    pos += 24 + sizeofcmds
    trie_field: Optional[tuple[int, int]] = None  # (offset in commands of the off field, size)
    linkedit: Optional[int] = None  # LIEF reads the trie only from inside __LINKEDIT
    trie_off = trie_size = 0
    at = 0
    while at + 8 <= len(commands):
        cmd, size = struct.unpack_from("<II", commands, at)
        if size < 8:
            raise BadInputError(f"{label} has a malformed load command.")
        if cmd == _LC_SEGMENT_64:
            if commands[at + 8:at + 24].rstrip(b"\0") == b"__LINKEDIT":
                linkedit = at
            struct.pack_into("<QQ", commands, at + 40, 0, 0)  # fileoff, filesize
            nsects = struct.unpack_from("<I", commands, at + 64)[0]
            for s in range(nsects):
                sect = at + 72 + 80 * s
                struct.pack_into("<Q", commands, sect + 40, 0)  # size
                struct.pack_into("<I", commands, sect + 48, 0)  # offset
                struct.pack_into("<II", commands, sect + 56, 0, 0)  # reloff, nreloc
        elif cmd == _LC_SYMTAB:
            struct.pack_into("<IIII", commands, at + 8, 0, 0, 0, 0)
        elif cmd == _LC_DYSYMTAB:
            struct.pack_into("<18I", commands, at + 8, *([0] * 18))
        elif cmd in (_LC_DYLD_INFO, _LC_DYLD_INFO_ONLY):
            trie_off, trie_size = struct.unpack_from("<II", commands, at + 40)
            struct.pack_into("<8I", commands, at + 8, *([0] * 8))
            trie_field = (at + 40, trie_size)
        elif cmd == _LC_DYLD_EXPORTS_TRIE:
            trie_off, trie_size = struct.unpack_from("<II", commands, at + 8)
            trie_field = (at + 8, trie_size)
        elif cmd in _LINKEDIT_DATA:
            struct.pack_into("<II", commands, at + 8, 0, 0)
        elif cmd == _LC_NOTE:
            struct.pack_into("<QQ", commands, at + 24, 0, 0)
        at += size
    trie = b""
    new_off = 0
    if trie_field is not None and trie_size:
        start = base + trie_off
        if start < pos:
            raise BadInputError(f"{label}: the export trie overlaps the load commands.")
        _skip(stream, start - pos, label)
        trie = _read_exact(stream, trie_size, label)
        new_off = (32 + sizeofcmds + 7) // 8 * 8
        struct.pack_into("<II", commands, trie_field[0], new_off, trie_size)
        if linkedit is not None:
            struct.pack_into("<QQ", commands, linkedit + 40, new_off, trie_size)
    out = bytes(header) + bytes(commands)
    if trie:
        out += b"\0" * (new_off - len(out)) + trie
    return out
