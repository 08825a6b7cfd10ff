"""Making the official SDK's async client: credentials, base URL, and a lazy import of the SDK.

`import anthropic` costs about two seconds, so nothing imports it at module level: callers that must
not block (the TUI) call `make_client` in a thread. The key is resolved here and never printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchboard.core.config import DEFAULT_KEY_ENV, Settings

if TYPE_CHECKING:
    from anthropic import Anthropic, AsyncAnthropic

#: The `anthropic-version` the installed SDK sends on every call (anthropic 2.10.0, `_constants.py`); what
#: the API accepts depends on it, so `submit` checks requests under it. A test keeps this in step.
API_VERSION = "2026-10-21"
#: Seconds between the dashboard's poll rounds when the config says nothing.
DEFAULT_POLL_INTERVAL = Settings.poll_interval
#: An idle connection is kept at least this long, and at least `KEEPALIVE_ROUNDS` poll intervals.
MIN_KEEPALIVE = 30.0
KEEPALIVE_ROUNDS = 3


class MissingApiKeyError(Exception):
    """No API key where we looked; the message says where and how to fix it."""

    def __init__(self, env_var: str, profile: str | None = None) -> None:
        self.env_var = env_var
        self.profile = profile
        where = f"profile '{profile}' reads its key from" if profile else "batchboard reads the key from"
        super().__init__(
            f"No API key: {where} the environment variable {env_var}, which is not set. "
            f"Set it (export {env_var}=sk-ant-...) or try the demo with 'batchboard --demo'."
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and how to reach the API. `repr` never shows the key."""

    base_url: str | None
    api_key: str
    key_env: str = DEFAULT_KEY_ENV
    demo: bool = False
    max_retries: int = 2
    timeout: float = 60.0
    poll_interval: float = DEFAULT_POLL_INTERVAL
    """Seconds between poll rounds: idle connections are kept well beyond it (`keepalive_expiry`)."""

    @property
    def keepalive_expiry(self) -> float:
        """Seconds an idle connection stays open for the next request. httpx's 5 s default equals the
        poll interval, so every round paid for a new connection (a TLS handshake on the real API)."""
        return max(MIN_KEEPALIVE, KEEPALIVE_ROUNDS * self.poll_interval)

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r}, key_env={self.key_env!r}, demo={self.demo})"

    @classmethod
    def from_env(
        cls,
        key_env: str = DEFAULT_KEY_ENV,
        base_url: str | None = None,
        profile: str | None = None,
        environ: dict[str, str] | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> Connection:
        """Resolve the key from `key_env` (the SDK's convention by default) and the base URL from the
        argument or `ANTHROPIC_BASE_URL`. Raises MissingApiKeyError with a fix-it message."""
        env = os.environ if environ is None else environ
        api_key = env.get(key_env, "").strip()
        if not api_key:
            raise MissingApiKeyError(key_env, profile)
        return cls(
            base_url=base_url or env.get("ANTHROPIC_BASE_URL") or None,
            api_key=api_key,
            key_env=key_env,
            poll_interval=poll_interval,
        )


def _options(connection: Connection, overrides: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "api_key": connection.api_key,
        "max_retries": connection.max_retries,
        "timeout": connection.timeout,
    }
    if connection.base_url:
        options["base_url"] = connection.base_url
    options.update(overrides)
    return options


def make_client(connection: Connection, **overrides: Any) -> AsyncAnthropic:
    """Build the SDK's async client for `connection`. Imports the SDK: call it off the UI thread.

    Credentials are always passed explicitly, so the SDK never falls back to profiles on disk. The HTTP
    client is the SDK's own (its defaults: timeouts, limits, TCP keep-alive, proxies from the environment)
    except that idle connections outlive the poll interval, so polls reuse one connection.
    """
    from anthropic import DEFAULT_CONNECTION_LIMITS, AsyncAnthropic, DefaultAsyncHttpxClient
    from httpx2 import Limits

    options = _options(connection, overrides)
    if "http_client" not in options:
        limits = Limits(
            max_connections=DEFAULT_CONNECTION_LIMITS.max_connections,
            max_keepalive_connections=DEFAULT_CONNECTION_LIMITS.max_keepalive_connections,
            keepalive_expiry=connection.keepalive_expiry,
        )
        options["http_client"] = DefaultAsyncHttpxClient(limits=limits)
    return AsyncAnthropic(**options)


def make_sync_client(connection: Connection, **overrides: Any) -> Anthropic:
    """The SDK's sync client for `connection`, for work in a thread (results ingestion). Imports the SDK."""
    from anthropic import Anthropic

    return Anthropic(**_options(connection, overrides))


def sync_client_like(client: AsyncAnthropic, **overrides: Any) -> Anthropic:
    """A sync SDK client with the same key, base URL, timeout and retries as an async one (the app's),
    for ingestion in a thread."""
    from anthropic import Anthropic

    options: dict[str, Any] = {
        "api_key": client.api_key,
        "base_url": str(client.base_url),
        "max_retries": client.max_retries,
        "timeout": client.timeout,
    }
    options.update(overrides)
    return Anthropic(**options)
