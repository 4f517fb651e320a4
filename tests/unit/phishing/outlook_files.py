"""Tiny Outlook files built in code for tests: a TNEF ``winmail.dat`` and an OLE ``.msg``.

Written from the published formats ([MS-OXTNEF], [MS-CFB], [MS-OXMSG]),
just enough for the readers the analyzer uses; nothing is downloaded.
"""

from __future__ import annotations

import struct

_TNEF_SIGNATURE = 0x223E9F78
_LVL_MESSAGE, _LVL_ATTACHMENT = 1, 2


def _tnef_attr(level: int, attr_id: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", checksum)


def build_tnef(body: str, attachments: list[tuple[str, bytes]]) -> bytes:
    """A winmail.dat with a plain body and attachments."""
    out = struct.pack("<IH", _TNEF_SIGNATURE, 0x0001)
    out += _tnef_attr(_LVL_MESSAGE, 0x00089006, struct.pack("<I", 0x00010000))  # version
    out += _tnef_attr(_LVL_MESSAGE, 0x00069007, struct.pack("<II", 1252, 0))  # OEM code page
    out += _tnef_attr(_LVL_MESSAGE, 0x00078008, b"IPM.Microsoft Mail.Note\x00")
    out += _tnef_attr(_LVL_MESSAGE, 0x0002800C, body.encode("cp1252") + b"\x00")
    for name, payload in attachments:
        out += _tnef_attr(_LVL_ATTACHMENT, 0x00069002, b"\x01\x00\x00\x00" + b"\xff" * 10)
        out += _tnef_attr(_LVL_ATTACHMENT, 0x00018010, name.encode("cp1252") + b"\x00")
        out += _tnef_attr(_LVL_ATTACHMENT, 0x0006800F, payload)
    return out


# -- A minimal compound file (MS-CFB, version 3, 512-byte sectors) ---------------------------

_SECTOR = 512
_MINI = 64
_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def _dir_entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    entry = encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
    entry += struct.pack("<III", 0xFFFFFFFF, right, child)  # left, right sibling, child
    entry += b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16  # clsid, state bits, times
    return entry + struct.pack("<IQ", start, size)


def _sort_key(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def build_compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file whose root holds ``streams`` (each under 4096 bytes: the mini stream)."""
    names = sorted(streams, key=_sort_key)
    mini = bytearray()
    mini_fat: list[int] = []
    starts = []
    for name in names:
        data = streams[name]
        count = max(1, -(-len(data) // _MINI))
        first = len(mini_fat)
        mini_fat.extend([*range(first + 1, first + count), _END])
        starts.append(first)
        mini += data.ljust(count * _MINI, b"\x00")
    entries = [_dir_entry("Root Entry", 5, 1, 0xFFFFFFFF, 0, 0)]  # start/size patched below
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else 0xFFFFFFFF
        entries.append(_dir_entry(name, 2, 0xFFFFFFFF, right, starts[i], len(streams[name])))
    directory = b"".join(entries)
    directory += _dir_entry("", 0, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0) * (-len(entries) % 4)
    minifat_bytes = b"".join(struct.pack("<I", v) for v in mini_fat)
    minifat_bytes = minifat_bytes.ljust(-(-len(minifat_bytes) // _SECTOR) * _SECTOR, b"\xff")
    mini_bytes = bytes(mini).ljust(-(-len(mini) // _SECTOR) * _SECTOR, b"\x00")
    dir_sectors = len(directory) // _SECTOR
    minifat_sectors = len(minifat_bytes) // _SECTOR
    mini_sectors = len(mini_bytes) // _SECTOR
    fat_start = 0
    dir_start = 1
    minifat_start = dir_start + dir_sectors
    mini_start = minifat_start + minifat_sectors
    total = 1 + dir_sectors + minifat_sectors + mini_sectors
    fat = [_FATSECT]
    for start, count in (
        (dir_start, dir_sectors),
        (minifat_start, minifat_sectors),
        (mini_start, mini_sectors),
    ):
        fat.extend([*range(start + 1, start + count), _END])
    fat += [_FREE] * (_SECTOR // 4 - len(fat))
    assert total <= _SECTOR // 4, "test message too large for one FAT sector"
    root = bytearray(directory[:128])
    root[116:120] = struct.pack("<I", mini_start)
    root[120:128] = struct.pack("<Q", len(mini))
    directory = bytes(root) + directory[128:]
    header = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16)
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack(
        "<IIIIIIIII", 0, 1, dir_start, 0, 4096, minifat_start, minifat_sectors, _END, 0
    )
    header += struct.pack("<I", fat_start) + b"\xff" * (436 - 4)
    body = struct.pack(f"<{_SECTOR // 4}I", *fat) + directory + minifat_bytes + mini_bytes
    return bytes(header) + body


def _unicode(value: str) -> bytes:
    return value.encode("utf-16-le")


def build_msg(*, headers: str, subject: str, body: str, html: str = "") -> bytes:
    """An Outlook .msg with transport headers, subject, plain body and optional HTML body."""
    props = bytearray(b"\x00" * 32)  # top-level property stream header
    streams = {
        "__substg1.0_001A001F": _unicode("IPM.Note"),
        "__substg1.0_0037001F": _unicode(subject),
        "__substg1.0_1000001F": _unicode(body),
        "__substg1.0_007D001F": _unicode(headers),
        "__properties_version1.0": bytes(props),
    }
    if html:
        streams["__substg1.0_10130102"] = html.encode("utf-8")
    return build_compound_file(streams)
