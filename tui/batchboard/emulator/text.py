"""Deterministic stand-ins for a model: replies that answer the prompt's own words (so results look like the
bulk work that produced them), measured in token-sized pieces of up to four characters."""

from __future__ import annotations

import re
from functools import lru_cache

_PIECE = re.compile(r"\s*\S{1,4}")
_WORD = re.compile(r"[a-z][a-z'-]{2,}[a-z]")

_STOPWORDS = frozenset(
    {
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "among",
        "and",
        "another",
        "any",
        "are",
        "around",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "came",
        "can",
        "cannot",
        "could",
        "did",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "either",
        "else",
        "even",
        "every",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "here",
        "hers",
        "herself",
        "himself",
        "into",
        "itself",
        "just",
        "like",
        "made",
        "make",
        "many",
        "might",
        "more",
        "most",
        "much",
        "must",
        "myself",
        "need",
        "never",
        "only",
        "other",
        "ought",
        "ours",
        "over",
        "own",
        "same",
        "shall",
        "should",
        "since",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "though",
        "through",
        "under",
        "until",
        "very",
        "want",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "within",
        "without",
        "would",
        "your",
        "yours",
        "please",
        "following",
        "text",
        "given",
        "write",
        "return",
        "answer",
        "respond",
        "reply",
        "using",
        "based",
        "three",
        "five",
        "json",
        "one",
        "two",
    }
)

# Task words say what to do, not what the text is about: keep them out of the reply.
_TASK_WORDS = frozenset(
    {
        "classify",
        "classification",
        "categorise",
        "categorize",
        "summarise",
        "summarize",
        "summary",
        "extract",
        "translate",
        "explain",
        "describe",
        "ticket",
        "review",
        "article",
        "sentiment",
        "bullet",
        "points",
        "category",
        "label",
        "invoice",
        "hello",
    }
)

_EXCLUDED = _STOPWORDS | _TASK_WORDS

_LABELS = ("billing", "bug report", "feature request", "account access", "shipping", "other")
_SENTIMENTS = ("positive", "negative", "mixed", "neutral")


def pieces(text: str) -> list[str]:
    """Split `text` into token-sized pieces whose concatenation is `text` (trailing whitespace aside)."""
    return _PIECE.findall(text)


def detect_kind(text: str) -> str:
    """What kind of bulk task a prompt asks for, from its wording."""
    lowered = text.lower()
    if "classif" in lowered or "categor" in lowered or "sentiment" in lowered or "label" in lowered:
        return "classify"
    if "summar" in lowered or "tl;dr" in lowered or "key points" in lowered:
        return "summarize"
    if "extract" in lowered or "json" in lowered or "fields" in lowered:
        return "extract"
    if "translat" in lowered:
        return "translate"
    if any(
        word in lowered for word in ("essay", "report", "story", "article about", "write a long", "detailed")
    ):
        return "write"
    return "answer"


_DROP_DIGITS = str.maketrans("", "", "0123456789")


def keywords(text: str, limit: int = 8) -> tuple[str, ...]:
    """The prompt's most telling words (the longest), in order of appearance."""
    # Words never contain digits, so prompts that differ only in numbers (ticket ids, amounts: typical of
    # templated bulk work) share one cache entry.
    return _keywords(text.translate(_DROP_DIGITS), limit)


@lru_cache(maxsize=8192)
def _keywords(text: str, limit: int) -> tuple[str, ...]:
    seen = dict.fromkeys(word for word in _WORD.findall(text.lower()) if word not in _EXCLUDED)
    if len(seen) > limit:
        ranked = set(sorted(seen, key=len, reverse=True)[:limit])
        return tuple(word for word in seen if word in ranked)
    return tuple(seen)


@lru_cache(maxsize=65536)
def _count(part: str) -> int:
    return len(_PIECE.findall(part))


def _label(prompt: str, pick: int) -> str:
    if "sentiment" in prompt.lower():
        return _SENTIMENTS[pick % len(_SENTIMENTS)]
    return _LABELS[pick % len(_LABELS)]


