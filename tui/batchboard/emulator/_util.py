"""Small deterministic helpers: seeded hashes, Anthropic-style ids, RFC 3339 timestamps."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TWO_64 = float(1 << 64)


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of `parts` that is stable across runs (unlike `hash()`, which is salted)."""
    data = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def unit_hash(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) derived from `parts`."""
    return stable_hash(*parts) / _TWO_64


# Byte -> base62 character (a slight bias towards the first 8 characters is harmless for ids).
_BASE62_TABLE = bytes(ord(_BASE62[i % 62]) for i in range(256))


def base62_id(prefix: str, *parts: object, length: int = 24) -> str:
    """`prefix` followed by `length` base62 characters derived deterministically from `parts`."""
    data = "\x1f".join(str(part) for part in parts).encode()
    return prefix + base62_from_digest(hashlib.blake2b(data, digest_size=length).digest())


def base62_from_digest(digest: bytes) -> str:
    return digest.translate(_BASE62_TABLE).decode()


def digest(*parts: object, size: int = 40) -> bytes:
    """A stable digest of `parts`, for deriving several values from one hash."""
    return hashlib.blake2b("\x1f".join(str(part) for part in parts).encode(), digest_size=size).digest()


def rfc3339(when: datetime) -> str:
    """RFC 3339 in UTC with a `Z` suffix, as the API writes timestamps."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plural(count: int, singular: str, many: str | None = None, *, number: bool = True) -> str:
    """ "1 item", "3 items", "100,000 requests", the singular for exactly one; `many` for a plural that is
    not the singular plus "s" ("properties"); `number=False` gives the noun alone. The client's
    `core.format.plural` has the same rule; the emulator shares no code with the client, so it keeps its
    own."""
    word = singular if count == 1 else (many or singular + "s")
    return f"{count:,} {word}" if number else word
