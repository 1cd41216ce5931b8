"""uuid values as their 16 bytes, in and out of psycopg, on the paths that move a million of them.

A `uuid.UUID` costs about a microsecond to build (its constructor is Python) and another to dump; the
video refresh reads up to a million row uuids and writes each back once without looking inside, so it
keeps them as the 16 bytes PostgreSQL's binary format already is (the due selection reads them packed,
`uuid_send`). `write_bytes_as_uuids(cursor)` makes a cursor send `bytes` as uuid, as parameters (lists
become uuid[]) and in a binary COPY's uuid columns, where a `uuid.UUID` is still accepted, and a
`UuidArray` (many uuids packed in one `bytes`) as one uuid[].
"""

from __future__ import annotations

import struct
import uuid

from psycopg import Cursor
from psycopg.adapt import Dumper
from psycopg.postgres import types
from psycopg.pq import Format

UUID_OID = types["uuid"].oid
_ARRAY_HEADER = struct.Struct("!iiIii")  # dimensions, has-nulls flag, element type, length, lower bound
_EMPTY_ARRAY = struct.pack("!iiI", 0, 0, UUID_OID)  # no dimensions: '{}'


class UuidArray:
    """uuids packed as their 16 bytes each, sent as one uuid[] parameter. A list of them is dumped element
    by element in Python (a write group's 5,000 row uuids: ~3 s of a million-video pass); this is built
    with a few strided copies."""

    __slots__ = ("packed",)

    def __init__(self, packed: bytes) -> None:
        if len(packed) % 16:
            raise ValueError(f"packed uuids are 16 bytes each, not {len(packed)} bytes in all")
        self.packed = packed

    def __len__(self) -> int:
        return len(self.packed) // 16


class _UuidBytesDumper(Dumper):
    format = Format.BINARY
    oid = UUID_OID

    def dump(self, obj: bytes | uuid.UUID) -> bytes:
        if type(obj) is bytes:
            if len(obj) != 16:
                raise ValueError(f"a uuid is 16 bytes, not {len(obj)}")
            return obj
        return obj.bytes


class _UuidArrayDumper(Dumper):
    format = Format.BINARY
    oid = types["uuid"].array_oid

    def dump(self, obj: UuidArray) -> bytes:
        n = len(obj)
        if not n:
            return _EMPTY_ARRAY
        elements = bytearray(20 * n)  # each: its length as int4 (0, 0, 0, 16), then its bytes
        elements[3::20] = b"\x10" * n
        for k in range(16):
            elements[4 + k::20] = obj.packed[k::16]
        return _ARRAY_HEADER.pack(1, 0, UUID_OID, n, 1) + elements


def write_bytes_as_uuids(cursor: Cursor) -> None:
    """`bytes` given to this cursor are sent as uuid (parameters, lists, binary COPY uuid columns), a
    `UuidArray` as uuid[]."""
    cursor.adapters.register_dumper(bytes, _UuidBytesDumper)
    cursor.adapters.register_dumper(UuidArray, _UuidArrayDumper)
