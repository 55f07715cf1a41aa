"""SDK overhead (sdk.md §14): a gated call, the store size, `import heso`, a wrapped client.

Run by the `bench` session against the installed wheels, never by pytest. It writes raw numbers,
targets and the method as JSON for `tests/bench/report.py`; it measures and never judges.

    python tests/bench/bench_sdk.py --heso BIN --workdir DIR --output FILE [--fast]

`BIN` is the installed `heso` console script (used to create the project), `DIR` an empty
scratch directory.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import heso
from heso import _config

OVERHEAD_TARGETS_US = {"normal": 50.0, "full": 300.0}
FLATNESS_FACTOR = 1.25
IMPORT_TARGET_MS = 25.0
WRAP_TARGET_US = 100.0
STORE_SIZES = (0, 10_000, 100_000, 1_000_000)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def per_call_us(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        call()
    return (time.perf_counter_ns() - start) / calls / 1e3


def overhead_rounds(rounds: int, calls: int) -> list[float]:
    """Decorated minus undecorated per-call µs, one value per round (interleaved)."""

    def plain(q: str) -> str:
        return q

    gated = heso.tool(plain)
    per_call_us(lambda: gated("warm"), 200)
    values = []
    for _ in range(rounds):
        raw = per_call_us(lambda: plain("x"), calls)
        decorated = per_call_us(lambda: gated("x"), calls)
        values.append(decorated - raw)
    return values


def fill(count: int) -> None:
    """Append `count` receipts through the SDK (observe-only allow calls, result receipts too)."""

    def filler(i: int) -> int:
        return i

    gated = heso.tool(filler)
    for i in range(count // 2):
        gated(i)


def receipts_in_store(root: Path) -> int:
    db = root / ".heso" / "heso.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (count,) = conn.execute("SELECT count(*) FROM receipts").fetchone()
    finally:
        conn.close()
    return int(count)


def import_times_ms(runs: int) -> list[float]:
    """Cumulative `import heso` time from `-X importtime`, each in a fresh interpreter."""
    values = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("HESO_")}
    subprocess.run([sys.executable, "-c", "import heso"], check=True, env=env)  # warm the cache
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import heso"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        for line in completed.stderr.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| heso$", line)
            if match:
                values.append(int(match.group(1)) / 1e3)
    return values


# Runs the fake server in its own process, so its threads do not share this interpreter's GIL
# with the calls being timed; prints the URL, then serves until stdin closes.
SERVER_PROCESS = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("fake_llm_server", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["fake_llm_server"] = module
spec.loader.exec_module(module)
with module.FakeServer() as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""


def wrap_overhead_us(rounds: int, calls: int) -> list[float] | None:
    """Wrapped minus raw `chat.completions.create` against a loopback fake server."""
    try:
        openai: Any = importlib.import_module("openai")
    except ImportError:
        return None
    server_file = Path(__file__).resolve().parents[1] / "fake_llm_server.py"
    if not server_file.is_file():
        return None
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_PROCESS, str(server_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip() if server.stdout else ""
        raw = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-bench", max_retries=0)
        wrapped = heso.wrap(raw)
        messages: Any = [{"role": "user", "content": "hi"}]

        def call_raw() -> object:
            return raw.chat.completions.create(model="gpt-bench", messages=messages)

        def call_wrapped() -> object:
            return wrapped.chat.completions.create(model="gpt-bench", messages=messages)

        per_call_us(call_raw, 20)
        per_call_us(call_wrapped, 20)
        values = []
        for _ in range(rounds):
            base = per_call_us(call_raw, calls)
            gated = per_call_us(call_wrapped, calls)
            values.append(gated - base)
        raw.close()
    finally:
        server.communicate(timeout=30)
    return values


def metric(
    name: str, unit: str, target: float, values: Sequence[float], **details: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "unit": unit,
        "target": {"op": "<=", "value": target, "statistic": "median"},
        **summary(values),
        "values": list(values),
        "details": details,
    }


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description="Time the SDK's overhead.")
    parser.add_argument("--heso", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    rounds, calls = (5, 500) if args.fast else (15, 2000)
    sizes = STORE_SIZES[:3] if args.fast else STORE_SIZES
    root = args.workdir / "project"
    subprocess.run([args.heso, "init", "-q", str(root)], check=True)
    os.chdir(root)
    metrics = []
    durabilities: tuple[Literal["normal", "full"], ...] = ("normal", "full")
    for durability in durabilities:
        heso.init(project_root=root, workflow=f"bench-{durability}", durability=durability)
        values = overhead_rounds(rounds, calls if durability == "normal" else calls // 4)
        metrics.append(
            metric(
                f"@heso.tool overhead, durability={durability}, empty store",
                "µs/call",
                OVERHEAD_TARGETS_US[durability],
                values,
                rounds=rounds,
            )
        )
    # The same call as the store grows; the target is the empty-store median times 1.25.
    flat: list[tuple[int, list[float]]] = []
    fresh = args.workdir / "growing"
    subprocess.run([args.heso, "init", "-q", str(fresh)], check=True)
    os.chdir(fresh)
    heso.init(project_root=fresh, workflow="bench-size", durability="normal")
    for size in sizes:
        missing = size - receipts_in_store(fresh)
        if missing > 0:
            fill(missing)
        flat.append((receipts_in_store(fresh), overhead_rounds(rounds, calls)))
    base = statistics.median(flat[0][1])
    for stored, values in flat:
        metrics.append(
            metric(
                f"@heso.tool overhead at {stored:,} stored receipts (normal)",
                "µs/call",
                base * FLATNESS_FACTOR,
                values,
                stored=stored,
                empty_store_median=base,
            )
        )
    _config.shutdown()
    metrics.append(
        metric(
            "import heso (-X importtime, cumulative)", "ms", IMPORT_TARGET_MS, import_times_ms(10)
        )
    )
    heso.init(project_root=root, workflow="bench-wrap", durability="normal")
    wrap_values = wrap_overhead_us(rounds, max(calls // 10, 50))
    if wrap_values is not None:
        metrics.append(
            metric(
                "wrap()-ed chat.completions.create overhead (loopback fake server, normal)",
                "µs/call",
                WRAP_TARGET_US,
                wrap_values,
            )
        )
    fragment = {
        "benchmark": "sdk",
        "method": [
            "Project made by `heso init` (starter policy, Argon2id-encrypted operator key "
            "unlocked once per process).",
            f"Overhead: {rounds} rounds, each timing the same no-op function undecorated and "
            "then decorated with @heso.tool (allowed by the starter's tool.allow) over many "
            "calls; the value of a round is the per-call difference (gate receipt + result "
            "receipt, two store transactions).",
            "Store growth: one project filled through the SDK itself to each size, the same "
            "overhead measured at each; the target is 1.25 times the empty-store median.",
            "Import: 10 fresh interpreters, `-X importtime`, the cumulative time of `heso`, after "
            "one warm-up import.",
            "Wrap: the real `openai` client against a loopback fake server in another process, "
            "raw and wrapped calls interleaved per round; the HTTP cost cancels out of the "
            "difference, which is the gate, the result conversion and both receipts.",
        ],
        "metrics": metrics,
    }
    args.output.write_text(json.dumps(fragment, indent=2, ensure_ascii=False) + "\n")
    if wrap_values is None:
        print("wrap overhead not measured: openai or tests/fake_llm_server.py missing")


if __name__ == "__main__":
    main(sys.argv[1:])
