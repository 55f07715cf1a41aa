"""Merge benchmark results into `bench-results/<UTC date>.json` and `.md` (`nox -s bench`).

    python tests/bench/report.py --out-dir DIR --git-commit SHA [--git-dirty] RESULTS.json...

Each RESULTS file is what one `tests/bench/bench_*.py` script wrote: its method (a list of
sentences) and its metrics (name, unit, target, median, min, max, raw values, details). This
script adds the machine, compares each metric with its target and prints the Markdown table. A
missed target is reported, never an error: speed is measured here, not asserted.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from heso import _core

# How each statistic a target can be judged on is named in the table.
STATISTIC_NAMES = {"median": "median", "min": "best run", "max": "best run"}
OPERATORS = {"<=": "≤", ">=": "≥"}


def cpu_model() -> str:
    """The `model name` of /proc/cpuinfo, else what the platform module knows."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown"


def machine(git_commit: str, *, git_dirty: bool) -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "heso": importlib.metadata.version("heso"),
        "heso_compliance": importlib.metadata.version("heso-compliance"),
        "heso_core": _core.__version__,
        "heso_module": str(Path(_core.__file__).parent),
        "git_commit": git_commit,
        "git_dirty": git_dirty,
    }


def passes(metric: dict[str, Any]) -> bool:
    target = metric["target"]
    measured = float(metric[target["statistic"]])
    if target["op"] == "<=":
        return measured <= float(target["value"])
    return measured >= float(target["value"])


def number(value: float, unit: str) -> str:
    if unit == "receipts/s":
        return f"{value:,.0f}/s"
    return f"{value:,.1f} {unit.partition('/')[0]}"


def table(metrics: Sequence[dict[str, Any]]) -> list[str]:
    rows = [
        "| Metric | Target | Median | Min | Max | Result |",
        "|---|---|---:|---:|---:|---|",
    ]
    for metric in metrics:
        unit, target = metric["unit"], metric["target"]
        goal = (
            f"{OPERATORS[target['op']]} {number(target['value'], unit)} "
            f"({STATISTIC_NAMES[target['statistic']]})"
        )
        cells = [number(metric[key], unit) for key in ("median", "min", "max")]
        result = "pass" if passes(metric) else "**miss**"
        rows.append(f"| {metric['name']} | {goal} | {' | '.join(cells)} | {result} |")
    return rows


def markdown(document: dict[str, Any]) -> str:
    host = document["machine"]
    commit = host["git_commit"][:12] or "none"
    if host["git_dirty"]:
        commit += " (with uncommitted changes)"
    lines = [
        f"# heso benchmarks, {document['date']}",
        "",
        f"{host['cpu_model']}, {host['cpu_count']} cores ({host['cpus_usable']} usable); "
        f"{host['python']}; heso {host['heso']}; commit {commit}.",
        "",
        *table(document["metrics"]),
        "",
        "## Method",
        "",
        *(f"- {sentence}" for sentence in document["method"]),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description="Merge benchmark results into bench-results/.")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--git-commit", default="")
    parser.add_argument("--git-dirty", action="store_true")
    parser.add_argument("results", type=Path, nargs="+")
    args = parser.parse_args(argv)
    now = datetime.datetime.now(datetime.timezone.utc)
    fragments = [json.loads(path.read_text(encoding="utf-8")) for path in args.results]
    metrics = [
        {**metric, "benchmark": fragment["benchmark"]}
        for fragment in fragments
        for metric in fragment["metrics"]
    ]
    for metric in metrics:
        metric["pass"] = passes(metric)
    document = {
        "schema": "heso-bench/1",
        "date": now.date().isoformat(),
        "finished_at": now.isoformat(timespec="seconds"),
        "machine": machine(args.git_commit, git_dirty=args.git_dirty),
        "method": [sentence for fragment in fragments for sentence in fragment["method"]],
        "metrics": metrics,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / document["date"]
    json_path, markdown_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    text = markdown(document)
    markdown_path.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {json_path} and {markdown_path}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
