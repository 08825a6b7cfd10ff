"""Benchmark: the chat pane's streaming against Textual's own MarkdownStream, and its time to first token
against a raw SDK stream.

Targets (issue 6), each measured against a baseline in the same run:
1. Flood 5,000 tokens into the pane and into `Markdown.get_stream` (same tokens, same producer: one
   `await asyncio.sleep(0)` per token, as a network read would yield): the pane sustains at least 2x
   MarkdownStream's token rate, the screen is never more than 250 ms behind (for every token, from the
   moment it was offered to the first screen update that shows it), and the final rendering is the same
   Markdown: every line of the reply as the screen shows it (text, colours and attributes, links), read
   from the screen a page at a time (`ui/screen_lines.py`, public Textual APIs), whether the pane draws it
   with Markdown widgets or with snapshots of the lines they painted. A screen update is one the app
   rendered and flushed to its terminal driver (`FrameDriver`, which writes nowhere).
2. TTFT measured by the pane vs a raw SDK `messages.stream()` with the same request against the same
   emulator, alternating, in the same event loop: the app adds at most 5 ms (median of paired differences).

Run: `python bench/bench_chat.py [--tokens N] [--rounds N] [--record]`; `--record` appends the figures to
bench/README.md. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tui"))

from textual.app import App, ComposeResult  # noqa: E402
from textual.containers import VerticalScroll  # noqa: E402
from textual.widgets import Markdown, Static  # noqa: E402

from batchboard.core.chat.conversation import BatchAnswer, ChatEvent, ChatRequest, TextChunk  # noqa: E402
from batchboard.core.gateway.chat import SdkChatBackend  # noqa: E402
from batchboard.core.gateway.client import Connection, make_client  # noqa: E402
from batchboard.core.pricing import price_for  # noqa: E402
from batchboard.ui.screen_lines import Line, Terminal, displayed  # noqa: E402
from batchboard.ui.screens.chat import ChatScreen, open_chat  # noqa: E402
from batchboard.ui.widgets.chat_reply import MarkdownSnapshot  # noqa: E402

RATE_TARGET = 2.0
LAG_TARGET = 0.250
TTFT_TARGET = 0.005
SIZE = (110, 45)
MODEL = "claude-sonnet-5-5"
PROMPT = "How long until the first token?"
WORDS = [
    *("stream", "batch", "token", "latency", "markdown", "render", "widget", "screen", "anchor", "parser"),
    *(
        "append",
        "frame",
        "budget",
        "cost",
        "request",
        "reply",
        "model",
        "prompt",
        "window",
        "queue",
        "result",
    ),
]


def flood_tokens(count: int) -> list[str]:
    """Chat-like Markdown (headings, paragraphs, lists, code, tables) cut into ~4-character tokens."""
    parts: list[str] = []
    section = 0
    while True:
        w = [WORDS[(section * 7 + i) % len(WORDS)] for i in range(90)]
        parts += [
            f"## {section + 1}. About {w[0]} and {w[1]}\n\n",
            " ".join(w[:60]).capitalize() + ".\n\n",
            "".join(f"- **{w[i]}**: the {w[i + 1]} of a `{w[i + 2]}`\n" for i in range(0, 15, 3)) + "\n",
            " ".join(w[30:75]).capitalize() + ", see [the docs](https://example.invalid/" + w[2] + ").\n\n",
            "```python\n"
            + "".join(f"def {w[i]}_{i}(x: int) -> int:\n    return x * {i}\n" for i in range(4))
            + "```\n\n",
            "| name | value |\n|---|---|\n" + "".join(f"| {w[i]} | {i * 3} |\n" for i in range(4)) + "\n",
        ]
        section += 1
        tokens = re.findall(r"\s*\S{1,4}|\s+$", "".join(parts))
        if len(tokens) >= count:
            return tokens[:count]


# ---------------------------------------------------------------------------------------------- probes


@dataclass
class Probe:
    """Records when tokens were offered and what each screen update showed."""

    rendered: Callable[[], int]
    offered: list[tuple[float, int]] = field(default_factory=list)
    displays: list[tuple[float, int]] = field(default_factory=list)

    def install(self, app: ProbedApp) -> None:
        app.probe = self

    def shown(self) -> None:
        self.displays.append((time.perf_counter(), self.rendered()))

    def offer(self, length: int) -> None:
        self.offered.append((time.perf_counter(), length))

    async def wait_shown(self, total: int) -> float:
        """When the screen first showed all `total` characters (waiting up to two minutes)."""
        for _ in range(24_000):
            shown = [t for t, n in self.displays if n >= total]
            if shown:
                return shown[0]
            await asyncio.sleep(0.005)
        raise TimeoutError("the screen never showed the whole text")

    def lags(self) -> list[float]:
        """For every token: from being offered to the first screen update showing it, sorted."""
        lags = []
        j = 0
        for offered_at, end in self.offered:
            while self.displays[j][1] < end or self.displays[j][0] < offered_at:
                j += 1
            lags.append(self.displays[j][0] - offered_at)
        return sorted(lags)


class FrameDriver(Terminal):
    """A terminal that is not there: the app renders every screen update to terminal output as it would
    for a real one, and each update flushed to it tells the app's probe (it keeps no cells: no parsing in
    the measured loop)."""

    def write(self, data: str) -> None:
        return None

    def flush(self) -> None:
        app = self.owner
        if isinstance(app, ProbedApp) and app.probe is not None:
            app.probe.shown()


class ProbedApp(App[None]):
    """Runs on a `FrameDriver` (with `run_test(headless=False)`), so a probe sees every screen update."""

    def __init__(self) -> None:
        super().__init__(driver_class=FrameDriver)
        self.probe: Probe | None = None


# ---------------------------------------------------------------------------------------------- flood


class FloodBackend:
    """Offers every token as fast as the pane takes it."""

    def __init__(self, tokens: list[str], probe: Probe) -> None:
        self.tokens = tokens
        self.probe = probe

    async def prepare(self) -> None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        offset = 0
        for token in self.tokens:
            offset += len(token)
            self.probe.offer(offset)
            yield TextChunk(token)
            await asyncio.sleep(0)

    async def wait_for_batch(self, batch_id: str, custom_id: str, poll_interval: float) -> BatchAnswer:
        raise NotImplementedError("the benchmark sends no batches")


async def no_submit(request: ChatRequest, custom_id: str) -> str:
    raise NotImplementedError("the benchmark sends no batches")


class PaneApp(ProbedApp):
    def __init__(self, backend: Any, timer: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.backend = backend
        self.timer = timer

    def compose(self) -> ComposeResult:
        yield Static("table")

    def on_mount(self) -> None:
        open_chat(self, self.make_chat)

    def make_chat(self) -> ChatScreen:
        return ChatScreen(
            self.backend,
            submit=no_submit,
            prices=price_for,
            models=[MODEL],
            max_tokens=8192,
            timer=self.timer,
        )


class BaselineApp(ProbedApp):
    """Textual's own streaming: a Markdown in an anchored VerticalScroll as wide as the pane's log."""

    CSS = """
    #log { padding: 0 1; scrollbar-gutter: stable; height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="log"):
            yield Markdown()