def compose_reply(
    kind: str, prompt: str, salt: int, target_tokens: int, *, as_json: bool = False
) -> tuple[str, int]:
    """A reply of at least `target_tokens` tokens to `prompt`, built from its words, and its token count.

    Deterministic in `salt`. Every part after the first starts with whitespace, so token counts of the
    parts add up to the count of the whole and the text is split into pieces only when it must be cut.
    A JSON reply (kind `extract`, or `as_json`) is one object whose padding goes inside it, so it parses.
    """
    words = keywords(prompt) or ("request", "details", "context")
    pick = salt & 0xFFFFFFFF

    def w(i: int) -> str:
        return words[(pick + i) % len(words)]

    head: list[str]
    tail: list[str] = []
    if kind == "extract":
        head = [
            "{",
            f'\n  "subject": "{w(0)}",',
            f'\n  "entities": ["{w(1)}", "{w(2)}", "{w(3)}"],',
            f'\n  "amount": {100 + pick % 9000}.{pick % 100:02d},',
        ]
        tail = [f'\n  "date": "2026-{1 + pick % 12:02d}-{1 + pick % 28:02d}"', "\n}"]
    elif as_json:
        head = ["{"]
        if kind == "classify":
            head.append(f'\n  "category": "{_label(prompt, pick)}",')
            head.append(f'\n  "confidence": {0.55 + (pick % 44) / 100:.2f},')
        elif kind == "summarize":
            head.append(f'\n  "key_points": ["{w(0)} and {w(1)}", "{w(2)} affects {w(3)}"],')
        tail = [f'\n  "answer": "The text centres on {w(0)} and {w(1)}."', "\n}"]
    elif kind == "classify":
        label = _label(prompt, pick)
        head = [
            f"Category: {label}",
            f"\nConfidence: {0.55 + (pick % 44) / 100:.2f}",
            f"\nReason: the mention of {w(0)} and {w(1)} points to {label}.",
            f" The text also refers to {w(2)}, which is consistent with this label.",
        ]
    elif kind == "summarize":
        head = [
            f"- The text centres on {w(0)} and how it relates to {w(1)}.",
            f"\n- It notes that {w(2)} affects {w(3)}, with {w(4)} as the main concern.",
            f"\n- It concludes that {w(5)} should be reviewed alongside {w(6)}.",
        ]
    elif kind == "write":
        head = [
            f"# {w(0).capitalize()} and {w(1)}",
            f"\n\nThis report looks at {w(0)}, {w(1)} and {w(2)}, and at what they mean in practice.",
        ]
    elif kind == "translate":
        head = [f"Traduction : {' '.join(words[:6])}."]
    else:
        head = [
            f"Here is a short answer about {w(0)}.",
            f" In brief, {w(1)} depends on {w(2)}, and {w(3)} is the part most worth checking.",
        ]
    json_reply = bool(tail)
    tokens = sum(map(_count, head)) + (sum(map(_count, tail)) if json_reply else 0)
    # Pad with commentary that keeps reusing the prompt's words until the target length is reached (inside
    # the object for JSON, before its last field, so it stays valid).
    filler = 0
    while tokens < target_tokens and filler < 1000:
        if json_reply:
            part = f'\n  "note_{filler + 1}": "{w(filler)} is linked to {w(filler + 3)} in the source",'
        else:
            part = f" Note {filler + 1}: {w(filler)} is linked to {w(filler + 3)} in the source."
        head.append(part)
        tokens += _count(part)
        filler += 1
    return ("".join(head) + "".join(tail) if json_reply else "".join(head)), tokens


_LENGTHS = {
    "classify": (18, 60),
    "summarize": (60, 160),
    "extract": (30, 80),
    "translate": (20, 90),
    "write": (700, 1800),
}


def reply_length(kind: str, salt: int) -> int:
    """How many tokens a reply of this kind would naturally run to."""
    low, high = _LENGTHS.get(kind, (40, 220))
    return low + (salt >> 32) % (high - low + 1)


def reply_for(
    kind: str, prompt: str, salt: int, max_tokens: int, *, as_json: bool = False
) -> tuple[str, int, str]:
    """The reply text, its output token count and the stop reason for a request."""
    if max_tokens <= 0:
        return "", 0, "max_tokens"
    text, tokens = compose_reply(kind, prompt, salt, reply_length(kind, salt), as_json=as_json)
    if tokens > max_tokens:
        return "".join(pieces(text)[:max_tokens]), max_tokens, "max_tokens"
    return text, max(tokens, 1), "end_turn"
