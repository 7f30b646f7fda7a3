"""The chart library, chosen by measurement: plain SVG against plotly and Vega-Lite (altair).

Draws the report's two charts (outcomes of 14 runs, stacked; 480 minutes of sent and
created) three ways, each as one self-contained HTML file that opens offline: our SVG
(``ae_import.report``), plotly with its bundle inlined (``include_plotlyjs=True``), and
altair with Vega, Vega-Lite and vega-embed inlined (``inline=True``, by vl-convert). For
each: the file's size, the packages it needs, and the time headless Chromium takes to
load it and take a screenshot (median of 5). plotly and altair are not dependencies:
install them in a scratch virtualenv to run this (pip install plotly altair vl-convert-python).

    python bench/charts.py --out /tmp/charts
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUNS: list[dict[str, Any]] = [
    {"run": f"#{n}", "created": 900 + 13 * n, "skipped": 50, "failed": n % 4, "invalid": 7}
    for n in range(1, 15)
]
MINUTES = [{"minute": m, "sent": 80 + m % 9, "created": 75 + m % 7} for m in range(480)]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def ours(out: Path) -> Path:
    """Write the charts as ae-import draws them (SVG in the page)."""
    from ae_import.ledger import Minute
    from ae_import.report.data import RunBar
    from ae_import.report.svg import runs_chart, timeline_chart

    bars = [
        RunBar("l", n, "2026-01-01", None, 1, {k: int(v) for k, v in r.items() if k != "run"})
        for n, r in enumerate(RUNS, 1)
    ]
    for bar in bars:
        for name in ("existing", "changed", "retryable"):
            bar.counts[name] = 0
    minutes = [Minute(m["minute"], "t", sent=m["sent"], created=m["created"]) for m in MINUTES]
    page = out / "svg.html"
    page.write_text(f"<!DOCTYPE html><html><body>{runs_chart(bars)}{timeline_chart(minutes)}")
    return page


def plotly_page(out: Path) -> Path:
    """Write the charts with plotly, its bundle inlined."""
    import plotly.graph_objects as go  # type: ignore[import-not-found]

    bars = go.Figure(
        [
            go.Bar(name=k, x=[r["run"] for r in RUNS], y=[r[k] for r in RUNS])
            for k in ("created", "skipped", "failed", "invalid")
        ],
        layout={"barmode": "stack"},
    )
    line = go.Figure(
        [
            go.Scatter(name=k, x=[m["minute"] for m in MINUTES], y=[m[k] for m in MINUTES])
            for k in ("sent", "created")
        ]
    )
    page = out / "plotly.html"
    html = bars.to_html(include_plotlyjs=True, full_html=False)
    html += line.to_html(include_plotlyjs=False, full_html=False)
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{html}")
    return page


def altair_page(out: Path) -> Path:
    """Write the charts with altair, Vega, Vega-Lite and vega-embed inlined."""
    import altair as alt  # type: ignore[import-not-found]

    runs = alt.Data(
        values=[
            {"run": r["run"], "outcome": k, "rows": r[k]}
            for r in RUNS
            for k in ("created", "skipped", "failed", "invalid")
        ]
    )
    bars = alt.Chart(runs).mark_bar().encode(x="run:N", y="sum(rows):Q", color="outcome:N")
    minutes = alt.Data(
        values=[
            {"minute": m["minute"], "series": k, "rows": m[k]}
            for m in MINUTES
            for k in ("sent", "created")
        ]
    )
    line = alt.Chart(minutes).mark_line().encode(x="minute:Q", y="rows:Q", color="series:N")
    page = out / "altair.html"
    alt.vconcat(bars, line).save(str(page), inline=True)
    return page


def render_s(page: Path, browser: str) -> float:
    """Return the median seconds Chromium takes to load ``page`` and screenshot it."""
    times = []
    for _ in range(5):
        with tempfile.TemporaryDirectory() as profile:
            start = time.perf_counter()
            subprocess.run(
                [
                    browser,
                    *FLAGS,
                    f"--user-data-dir={profile}",
                    "--window-size=900,1200",
                    f"--screenshot={page.with_suffix('.png')}",
                    page.as_uri(),
                ],
                capture_output=True,
                check=True,
                timeout=120,
            )
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Write the three pages; print size and render time of each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp()))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    browser = shutil.which("chromium") or shutil.which("google-chrome")
    makers = [
        ("plain SVG (ours)", ours, None),
        ("plotly", plotly_page, "plotly"),
        ("altair + vl-convert", altair_page, "altair"),
    ]
    for name, make, module in makers:
        if module and importlib.util.find_spec(module) is None:
            print(f"{name}: not installed, skipped")
            continue
        page = make(args.out)
        size = page.stat().st_size / 1024
        shown = f"{render_s(page, browser):.2f} s" if browser else "no chromium"
        print(f"{name}: {size:,.0f} KB, render + screenshot {shown} ({page})")


if __name__ == "__main__":
    main()
