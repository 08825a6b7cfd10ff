"""Benchmark: the emulator serving a 100,000-request batch, and its streaming rate.

- Creates a 100,000-request batch through the SDK (the body is parsed incrementally with ijson), ends it by
  advancing the emulator's manual clock, and downloads its results (~75 MB of JSONL) through the SDK's
  streaming response. The emulator runs in a child process so its peak RSS (VmHWM) is its own; target
  < 300 MB. The download rate is reported as a ratio to the same bytes served from a plain file by aiohttp's
  FileResponse (also a child process) in the same run.
- Streams `POST /v1/messages` at 100, 500 and 1,000 tokens/s and compares the measured rate (the slope of
  tokens over arrival time of the text deltas, as the SDK delivers them) with the configured one; target 5%.

Run: `python bench/bench_emulator.py [--requests N] [--rates 100,500,1000] [--stream-seconds S]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tui"))

RSS_TARGET_MB = 300
RATE_TOLERANCE = 0.05

TOPICS = (
    "the refund for order",
    "the warehouse pick list",
    "the invoice total for",
    "the onboarding email about",
    "the outage report for",
    "the customer review of",
)


def serve_emulator() -> None:
    """Child process: an emulator on a manual clock, printing its URL, until stdin closes."""
    from batchboard.core.clock import ManualClock
    from batchboard.emulator import Emulator, EmulatorSettings

    emulator = Emulator(EmulatorSettings(seed=0, demo=False, batch_duration=60.0), clock=ManualClock())
    print(emulator.start_in_thread(), flush=True)
    sys.stdin.read()
    emulator.stop_in_thread()


def serve_file(path: str) -> None:
    """Child process: the baseline, one file served by aiohttp's FileResponse."""
    import asyncio

    from aiohttp import web

    async def main() -> None:
        async def handler(_request: web.Request) -> web.FileResponse:
            return web.FileResponse(path)

        app = web.Application()
        app.router.add_get("/results", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


def child(*argv: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (Linux only)")


def make_requests(count: int) -> list[dict[str, object]]:
    return [
        {
            "custom_id": f"req-{i:06d}",
            "params": {
                "model": "claude-haiku-5-5",
                "max_tokens": 512,
                "messages": [
                    {
                        "role": "user",
                        "content": (
                            f"Classify this support ticket: {TOPICS[i % len(TOPICS)]} {i} "
                            f"has not arrived after {i % 30 + 2} days and the customer wants an update."
                        )
                        if i % 4
                        else f"Summarise this incident note: {TOPICS[i % len(TOPICS)]} {i} was delayed by "
                        f"a carrier strike, warehouse staff rerouted {i % 50 + 3} parcels through Rotterdam.",
                    }
                ],
            },
        }
        for i in range(count)
    ]


def bench_results(count: int) -> dict[str, float]:
    import anthropic
    import httpx2

    server, base_url = child("--serve-emulator")
    try:
        client = anthropic.Anthropic(api_key="sk-ant-emulator", base_url=base_url, max_retries=0, timeout=600)
        requests = make_requests(count)
        started = time.perf_counter()
        batch = client.messages.batches.create(requests=requests)
        create_s = time.perf_counter() - started
        del requests
        httpx2.post(f"{base_url}/_emulator/clock/advance", json={"seconds": 60}).raise_for_status()
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
        with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as copy:
            started = time.perf_counter()
            size = lines = 0
            with client.messages.batches.with_streaming_response.results(batch.id) as response:
                for chunk in response.iter_bytes(1 << 16):
                    size += len(chunk)
                    lines += chunk.count(b"\n")
                    copy.write(chunk)
            emulator_s = time.perf_counter() - started
        assert lines == count, f"expected {count} result lines, got {lines}"
        rss = peak_rss_mb(server.pid)
    finally:
        server.communicate("", timeout=30)
    try:
        file_server, file_url = child("--serve-file", copy.name)
        try:
            started = time.perf_counter()
            received = 0
            with httpx2.stream("GET", f"{file_url}/results", timeout=600) as response:
                for chunk in response.iter_bytes(1 << 16):
                    received += len(chunk)
            file_s = time.perf_counter() - started
        finally:
            file_server.communicate("", timeout=30)
        assert received == size
    finally:
        os.unlink(copy.name)
    return {
        "requests": count,
        "create_s": create_s,
        "megabytes": size / 1e6,
        "emulator_mb_s": size / 1e6 / emulator_s,
        "file_mb_s": size / 1e6 / file_s,
        "rss_mb": rss,
    }


def stream_rate(arrivals: list[tuple[float, int]]) -> float:
    """Tokens per second as the least-squares slope of cumulative tokens over arrival time.

    A slope over every delta, rather than (first, last) alone, is not thrown by one late first event
    (the SDK builds its event models lazily on first use).
    """
    times = [t for t, _ in arrivals]
    totals = []
    running = 0
    for _, tokens in arrivals:
        running += tokens
        totals.append(running)
    mean_t = sum(times) / len(times)
    mean_n = sum(totals) / len(totals)
    spread = sum((t - mean_t) ** 2 for t in times)
    return sum((t - mean_t) * (n - mean_n) for t, n in zip(times, totals, strict=True)) / spread


def bench_stream(rate: float, seconds: float) -> tuple[int, float]:
    import anthropic

    from batchboard.emulator import Emulator, EmulatorSettings
    from batchboard.emulator.text import pieces

    emulator = Emulator(EmulatorSettings(demo=False, ttft=0.1, tokens_per_second=rate))
    tokens = max(int(rate * seconds), 20)
    with emulator.running_in_thread() as base_url:
        client = anthropic.Anthropic(api_key="sk-ant-emulator", base_url=base_url, max_retries=0)
        arrivals: list[tuple[float, int]] = []
        with client.messages.stream(
            model="claude-opus-5-5",
            max_tokens=tokens,
            messages=[{"role": "user", "content": "Write a long report on harbour logistics " * 30}],
        ) as stream:
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    arrivals.append((time.perf_counter(), len(pieces(event.delta.text))))
            produced = stream.get_final_message().usage.output_tokens
    assert sum(n for _, n in arrivals) == produced
    return produced, stream_rate(arrivals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rates", default="100,500,1000")
    parser.add_argument("--stream-seconds", type=float, default=3.0)
    parser.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator:
        serve_emulator()
        return 0
    if args.serve_file:
        serve_file(args.serve_file)
        return 0

    ok = True
    figures = bench_results(args.requests)
    ratio = figures["emulator_mb_s"] / figures["file_mb_s"]
    print(
        f"results: {figures['requests']:,} requests, create {figures['create_s']:.1f} s, "
        f"{figures['megabytes']:.1f} MB"
    )
    print(
        f"  download {figures['emulator_mb_s']:.1f} MB/s vs plain file {figures['file_mb_s']:.1f} MB/s: "
        f"ratio {ratio:.3f}"
    )
    rss_ok = figures["rss_mb"] < RSS_TARGET_MB
    ok &= rss_ok
    verdict = "ok" if rss_ok else "FAIL"
    print(f"  emulator peak RSS {figures['rss_mb']:.0f} MB (target < {RSS_TARGET_MB}): {verdict}")
    for rate in (float(part) for part in args.rates.split(",") if part):
        produced, measured = bench_stream(rate, args.stream_seconds)
        error = abs(measured - rate) / rate
        ok &= error <= RATE_TOLERANCE
        print(
            f"stream: configured {rate:.0f} tok/s, measured {measured:.1f} tok/s over {produced} tokens "
            f"(ratio {measured / rate:.3f}, {'ok' if error <= RATE_TOLERANCE else 'FAIL'})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
