"""uuid values as their 16 bytes through psycopg: read back as bytes, written as uuid (parameters, lists, COPY)."""

import uuid

import pytest
from sqlalchemy import text

from channel_assets.db.core.engine import make_engine
from channel_assets.db.core.uuid_bytes import read_uuids_as_bytes, write_bytes_as_uuids


@pytest.fixture
def raw(pg_url):
    eng = make_engine(pg_url)
    with eng.connect() as conn:
        conn.execute(text("CREATE TABLE t (u uuid PRIMARY KEY, s text)"))
        conn.commit()
        yield conn.connection.driver_connection
    eng.dispose()


def test_bytes_go_in_as_uuid_through_copy_and_parameters_and_come_back_as_bytes(raw):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with raw.cursor() as cur:
        write_bytes_as_uuids(cur)
        with cur.copy("COPY t (u, s) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["uuid", "text"])
            copy.write_row((a.bytes, "a"))
            copy.write_row((b, "b"))  # a uuid.UUID is still accepted
        cur.execute("SELECT s FROM t WHERE u = ANY(%(us)b) ORDER BY s", {"us": [a.bytes, b.bytes, c.bytes]})
        assert cur.fetchall() == [("a",), ("b",)]
        cur.execute("SELECT u FROM t WHERE s = 'a'")
        assert cur.fetchone() == (a,)  # a cursor without the loader still reads uuid.UUID
    with raw.cursor(name="due", binary=True) as cur:
        read_uuids_as_bytes(cur)
        cur.execute("SELECT u, s FROM t ORDER BY s")
        assert cur.fetchall() == [(a.bytes, "a"), (b.bytes, "b")]


def test_a_value_that_is_not_16_bytes_is_refused_before_it_reaches_the_table(raw):
    with raw.cursor() as cur:
        write_bytes_as_uuids(cur)
        with pytest.raises(ValueError, match="16 bytes"):
            cur.execute("SELECT %b::uuid", (b"short",))
