"""uuid values as their 16 bytes, in and out of psycopg, on the paths that move a million of them.

A `uuid.UUID` costs about a microsecond to build (its constructor is Python) and another to dump; the
video refresh reads up to a million row uuids and writes each back once without looking inside, so it
keeps them as the 16 bytes PostgreSQL's binary format already is. `read_uuids_as_bytes(cursor)` makes a
cursor's binary results give uuid columns as `bytes`; `write_bytes_as_uuids(cursor)` makes it send
`bytes` as uuid, as parameters (lists become uuid[]) and in a binary COPY's uuid columns, where a
`uuid.UUID` is still accepted.
"""

from __future__ import annotations

import uuid

from psycopg import Cursor, ServerCursor
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, Loader
from psycopg.postgres import types
from psycopg.pq import Format

UUID_OID = types["uuid"].oid


class _UuidBytesLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


class _UuidBytesDumper(Dumper):
    format = Format.BINARY
    oid = UUID_OID

    def dump(self, obj: bytes | uuid.UUID) -> bytes:
        if type(obj) is bytes:
            if len(obj) != 16:
                raise ValueError(f"a uuid is 16 bytes, not {len(obj)}")
            return obj
        return obj.bytes


def read_uuids_as_bytes(cursor: Cursor | ServerCursor) -> None:
    """uuid columns of this cursor's binary results come back as their 16 bytes."""
    cursor.adapters.register_loader(UUID_OID, _UuidBytesLoader)


def write_bytes_as_uuids(cursor: Cursor) -> None:
    """`bytes` given to this cursor are sent as uuid (parameters, lists, binary COPY uuid columns)."""
    cursor.adapters.register_dumper(bytes, _UuidBytesDumper)
