"""Benchmark: time to the dashboard's first frame against a bare Textual app's, and the cheap CLI paths.

Target (issue 3): the dashboard paints its first frame within 1.3x the time a bare Textual app takes to its
first frame, measured in the same run (fresh processes, alternated, median of N). The dashboard probe runs
the real start-up path, `batchboard --demo` through `batchboard.cli.main` (argument parsing, config, the
throwaway demo store, `make_app`), with only `App.run` made headless at a fixed size and `on_ready` printing
what the first frame showed. The first frame says it is connecting: the SDK (about two seconds to import)
and the emulator load in a thread afterwards. Also reported: `import anthropic` alone, and
`batchboard --version`, which must import neither the SDK nor Textual.

Both probes read bytecode from one cache under the run's scratch directory, written by the warm-up runs:
an installed package has its `.pyc` files, and `PYTHONDONTWRITEBYTECODE` (set in some containers) would
otherwise make every run compile batchboard's sources while Textual's come precompiled.

Warm start (issue 17), in a real terminal: tmux runs `batchboard` on a data dir whose store holds a saved
view of 20 or 10,000 batches for the profile and base URL in use, and the time to rows is from launching
it to the first `tmux capture-pane` that shows the saved rows; against the same for a bare Textual app's
first frame (a line of text), interleaved in one run. The API it points at never answers (a closed port):
the rows must not wait for it. Targets: within 1.5x the bare app at 20 batches, within 2x at 10,000.

Run: `python bench/bench_startup.py [--runs N] [--warm-runs N]`. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.3
WARM_TARGETS = {20: 1.5, 10_000: 2.0}
TERMINAL = (160, 45)

BARE_TERMINAL = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("BARE FIRST FRAME")
Bare().run()
"""

FILL_STORE = """
import sys
from datetime import UTC, datetime, timedelta

from batchboard.core.models import Batch, RequestCounts
from batchboard.core.store import Account, Store

count, base_url = int(sys.argv[1]), sys.argv[2]
now = datetime.now(UTC)
batches = []
for n in range(count):
    created = now - timedelta(minutes=n)
    ended = n % 10 != 0
    batches.append(
        Batch(
            id=f"msgbatch_{n:016d}BENCH{n % 1000:03d}",
            processing_status="ended" if ended else "in_progress",
            counts=RequestCounts(processing=0 if ended else 50, succeeded=50 if ended else n % 50),
            created_at=created,
            expires_at=created + timedelta(hours=24),
            ended_at=created + timedelta(minutes=30) if ended else None,
        )
    )
with Store.open() as store:
    store.use_account(Account.of("default", base_url))
    store.record_batches(batches, now=now)
"""

BARE = """
from textual.app import App
class Bare(App):
    def on_ready(self):
        print("FRAME", flush=True)
        self.exit()
Bare().run(headless=True, size=(160, 45))
"""

DASHBOARD = """
import os
import sys

from textual.app import App

_run = App.run


def run(self, **kwargs):
    def on_ready(app):
        from batchboard.ui.widgets.summary import SummaryBar

        summary = str(app.dashboard.query_one(SummaryBar).render())
        sdk = "anthropic" in sys.modules
        print(f"FRAME {summary!r} sdk_loaded={sdk}", flush=True)
        os._exit(0)  # do not wait for the connect thread still importing the SDK

    type(self).on_ready = on_ready
    return _run(self, headless=True, size=(160, 45))


App.run = run
from batchboard.cli import main

main(["--demo"])
"""

IMPORT_SDK = "import anthropic"
VERSION = "from batchboard.cli import main; main(['--version'])"


def time_to_line(code: str, env: dict[str, str], marker: str = "FRAME") -> tuple[float, str]:
    """Seconds from spawning a fresh interpreter to it printing `marker` (or exiting for an import)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    line = ""
    for line in process.stdout:
        if line.startswith(marker):
            break
    elapsed = time.perf_counter() - started
    process.wait(timeout=60)
    if marker and not line.startswith(marker):
        raise RuntimeError(f"no {marker} line: {process.stderr.read() if process.stderr else ''}")
    return elapsed, line.strip()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released): connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def time_in_tmux(command: str, env: dict[str, str], shows: str, lines: int, name: str) -> float:
    """Seconds from launching `command` in a new tmux session to a capture with `lines` lines holding
    `shows`. The session is killed afterwards."""
    exports = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in env.items()
        if k.startswith(("BATCHBOARD_", "ANTHROPIC_", "PYTHON"))
    )
    width, height = TERMINAL
    started = time.perf_counter()
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            str(width),
            "-y",
            str(height),
            f"env {exports} {command}",
        ],
        check=True,
    )
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True
            ).stdout
            if sum(shows in line for line in screen.splitlines()) >= lines:
                return time.perf_counter() - started
            time.sleep(0.005)
        raise RuntimeError(f"{name}: nothing showing {shows!r} within 60 s:\n{screen}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def warm_start(runs: int, env: dict[str, str], scratch: Path) -> dict[int, tuple[float, float]]:
    """Median time to rows at each size and the bare app's first frame, interleaved."""
    base_url = f"http://127.0.0.1:{closed_port()}"
    batchboard = shlex.quote(str(Path(sys.executable).with_name("batchboard")))
    bare_command = f"{shlex.quote(sys.executable)} -c {shlex.quote(BARE_TERMINAL)}"
    homes = {}
    for count in WARM_TARGETS:
        home = {**env, "BATCHBOARD_DATA_DIR": str(scratch / f"warm-{count}"), "ANTHROPIC_BASE_URL": base_url}
        home["ANTHROPIC_API_KEY"] = "bench-key-not-real"  # a key is set: the real start-up path, not the demo
        subprocess.run([sys.executable, "-c", FILL_STORE, str(count), base_url], env=home, check=True)
        homes[count] = home
    tag = f"start-bench-{os.getpid()}"
    # One idle session for the whole run: killing a probe's session must not take the server down
    # just as the next probe starts one.
    subprocess.run(["tmux", "new-session", "-d", "-s", f"{tag}-hold", "sleep 3600"], check=True)
    try:
        return _warm_runs(runs, env, homes, batchboard, bare_command, tag)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", f"{tag}-hold"], capture_output=True)


