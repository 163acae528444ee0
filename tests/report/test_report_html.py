"""The report's HTML page in headless Chromium: one self-contained page whose SVG charts
render (a module of its own: the browser fixture keeps an event loop running while open)."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import cli


def test_html_page_renders_its_charts_in_chromium(eval_run, tmp_path: Path, chromium) -> None:  # type: ignore[no-untyped-def]
    url, metrics, _ = eval_run
    page_path = tmp_path / "report.html"
    assert cli(["report", url, "--format", "html", "--out", str(page_path)]) == 0
    text = page_path.read_text()
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org", "")
    page = chromium.new_page(viewport={"width": 1000, "height": 900})
    try:
        page.goto(page_path.as_uri())
        charts = page.locator("svg.chart")
        assert charts.count() >= 3
        box = charts.first.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 10
        widths = [
            float(w)
            for w in page.locator("svg.chart rect.bar").evaluate_all(
                "bars => bars.map(b => b.getBBox().width)"
            )
        ]
        assert widths and max(widths) == 360.0  # the largest bar spans the scale
        headline = page.locator("#headline").inner_text()
        assert f"conversations\t{metrics['conversations']}" in headline
        # UPDATE_SCREENSHOTS=1 refreshes docs/images/report.png; by default it goes to tmp.
        shot = tmp_path / "report.png"
        if os.environ.get("UPDATE_SCREENSHOTS"):
            shot = Path(__file__).resolve().parents[2] / "docs" / "images" / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()