@dataclass
class FloodResult:
    rate: float
    lags: list[float]
    seconds: float
    lines: list[Line]
    width: int
    segments: int = 1
    snapshots: int = 0

    @property
    def max_lag(self) -> float:
        return self.lags[-1]

    @property
    def median_lag(self) -> float:
        return self.lags[len(self.lags) // 2]


async def flood_pane(tokens: list[str]) -> FloodResult:
    probe = Probe(rendered=lambda: 0)
    app = PaneApp(FloodBackend(tokens, probe))
    total = len("".join(tokens))
    async with app.run_test(headless=False, size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        probe.rendered = lambda: screen.reply_stream.rendered if screen.reply_stream else 0
        probe.install(app)
        await screen.send("flood", model=MODEL, max_tokens=8192)
        await app.workers.wait_for_complete()
        end = await probe.wait_shown(total)
        await pilot.pause()
        log = screen.query_one("#chat-log", VerticalScroll)
        replies = list(log.query(Markdown))
        assert "".join(md.source for md in replies) == "".join(tokens), "the pane lost or reordered text"
        # The reply as drawn: each segment, or the snapshot standing in for it.
        turn = replies[0].parent
        assert turn is not None
        drawn = [child for child in turn.children if isinstance(child, Markdown | MarkdownSnapshot)]
        start = probe.offered[0][0]
        result = FloodResult(
            rate=len(tokens) / (end - start),
            lags=probe.lags(),
            seconds=end - start,
            lines=[],
            width=drawn[-1].outer_size.width,
            segments=len(replies),
            snapshots=sum(isinstance(child, MarkdownSnapshot) and child.display for child in drawn),
        )
        result.lines = await displayed(pilot, log, drawn)
        return result


async def flood_markdown_stream(tokens: list[str]) -> FloodResult:
    app = BaselineApp()
    total = len("".join(tokens))
    async with app.run_test(headless=False, size=SIZE) as pilot:
        await pilot.pause()
        markdown = app.query_one(Markdown)
        log = app.query_one("#log", VerticalScroll)
        log.anchor()
        applied = [0]
        append = markdown.append

        def tracked(text: str) -> Any:
            # Count text as rendered once Markdown.append has finished with it.
            target = len(markdown.source) + len(text)
            pending = append(text)

            async def done() -> None:
                await pending
                applied[0] = target

            return done()

        markdown.append = tracked  # type: ignore[method-assign,assignment]
        probe = Probe(rendered=lambda: applied[0])
        probe.install(app)
        stream = Markdown.get_stream(markdown)
        offset = 0
        try:
            for token in tokens:
                offset += len(token)
                probe.offer(offset)
                await stream.write(token)
                await asyncio.sleep(0)
        finally:
            await stream.stop()
        end = await probe.wait_shown(total)
        await pilot.pause()
        assert markdown.source == "".join(tokens)
        start = probe.offered[0][0]
        return FloodResult(
            rate=len(tokens) / (end - start),
            lags=probe.lags(),
            seconds=end - start,
            lines=await displayed(pilot, log, [markdown]),
            width=markdown.outer_size.width,
        )


# ---------------------------------------------------------------------------------------------- TTFT


@dataclass
class TtftResult:
    raw: list[float]
    pane: list[float]
    painted: list[float]

    @property
    def added(self) -> float:
        return statistics.median(p - r for p, r in zip(self.pane, self.raw, strict=True))


async def raw_ttft(client: Any, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    async with client.messages.stream(**params) as stream:
        async for event in stream:
            if event.type == "text":
                return time.perf_counter() - started
    raise RuntimeError("the stream had no text")


async def measure_ttft(base_url: str, rounds: int) -> TtftResult:
    connection = Connection(base_url=base_url, api_key="sk-ant-emulator", max_retries=0)
    backend = SdkChatBackend(partial(asyncio.to_thread, make_client, connection))
    raw_client = await asyncio.to_thread(make_client, connection)
    app = PaneApp(backend)
    result = TtftResult([], [], [])
    async with app.run_test(headless=False, size=SIZE) as pilot:
        await app.workers.wait_for_complete()  # the pane's client is built and the SDK warmed
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        probe = Probe(rendered=lambda: screen.reply_stream.rendered if screen.reply_stream else 0)
        probe.install(app)
        await raw_ttft(
            raw_client, {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        )
        for round_ in range(rounds + 1):
            # Alternate which goes first, and let the app go idle before each measurement.
            screen.conversation.turns.clear()  # the same one-message request every round
            request = screen.conversation.start_turn(PROMPT, MODEL, 64, None).request
            screen.conversation.turns.clear()
            raw_first = round_ % 2 == 0
            if raw_first:
                await pilot.pause(0.2)
                raw = await raw_ttft(raw_client, request.params())
            await pilot.pause(0.2)
            screen.reply_stream = None
            probe.displays.clear()
            turn = await screen.send(PROMPT, model=MODEL, max_tokens=64)
            await app.workers.wait_for_complete()
            if not raw_first:
                await pilot.pause(0.2)
                raw = await raw_ttft(raw_client, request.params())
            if round_ == 0:
                continue  # warm-up round for both
            assert turn.stats.ttft is not None and turn.stats.started_at is not None
            assert turn.request == request
            shown = [t for t, n in probe.displays if n > 0]
            if not shown:  # the first paint can come after the worker ends
                await pilot.pause(0.2)
                shown = [t for t, n in probe.displays if n > 0]
            first_paint = shown[0]
            result.raw.append(raw)
            result.pane.append(turn.stats.ttft)
            # Painted: from sending to the first screen update showing text (stats use perf_counter too).
            result.painted.append(first_paint - turn.stats.started_at)
    await raw_client.close()
    return result


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--ttft", type=float, default=0.2, help="the emulator's time to first token")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/README.md")
    args = parser.parse_args()

    tokens = flood_tokens(args.tokens)
    baseline = asyncio.run(flood_markdown_stream(tokens))
    pane = asyncio.run(flood_pane(tokens))
    same = pane.lines == baseline.lines and pane.width == baseline.width
    ratio = pane.rate / baseline.rate
    print(f"flood of {len(tokens)} tokens ({len(''.join(tokens))} characters, {len(baseline.lines)} lines)")
    print(
        f"  MarkdownStream: {baseline.rate:7.0f} tokens/s, {baseline.seconds:5.2f} s, "
        f"screen at most {baseline.max_lag * 1000:5.0f} ms behind "
        f"(median {baseline.median_lag * 1000:4.0f} ms)"
    )
    print(
        f"  chat pane:      {pane.rate:7.0f} tokens/s, {pane.seconds:5.2f} s, "
        f"screen at most {pane.max_lag * 1000:5.0f} ms behind (median {pane.median_lag * 1000:4.0f} ms; "
        f"{pane.segments} segments, {pane.snapshots} shown as snapshots)"
    )
    print(f"  ratio {ratio:.2f}x (target >= {RATE_TARGET}x); same rendering: {same}")
    if not same:
        print(f"  widths {pane.width} vs {baseline.width}; lines {len(pane.lines)} vs {len(baseline.lines)}")
        for i, (a, b) in enumerate(zip(pane.lines, baseline.lines, strict=False)):
            if a != b:
                print(f"  first difference, line {i}: pane {a!r}\n  vs MarkdownStream {b!r}")
                break

    from batchboard.emulator import Emulator, EmulatorSettings

    emulator = Emulator(EmulatorSettings(seed=0, demo=False, ttft=args.ttft, tokens_per_second=200.0))
    with emulator.running_in_thread() as base_url:
        ttft = asyncio.run(measure_ttft(base_url, args.rounds))
    raw_ms = statistics.median(ttft.raw) * 1000
    pane_ms = statistics.median(ttft.pane) * 1000
    painted_ms = statistics.median(ttft.painted) * 1000
    print(f"TTFT against the emulator (told {args.ttft * 1000:.0f} ms), median of {args.rounds} rounds")
    print(f"  raw SDK stream: {raw_ms:6.1f} ms")
    print(f"  chat pane:      {pane_ms:6.1f} ms (first text on screen {painted_ms:6.1f} ms)")
    print(
        f"  app adds {ttft.added * 1000:+.1f} ms (target <= {TTFT_TARGET * 1000:.0f} ms); "
        f"ratio {pane_ms / raw_ms:.3f}"
    )

    passed = ratio >= RATE_TARGET and pane.max_lag <= LAG_TARGET and same and ttft.added <= TTFT_TARGET
    print("PASS" if passed else "FAIL")
    if args.record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = os.getloadavg()[0]
        cores = os.cpu_count()
        lines = [
            f"\n## bench_chat.py ({stamp}, {len(tokens)} tokens, {args.rounds} TTFT rounds, "
            f"load average {load:.1f} on {cores} cores)\n",
            f"- Flood: chat pane {pane.rate:.0f} tokens/s vs MarkdownStream {baseline.rate:.0f} tokens/s: "
            f"**{ratio:.2f}x** (target >= 2x); screen at most {pane.max_lag * 1000:.0f} ms behind "
            f"(median {pane.median_lag * 1000:.0f} ms; MarkdownStream {baseline.max_lag * 1000:.0f} ms, "
            f"median {baseline.median_lag * 1000:.0f} ms; target <= 250 ms); same rendering: {same}.",
            f"- TTFT (emulator told {args.ttft * 1000:.0f} ms): raw SDK {raw_ms:.1f} ms, "
            f"pane {pane_ms:.1f} ms, "
            f"first text painted {painted_ms:.1f} ms: the app adds **{ttft.added * 1000:+.1f} ms** "
            "(target <= 5 ms).",
            f"- Result: {'PASS' if passed else 'FAIL'}.",
        ]
        with (ROOT / "bench" / "README.md").open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
