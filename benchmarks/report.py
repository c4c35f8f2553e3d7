"""Turn per-round worker results into rows with paired ratios, a Markdown table and JSON."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.spec import DESCRIPTIONS, FRAMEWORKS, WORKLOADS
from benchmarks.startup import ROWS as STARTUP_ROWS

REFERENCES = ("numpy", "torch")
_SEVERITY = {"FAILED": 3, "ERROR": 2, "skipped": 1, "ok": 0}


def paired_ratio(runs: list[dict[str, Any]], reference: list[dict[str, Any]]) -> float | None:
    """Median over rounds of median(run) / median(reference run of the same round)."""
    ref_by_round = {r["round"]: r["median"] for r in reference if r["status"] == "ok"}
    ratios = [
        r["median"] / ref_by_round[r["round"]]
        for r in runs
        if r["status"] == "ok" and ref_by_round.get(r["round"])
    ]
    return statistics.median(ratios) if ratios else None


def _row_order(workload: str) -> tuple[str, ...]:
    """Framework rows of a workload, in display order."""
    return STARTUP_ROWS if workload == "startup" else FRAMEWORKS


def aggregate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (workload, framework): worst status, stats over good rounds, paired ratios."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["workload"], run["framework"]), []).append(run)
    rows = []
    for workload in WORKLOADS:
        for framework in _row_order(workload):
            group = groups.get((workload, framework))
            if not group:
                continue
            worst = max(group, key=lambda r: _SEVERITY.get(r["status"], 2))
            row: dict[str, Any] = {
                "workload": workload,
                "framework": framework,
                "status": worst["status"],
                "message": worst.get("message", ""),
                "rounds": len(group),
            }
            good = [r for r in group if r["status"] == "ok"]
            if good and worst["status"] != "FAILED":
                row.update(
                    unit=good[0]["unit"],
                    median=statistics.median(r["median"] for r in good),
                    min=min(r["min"] for r in good),
                    max=max(r["max"] for r in good),
                    throughput=statistics.median(r["throughput"] for r in good),
                    throughput_unit=good[0]["throughput_unit"],
                )
                rss = [r["peak_rss_mib"] for r in good if "peak_rss_mib" in r]
                if rss:
                    row["peak_rss_mib"] = statistics.median(rss)
                for ref in REFERENCES:
                    row[f"ratio_{ref}"] = paired_ratio(good, groups.get((workload, ref), []))
            rows.append(row)
    return rows


def _num(value: float | None) -> str:
    """A number with about three significant digits ('' for None)."""
    if value is None:
        return ""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _ratio(value: float | None) -> str:
    """A ratio like '1.23x' ('' for None)."""
    return "" if value is None else f"{value:.2f}x"


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results as a Markdown document: context, table, problems, legend."""
    lines = ["# Benchmark results", ""]
    lines += [f"- {key}: {value}" for key, value in meta.items()]
    lines += [
        "",
        "| workload | framework | median | min | max | unit | throughput | peak RSS MiB "
        "| vs numpy | vs torch | status |",
        "|---|---|--:|--:|--:|---|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        rate = row.get("throughput")
        rate_text = f"{_num(rate)} {row.get('throughput_unit', '')}" if rate else ""
        lines.append(
            "| "
            + " | ".join(
                [
                    row["workload"],
                    row["framework"],
                    _num(row.get("median")),
                    _num(row.get("min")),
                    _num(row.get("max")),
                    row.get("unit", ""),
                    rate_text,
                    _num(row.get("peak_rss_mib")),
                    _ratio(row.get("ratio_numpy")),
                    _ratio(row.get("ratio_torch")),
                    row["status"],
                ]
            )
            + " |"
        )
    problems = [row for row in rows if row["status"] != "ok"]
    if problems:
        lines += ["", "## Not measured", ""]
        for r in problems:
            lines.append(f"- {r['workload']} {r['framework']}: {r['status']}: {r['message']}")
    lines += ["", "## Workloads", ""]
    workloads = {row["workload"] for row in rows}
    lines += [f"- {w}: {DESCRIPTIONS[w]}" for w in WORKLOADS if w in workloads]
    lines += [
        "",
        "Times are per step (W2: per op). median/min/max: median of the per-round medians, "
        "overall min and max. vs numpy / vs torch: this framework's median divided by the "
        "reference's median in the same round, then the median over rounds (above 1 = slower).",
        "",
    ]
    return "\n".join(lines)


def write(out: Path, rows: list[dict[str, Any]], runs: list[dict[str, Any]], meta: dict) -> str:
    """Write results.json and results.md into `out`; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    doc = {"meta": meta, "rows": rows, "runs": runs}
    (out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    text = markdown(rows, meta)
    (out / "results.md").write_text(text)
    return text
