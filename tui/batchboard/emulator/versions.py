"""The `anthropic-version` header: which versions exist and what each refuses, with the API's wording.

Sources (README, "API versions"): the versioning page and the 2026-10-21 migration guide on
platform.claude.com, and error bodies quoted in public issue threads.
"""

from __future__ import annotations

V2023_01_01 = "2023-01-01"
V2023_06_01 = "2023-06-01"
V2026_10_21 = "2026-10-21"
#: Every version the versioning page lists; anything else is refused.
KNOWN_VERSIONS = (V2023_01_01, V2023_06_01, V2026_10_21)
LATEST = V2026_10_21

#: Removed in 2026-10-21 (an "extra input" there, even at their defaults); still honoured before it.
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")

MISSING_HEADER = "anthropic-version: header is required"


class VersionError(ValueError):
    """A missing or unknown `anthropic-version` header (a 400 invalid_request_error)."""


def check_header(value: str | None) -> str:
    """The version a request asks for; VersionError with the API's message when missing or unknown."""
    if value is None or not value.strip():
        raise VersionError(MISSING_HEADER)
    if value not in KNOWN_VERSIONS:
        raise VersionError(f'anthropic-version: "{value}" is not a valid version')
    return value


def removed_params(version: str) -> tuple[str, ...]:
    """Request parameters this version no longer accepts."""
    return SAMPLING_PARAMS if version >= V2026_10_21 else ()


def strict_content(version: str) -> bool:
    """2026-10-21 refuses document blocks in assistant messages and citations on user text blocks."""
    return version >= V2026_10_21