def _warm_runs(
    runs: int,
    env: dict[str, str],
    homes: dict[int, dict[str, str]],
    batchboard: str,
    bare_command: str,
    tag: str,
) -> dict[int, tuple[float, float]]:
    for count, home in homes.items():  # warm the caches
        time_in_tmux(batchboard, home, "BENCH", min(count, 10), f"{tag}-w{count}")
    time_in_tmux(bare_command, env, "BARE FIRST FRAME", 1, f"{tag}-wb")
    bare: list[float] = []
    rows: dict[int, list[float]] = {count: [] for count in homes}
    for run in range(runs):
        bare.append(time_in_tmux(bare_command, env, "BARE FIRST FRAME", 1, f"{tag}-b{run}"))
        for count, home in homes.items():
            rows[count].append(
                time_in_tmux(batchboard, home, "BENCH", min(count, 10), f"{tag}-{count}-{run}")
            )
    bare_s = statistics.median(bare)
    return {count: (statistics.median(times), bare_s) for count, times in rows.items()}


def main(runs: int, warm_runs: int) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "tui"),
            "BATCHBOARD_CONFIG_DIR": str(Path(scratch) / "config"),
            "BATCHBOARD_DATA_DIR": str(Path(scratch) / "data"),
            "PYTHONPYCACHEPREFIX": str(Path(scratch) / "pycache"),
            "TMPDIR": scratch,  # the demo's throwaway data dir, left behind by os._exit
        }
        env.pop("ANTHROPIC_API_KEY", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # Warm the OS file cache and the bytecode cache (the SDK's too, imported by the connect thread).
        time_to_line(BARE, env)
        time_to_line(DASHBOARD, env)
        time_to_line(IMPORT_SDK, env, marker="")
        bare, dashboard, sdk, version = [], [], [], []
        last = ""
        for _ in range(runs):
            bare.append(time_to_line(BARE, env)[0])
            seconds, last = time_to_line(DASHBOARD, env)
            dashboard.append(seconds)
            sdk.append(time_to_line(IMPORT_SDK, env, marker="")[0])
            version.append(
                time_to_line(
                    "from batchboard.cli import main; main(['--version'])", env, marker="batchboard"
                )[0]
            )
        warm = warm_start(warm_runs, env, Path(scratch)) if warm_runs and shutil.which("tmux") else {}
    bare_s, dash_s = statistics.median(bare), statistics.median(dashboard)
    ratio = dash_s / bare_s
    print(f"bare Textual app, first frame:   {bare_s * 1000:7.0f} ms (median of {runs})")
    print(f"dashboard --demo, first frame:   {dash_s * 1000:7.0f} ms")
    print(f"  ratio: {ratio:.2f} (target <= {TARGET})")
    print(f"  first frame showed: {last}")
    print(f"python -c 'import anthropic':    {statistics.median(sdk) * 1000:7.0f} ms")
    print(f"batchboard --version:            {statistics.median(version) * 1000:7.0f} ms")
    ok = ratio <= TARGET and "connecting" in last
    if warm:
        print(
            f"warm start in tmux {TERMINAL[0]}x{TERMINAL[1]}, saved view on screen (median of {warm_runs}):"
        )
    elif warm_runs:
        print("warm start: tmux not found, not measured")
    for count, (rows_s, bare_first) in warm.items():
        warm_ratio = rows_s / bare_first
        target = WARM_TARGETS[count]
        print(f"  {count:>6,} batches: rows at {rows_s * 1000:5.0f} ms, ", end="")
        print(f"bare first frame {bare_first * 1000:5.0f} ms, ratio {warm_ratio:.2f} (target <= {target})")
        ok = ok and warm_ratio <= WARM_TARGETS[count]
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warm-runs", type=int, default=7, help="tmux warm-start runs per size (0: skip)")
    arguments = parser.parse_args()
    sys.exit(main(arguments.runs, arguments.warm_runs))
