"""Receipt verification speed: per-receipt cost and whole-log throughput (`nox -s bench`).

Run by the `bench` session against the installed wheels, never by pytest (the name does not match
`test_*.py`). It writes raw numbers, targets and the method as JSON for `tests/bench/report.py`;
it measures and never judges, so no number can make it fail. It fails only when it cannot measure
what it claims to: a corpus receipt that does not verify, or a verifier that errors.

    python tests/bench/bench_verify.py --corpus DIR --chain-lengths 10000 100000 --output FILE

`DIR` is the output of `cargo run --release -p heso-store --example mint_corpus -- DIR
--chain-length N`, with N at least the largest chain length.

The per-receipt cost runs under pyperf, which re-runs this file as `bench_verify.py cost ...` in
worker processes; that mode is internal.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyperf

from heso import _core

COST_MODE = "cost"
# Targets: packaging.md §7.1 `bench` and cli.md §3.3, for a 2-core machine.
COST_TARGET_US = 60.0
THROUGHPUT_TARGET = 15_000.0
THROUGHPUT_RUNS = 5
# Every kind of receipt the corpus holds, in the order the report lists them.
KINDS = ("plain L0", "redacted", "L1", "quorum", "lifecycle link")


def receipt_kind(receipt: dict[str, Any]) -> str:
    """Which of KINDS a receipt is, from its content."""
    content = receipt["content"]
    if "kind" in content:
        return "lifecycle link"
    if "multi_approval" in content:
        return "quorum"
    if content.get("trust_level") == "L1":
        return "L1"
    if "redaction" in content:
        return "redacted"
    return "plain L0"


def receipt_lines(path: Path) -> list[bytes]:
    """The receipts of a `.json` (one receipt) or `.jsonl` file, as the bytes a verifier reads."""
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        return [line for line in data.split(b"\n") if line]
    return [data]


def corpus_receipts(corpus: Path) -> dict[str, list[bytes]]:
    """The corpus receipts by kind, each checked to verify `Valid` (the long chain is left out).

    A receipt that does not verify would time an early exit instead of a verification, so it
    stops the benchmark.
    """
    groups: dict[str, list[bytes]] = {kind: [] for kind in KINDS}
    paths = sorted([*corpus.glob("*.json"), *corpus.glob("*.jsonl")])
    for path in paths:
        if path.name.startswith("long-chain"):
            continue
        for receipt in receipt_lines(path):
            verdict = _core.verify_receipt(receipt)
            if verdict["kind"] != "Valid":
                sys.exit(f"bench_verify: `{path.name}` holds a receipt that is {verdict['kind']}")
            groups[receipt_kind(json.loads(receipt))].append(receipt)
    empty = [kind for kind, receipts in groups.items() if not receipts]
    if empty:
        sys.exit(f"bench_verify: the corpus `{corpus}` has no {', '.join(empty)} receipts")
    return groups


def verify_each(receipts: Sequence[bytes]) -> None:
    """The timed body of the cost benchmark: one `verify_receipt` call per receipt."""
    verify = _core.verify_receipt
    for receipt in receipts:
        verify(receipt)


def cost_benchmark_name(kind: str) -> str:
    return f"verify_receipt: {kind}"


def run_cost_runner(argv: Sequence[str]) -> None:
    """The pyperf program: one benchmark per kind, timed per receipt through `inner_loops`."""

    def pass_corpus(command: list[str], args: argparse.Namespace) -> None:
        command.extend(["--corpus", str(args.corpus)])

    runner = pyperf.Runner(
        program_args=(str(Path(__file__).resolve()), COST_MODE),
        add_cmdline_args=pass_corpus,
    )
    runner.argparser.add_argument("--corpus", type=Path, required=True)
    args = runner.parse_args(list(argv))
    for kind, receipts in corpus_receipts(args.corpus).items():
        runner.bench_func(
            cost_benchmark_name(kind), verify_each, receipts, inner_loops=len(receipts)
        )


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def measure_cost(
    corpus: Path, groups: dict[str, list[bytes]], *, fast: bool
) -> list[dict[str, Any]]:
    """Run the pyperf program in a child process and read its JSON results back."""
    with tempfile.TemporaryDirectory(prefix="heso-bench-") as scratch:
        results = Path(scratch) / "pyperf.json"
        command = [sys.executable, str(Path(__file__).resolve()), COST_MODE]
        fast_args = ["--fast"] if fast else []
        subprocess.run(
            [*command, "--corpus", str(corpus), "--output", str(results), *fast_args],
            check=True,
        )
        suite = pyperf.BenchmarkSuite.load(str(results))
    metrics = []
    for kind, receipts in groups.items():
        benchmark = suite.get_benchmark(cost_benchmark_name(kind))
        # Calibration runs hold warm-ups only; the runs with values are the measuring processes.
        runs = [run for run in benchmark.get_runs() if run.values]
        # pyperf's values are seconds per inner loop, here one receipt.
        values = [float(value) * 1e6 for value in benchmark.get_values()]
        metrics.append(
            {
                "name": f"verify_receipt cost, {kind} ({plural(len(receipts), 'receipt')})",
                "unit": "µs/receipt",
                "target": {"op": "<=", "value": COST_TARGET_US, "statistic": "median"},
                **summary(values),
                "values": values,
                "details": {
                    "receipts": len(receipts),
                    "processes": len(runs),
                    "values_per_process": sorted({len(run.values) for run in runs}),
                    "warmups_per_process": sorted({len(run.warmups or ()) for run in runs}),
                    "loops_per_value": benchmark.get_loops(),
                    "receipts_per_loop": benchmark.get_inner_loops(),
                },
            }
        )
    return metrics


def time_runs(run: Callable[[], None], runs: int) -> list[float]:
    """Wall seconds of each of `runs` calls of `run`, after one untimed warm-up call."""
    run()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        run()
        seconds.append((time.perf_counter_ns() - start) / 1e9)
    return seconds


def throughput_metric(name: str, receipts: int, seconds: Sequence[float]) -> dict[str, Any]:
    rates = [receipts / wall for wall in seconds]
    return {
        "name": name,
        "unit": "receipts/s",
        "target": {"op": ">=", "value": THROUGHPUT_TARGET, "statistic": "max"},
        **summary(rates),
        "values": rates,
        "details": {"receipts": receipts, "wall_seconds": list(seconds)},
    }


def cli_verify(binary: str, log: Path, receipts: int) -> Callable[[], None]:
    """One `heso-compliance verify --no-pin --json LOG` run that must report every receipt Valid."""
    command = [binary, "verify", "--no-pin", "--json", str(log)]
    # No HESO_* variable of the caller may change what is measured.
    env = {name: value for name, value in os.environ.items() if not name.startswith("HESO_")}

    def run() -> None:
        completed = subprocess.run(
            command, cwd=log.parent, env=env, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            sys.exit(f"bench_verify: `{' '.join(command)}` exited {completed.returncode}")
        counted = json.loads(completed.stdout)["result"]["summary"]
        if counted["valid"] != receipts:
            sys.exit(f"bench_verify: `{log.name}` verified {counted}, expected {receipts} Valid")

    return run


def in_process_verify(lines: list[bytes]) -> Callable[[], None]:
    """One `verify_chain(lines)` call that must find the whole chain Valid."""

    def run() -> None:
        report = _core.verify_chain(lines)
        if report["kind"] != "Valid" or report.get("length") != len(lines):
            sys.exit(f"bench_verify: verify_chain on {len(lines)} receipts gave {report}")

    return run


def measure_throughput(corpus: Path, lengths: Sequence[int]) -> list[dict[str, Any]]:
    """Whole-log verification of the first N receipts of `long-chain.jsonl`, for each N."""
    chain = receipt_lines(corpus / "long-chain.jsonl")
    binary = str(Path(sysconfig.get_path("scripts")) / "heso-compliance")
    metrics = []
    with tempfile.TemporaryDirectory(prefix="heso-bench-") as scratch:
        for length in lengths:
            if length > len(chain):
                sys.exit(
                    f"bench_verify: `long-chain.jsonl` has {len(chain)} receipts, not {length}"
                )
            # A prefix of a valid chain is a valid chain: the same receipts a chain minted with
            # `--chain-length N` would hold.
            lines = chain[:length]
            log = Path(scratch) / f"long-chain-{length}.jsonl"
            log.write_bytes(b"".join(line + b"\n" for line in lines))
            print(f"bench_verify: {length:,} receipts, {THROUGHPUT_RUNS} runs each", flush=True)
            seconds = time_runs(cli_verify(binary, log, length), THROUGHPUT_RUNS)
            metrics.append(
                throughput_metric(f"heso-compliance verify, {length:,} receipts", length, seconds)
            )
            seconds = time_runs(in_process_verify(lines), THROUGHPUT_RUNS)
            metrics.append(
                throughput_metric(f"heso._core.verify_chain, {length:,} receipts", length, seconds)
            )
    return metrics


def method(cost: Sequence[dict[str, Any]]) -> list[str]:
    details = cost[0]["details"]
    per_process = "/".join(str(count) for count in details["values_per_process"])
    warmups = "/".join(str(count) for count in details["warmups_per_process"])
    return [
        "verify_receipt cost: pyperf "
        f"{importlib.metadata.version('pyperf')} `Runner.bench_func`, one benchmark per receipt "
        "kind; one loop calls `heso._core.verify_receipt(bytes)` once on each corpus receipt "
        "of that kind and pyperf divides by the receipt count (inner loops), so each value is "
        f"the mean cost of one verification. {details['processes']} worker processes, "
        f"{per_process} values each after {warmups} warm-up, loops calibrated so that a value "
        "takes at least 100 ms; median, min and max are over all values. The system was not "
        "tuned (`pyperf system tune`) and no CPU was isolated.",
        "heso-compliance verify: wall time of `heso-compliance verify --no-pin --json FILE` "
        "run as a subprocess (process start, reading and parsing the file, verifying the chain, "
        f"writing the report), 1 untimed warm-up run, then {THROUGHPUT_RUNS} timed runs; each "
        "value is N / wall time. Judged on the best run.",
        "heso._core.verify_chain: wall time of one call on a list of N `bytes` already in "
        "memory (parsing and verification included, reading the file not), 1 untimed warm-up "
        f"call, then {THROUGHPUT_RUNS} timed calls; each value is N / wall time. Judged on the "
        "best run.",
        "The logs are the first N receipts of `long-chain.jsonl`, one action session of plain "
        "receipts minted by `mint_corpus --chain-length` (varied verbs, fields and sizes, about "
        "one in fifty redacted with commit-and-reveal). Every measured run checks that all "
        "receipts verify Valid.",
    ]


def main(argv: Sequence[str]) -> None:
    if argv[:1] == [COST_MODE]:
        run_cost_runner(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--chain-lengths", type=int, nargs="+", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--fast", action="store_true", help="pyperf's --fast: fewer processes, rougher numbers"
    )
    args = parser.parse_args(argv)
    groups = corpus_receipts(args.corpus)
    cost = measure_cost(args.corpus, groups, fast=args.fast)
    throughput = measure_throughput(args.corpus, args.chain_lengths)
    fragment = {
        "benchmark": "verify",
        "method": method(cost),
        "metrics": [*cost, *throughput],
    }
    args.output.write_text(json.dumps(fragment, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
