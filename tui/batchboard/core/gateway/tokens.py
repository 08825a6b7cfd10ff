"""count_tokens through the SDK's async client, for the cost estimate before a submit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from batchboard.core.gateway.errors import ApiError

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

#: Parameters of a batch request that count_tokens also takes (anthropic 2.10 `messages.count_tokens`).
COUNT_TOKENS_PARAMS = (
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "cache_control",
    "output_config",
    "speed",
)


async def count_input_tokens(client: AsyncAnthropic, params: dict[str, Any]) -> int:
    """Input tokens of one request's params; raises ApiError (classified) when the API cannot count them."""
    from anthropic import AnthropicError

    body = {k: params[k] for k in COUNT_TOKENS_PARAMS if k in params}
    try:
        result = await client.messages.count_tokens(**body)
    except AnthropicError as exc:
        raise ApiError.from_sdk(exc) from exc
    return int(result.input_tokens)
