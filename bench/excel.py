"""`validate` of an .xlsx report against the same rows as CSV: rate and peak RSS by size.

Target (issue 19): the workbook validates at >= 1/3 of the CSV's rate, with peak RSS flat
(within +20 MB from the smallest size to the largest). The workbook is the CRM shape of
`generate.py` written as Excel writes it (`xlsx_write.py`: shared strings, date cells, two
title rows above the header). Run alone it prints its section:
`python bench/excel.py --sizes 100000,1000000`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import ROOT, ae_import, best, target
from generate import generate
from xlsx_write import csv_to_xlsx

__all__ = ["excel_section"]

CONFIG = ROOT / "samples" / "salesforce.yaml"
SHARE = 1 / 3
RSS_DELTA_MB = 20


def excel_section(sizes: list[int], work: Path, tries: int) -> list[str]:
    """Measure validate on crm.xlsx and crm.csv at each size; record the targets."""
    lines = [
        "## `validate`: an .xlsx report against the same rows as CSV",
        "",
        "The CRM shape written as Excel writes it (shared strings, date cells, two title rows "
        "above the header), validated with `samples/salesforce.yaml`; the reference is the "
        f"same rows as CSV in the same run. Best of {tries}; wall time includes start-up. "
        f"Target: at least {SHARE:.2f} of the CSV's rate; peak RSS within "
        f"+{RSS_DELTA_MB} MB from the smallest size to the largest.",
        "",
        "| rows | .xlsx rows/s | .xlsx peak RSS MB | .csv rows/s | .csv peak RSS MB | share |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    rss: dict[int, float] = {}
    for rows in sizes:
        csv_path = generate("crm.csv", rows, work / f"{rows}-crm.csv")
        xlsx_path = csv_to_xlsx(
            csv_path, work / f"{rows}-crm.xlsx", ("Calls with recordings", "As of today")
        )
        runs = {}
        for path in (xlsx_path, csv_path):
            run = best(ae_import("validate", str(path), "--config", str(CONFIG)), tries)
            if run.code != 0:
                raise SystemExit(f"validate {path} exited {run.code}")
            runs[path.suffix] = run
        xlsx_rate = rows / runs[".xlsx"].seconds
        csv_rate = rows / runs[".csv"].seconds
        rss[rows] = runs[".xlsx"].rss_mb
        lines.append(
            f"| {rows:,} | {xlsx_rate:,.0f} | {runs['.xlsx'].rss_mb:.1f} | {csv_rate:,.0f} | "
            f"{runs['.csv'].rss_mb:.1f} | {xlsx_rate / csv_rate:.2f} |"
        )
        if rows == max(sizes):
            target(
                f"`validate`, crm.xlsx, {rows:,} rows, share of CSV",
                f"{xlsx_rate / csv_rate:.2f}",
                f">= {SHARE:.2f}",
                xlsx_rate / csv_rate >= SHARE,
            )
        csv_path.unlink()
        xlsx_path.unlink()
    if len(sizes) > 1:
        low, high = min(sizes), max(sizes)
        delta = rss[high] - rss[low]
        target(
            f"RSS growth, crm.xlsx, {low:,} to {high:,} rows",
            f"{delta:+.1f} MB",
            f"<= +{RSS_DELTA_MB} MB",
            delta <= RSS_DELTA_MB,
        )
        lines.append("")
        lines.append(
            f"- crm.xlsx: peak RSS {rss[low]:.1f} MB at {low:,} rows, "
            f"{rss[high]:.1f} MB at {high:,} rows: {delta:+.1f} MB."
        )
    return [*lines, ""]


def main() -> None:
    """Print the section for the sizes asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--tries", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ae-bench-") as folder:
        lines = excel_section([int(s) for s in args.sizes.split(",")], Path(folder), args.tries)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
