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

Run: `python bench/bench_startup.py [--runs N]`. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.3

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


def main(runs: int) -> int:
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
    bare_s, dash_s = statistics.median(bare), statistics.median(dashboard)
    ratio = dash_s / bare_s
    print(f"bare Textual app, first frame:   {bare_s * 1000:7.0f} ms (median of {runs})")
    print(f"dashboard --demo, first frame:   {dash_s * 1000:7.0f} ms")
    print(f"  ratio: {ratio:.2f} (target <= {TARGET})")
    print(f"  first frame showed: {last}")
    print(f"python -c 'import anthropic':    {statistics.median(sdk) * 1000:7.0f} ms")
    print(f"batchboard --version:            {statistics.median(version) * 1000:7.0f} ms")
    ok = ratio <= TARGET and "connecting" in last
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    sys.exit(main(parser.parse_args().runs))
