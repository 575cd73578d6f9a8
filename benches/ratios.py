#!/usr/bin/env python3
"""Summarise the duo-orm benchmarks: median times and the duo-orm / raw sqlx ratio.

Reads criterion's results (target/criterion/**/new/{benchmark,estimates}.json, written by
`cargo bench -p duo-orm-benches`) and prints a markdown table, one row per workload, backend
and N. Python 3 standard library only.

    python3 benches/ratios.py [CRITERION_DIR]

CRITERION_DIR defaults to target/criterion of the workspace this script lives in.
"""

import json
import os
import sys
from pathlib import Path

ORM = "duo-orm"
RAW = "raw sqlx"
WORKLOAD_ORDER = ["trivial_query", "insert", "bulk_insert", "unit_of_work", "associations", "medium"]
# What each variant is compared with: raw sqlx where there is a raw side, else the plain async
# path (the unit-of-work workload).
BASELINES = [RAW, "async"]
# Targets per workload and N: the variant's median / the baseline's.
TARGETS = {
    ("trivial_query", "10000"): 1.05,
    ("bulk_insert", "10000"): 1.10,
    ("associations", "10000"): 1.00,
    ("medium", "1"): 1.05,
    ("medium", "100"): 1.05,
    ("medium", "1000"): 1.05,
}
# Variants a target applies to (others are reported for information).
TARGET_VARIANTS = {ORM}
BACKEND_ORDER = ["sqlite", "postgres", "mariadb"]
# Results this much older than the newest come from an earlier run (e.g. a backend that was
# skipped this time): they are reported, with a warning.
STALE_SECONDS = 3600


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns / scale < 100 else f"{ns / scale:.0f} {unit}"
    return f"{ns:.0f} ns"


def order(value, known):
    return known.index(value) if value in known else len(known)


def load(root):
    results = {}
    mtimes = {}
    for bench in root.glob("**/new/benchmark.json"):
        estimates = bench.with_name("estimates.json")
        if not estimates.exists():
            continue
        meta = json.loads(bench.read_text())
        group = meta["group_id"]
        if "/" not in group:
            continue
        workload, backend = group.split("/", 1)
        key = (workload, backend, meta.get("value_str") or "")
        median = json.loads(estimates.read_text())["median"]["point_estimate"]
        results.setdefault(key, {})[meta["function_id"]] = median
        mtimes[key] = max(mtimes.get(key, 0), estimates.stat().st_mtime)
    return results, mtimes


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "target" / "criterion"
    if not root.is_dir():
        sys.exit(f"no criterion results in {root}: run `cargo bench -p duo-orm-benches` first")
    results, mtimes = load(root)
    if not results:
        sys.exit(f"no benchmark results under {root}")
    newest = max(mtimes.values())

    def sort_key(key):
        workload, backend, n = key
        return (order(workload, WORKLOAD_ORDER), workload, order(backend, BACKEND_ORDER), backend,
                int(n) if n.isdigit() else 0, n)

    print("| workload | backend | N | variant | median | baseline | baseline median | ratio |")
    print("|---|---|---:|---|---:|---|---:|---:|")
    stale = []
    misses = []
    for key in sorted(results, key=sort_key):
        workload, backend, n = key
        times = results[key]
        baseline = next((b for b in BASELINES if b in times), None)
        n_text = f"{int(n):,}".replace(",", " ") if n.isdigit() else n
        for variant in sorted(v for v in times if v != baseline):
            median = times[variant]
            base = times.get(baseline) if baseline else None
            ratio = f"{median / base:.2f}" if base else "–"
            target = TARGETS.get((workload, n))
            if base and target and variant in TARGET_VARIANTS and median / base > target:
                ratio += " ⚠"
                misses.append(f"{workload}/{backend} ({median / base:.2f} > {target})")
            print(f"| {workload} | {backend} | {n_text} | {variant} | {fmt_time(median)} | {baseline or '–'} | "
                  f"{fmt_time(base) if base else '–'} | {ratio} |")
        if newest - mtimes[key] > STALE_SECONDS:
            stale.append("/".join(key))
    print()
    targets = ", ".join(f"{w} at N = {n}: ≤ {t}" for (w, n), t in TARGETS.items())
    print(f"Targets ({targets})" + (f" — missed on {', '.join(misses)} (⚠)." if misses else " — met wherever measured."))
    if stale:
        print(f"warning: {len(stale)} result(s) are from an earlier run than the newest: {', '.join(stale)}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
