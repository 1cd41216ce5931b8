"""Keyed hashes and the id alphabet every part of the simulated world is derived from.

Shared by the channel model (``world``) and the video model (``videos``), so a seed
means the same thing to both.
"""

from __future__ import annotations

import binascii
import hashlib
from functools import lru_cache


@lru_cache(maxsize=256)
def keyed(key: bytes, size: int) -> hashlib.blake2b:
    """A keyed hasher with the key block already absorbed: ``copy()`` is ~40 % cheaper than a new keyed one."""
    return hashlib.blake2b(digest_size=size, key=key)


def digest(key: bytes, data: bytes, size: int = 8) -> bytes:
    h = keyed(key, size).copy()
    h.update(data)
    return h.digest()


def unit(key: bytes, data: bytes) -> float:
    """A deterministic float in [0, 1) for ``data`` under ``key``."""
    return (int.from_bytes(digest(key, data), "big") >> 11) * (2.0**-53)


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


_GIL_HELD_CHUNK = 2047  # hashlib lets go of the GIL for an update of 2,048 bytes or more


def etag(data: bytes) -> bytes:
    """Unpadded urlsafe base64 of a SHA-1, 27 characters like the real ones (SHA-1: the fastest 20-byte
    hash here, ~2x blake2b on 2 KB items; binascii: no base64-module layers on the hot path). Fed in
    pieces under 2 KB: a 50-video answer's keys are ~6 KB, and hashed whole they let go of the GIL for a
    few microseconds, then waited behind the other request threads to get it back (14% of the server's
    thread samples at 0 ms)."""
    h = hashlib.sha1(usedforsecurity=False)
    view = memoryview(data)
    for start in range(0, len(data), _GIL_HELD_CHUNK):
        h.update(view[start:start + _GIL_HELD_CHUNK])
    return binascii.b2a_base64(h.digest(), newline=False).translate(_TO_URLSAFE).rstrip(b"=")


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


_VALUE = {c: n for n, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")}


def unb64(text: str, nbytes: int) -> bytes | None:
    """Strict inverse of ``b64``: only the canonical spelling decodes. Canonical: the urlsafe alphabet,
    no padding, the length of ``nbytes``, and the last character's bits beyond them zero (what
    ``b64(unb64(text)) == text`` checks, without encoding again)."""
    if "+" in text or "/" in text or "=" in text:
        return None
    try:
        raw = binascii.a2b_base64(text.encode("ascii").translate(_FROM_URLSAFE) + b"=" * (-len(text) % 4),
                                  strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    if len(raw) != nbytes or _VALUE[text[-1]] & ((1 << (-8 * nbytes) % 6) - 1):
        return None
    return raw
