"""uuid values as their 16 bytes through psycopg: written as uuid (parameters, lists, packed arrays, COPY)."""

import uuid

import pytest
from sqlalchemy import text

from channel_assets.db.core.engine import make_engine
from channel_assets.db.core.uuid_bytes import UuidArray, write_bytes_as_uuids


@pytest.fixture
def raw(pg_url):
    eng = make_engine(pg_url)
    with eng.connect() as conn:
        conn.execute(text("CREATE TABLE t (u uuid PRIMARY KEY, s text)"))
        conn.commit()
        yield conn.connection.driver_connection
    eng.dispose()


def test_bytes_go_in_as_uuid_through_copy_and_parameters(raw):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with raw.cursor() as cur:
        write_bytes_as_uuids(cur)
        with cur.copy("COPY t (u, s) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["uuid", "text"])
            copy.write_row((a.bytes, "a"))
            copy.write_row((b, "b"))  # a uuid.UUID is still accepted
        cur.execute("SELECT s FROM t WHERE u = ANY(%(us)b) ORDER BY s", {"us": [a.bytes, b.bytes, c.bytes]})
        assert cur.fetchall() == [("a",), ("b",)]
        cur.execute("SELECT u FROM t ORDER BY s")
        assert cur.fetchall() == [(a,), (b,)]  # what went in as bytes reads back as the same uuid


def test_a_value_that_is_not_16_bytes_is_refused_before_it_reaches_the_table(raw):
    with raw.cursor() as cur:
        write_bytes_as_uuids(cur)
        with pytest.raises(ValueError, match="16 bytes"):
            cur.execute("SELECT %b::uuid", (b"short",))


def test_packed_uuids_go_in_as_one_uuid_array(raw):
    us = [uuid.uuid4() for _ in range(3)]
    with raw.cursor() as cur:
        write_bytes_as_uuids(cur)
        cur.execute("INSERT INTO t (u, s) SELECT u, 'x' FROM unnest(%(us)b) AS u", {"us": UuidArray(
            b"".join(u.bytes for u in us))})
        cur.execute("SELECT %(us)b, cardinality(%(none)b), pg_typeof(%(none)b)::text",
                    {"us": UuidArray(us[2].bytes + us[0].bytes), "none": UuidArray(b"")})
        assert cur.fetchone() == ([us[2], us[0]], 0, "uuid[]")
        cur.execute("SELECT count(*) FROM t WHERE u = ANY(%(us)b)", {"us": UuidArray(us[1].bytes)})
        assert cur.fetchone() == (1,)
    with pytest.raises(ValueError, match="16 bytes each"):
        UuidArray(b"\x00" * 17)
