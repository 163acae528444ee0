"""Open an eval HTML report in headless Chromium and check that its charts render.

Usage::

    .venv/bin/python tools/check_report.py [REPORT.html] [--out DIR] [--chromium PATH]

Without REPORT.html the demo suite is run (offline, seconds) and its report is checked. The
script takes a screenshot (``DIR/report.png``) and the DOM as Chromium parsed it
(``--dump-dom``), then checks:

- the three charts (outcome mix, pass^k curve, per-intent mix) are in the parsed DOM as SVG with
  their bars, curves and bands, and every failed conversation has its drill-down;
- the screenshot is a real page in which the verdict colours of the charts are visible (pixels
  of the "resolved" green and of the pass^k line blue are counted).

It prints what it found and exits 1 if a check fails. Install Chromium with
``apt-get install -y chromium`` (or pass ``--chromium``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
GREEN = (0x2E, 0x7D, 0x32)  # resolved
BLUE = (0x15, 0x65, 0xC0)  # escalated_correctly and the agent's pass^k line
AMBER = (0xF9, 0xA8, 0x25)  # deflected and the gold line


def find_chromium(explicit: str | None) -> str:
    for candidate in (explicit, "chromium", "chromium-browser", "google-chrome"):
        if candidate and (path := shutil.which(candidate)):
            return path
    sys.exit("Chromium not found: apt-get install -y chromium, or pass --chromium PATH")


def demo_report(folder: Path) -> Path:
    from resolvekit.evals import RunOptions, build_report, run_suite, write_html
    from resolvekit.evals.demo import suite

    run = asyncio.run(run_suite(suite, RunOptions(trials=3, progress=False)))
    return write_html(build_report(run), folder / "report.html")


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.found: list[tuple[str, dict[str, str | None], tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.found.append((tag, attributes, tuple(self.stack)))
        if tag not in ("meta", "br"):
            self.stack.append(attributes.get("id") or tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def count(self, within: str, tag: str, **attrs: str) -> int:
        return sum(
            1
            for t, a, up in self.found
            if t == tag and within in up and all(a.get(k) == v for k, v in attrs.items())
        )


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and raw RGB(A) rows of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour})")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(
            bytes(line) if channels == 3 else bytes(line[j] for j in range(stride) if j % 4 != 3)
        )
        previous = line
    return width, height, rows


def colour_pixels(rows: list[bytes], colour: tuple[int, int, int], tolerance: int = 12) -> int:
    count = 0
    for row in rows:
        for i in range(0, len(row), 3):
            if all(abs(row[i + c] - colour[c]) <= tolerance for c in range(3)):
                count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", nargs="?", type=Path, help="HTML report (default: run demo)")
    parser.add_argument("--out", type=Path, help="where to put report.png and dom.html")
    parser.add_argument("--chromium", help="Chromium binary")
    args = parser.parse_args()
    binary = find_chromium(args.chromium)
    out = args.out or Path(tempfile.mkdtemp(prefix="resolvekit-report-"))
    out.mkdir(parents=True, exist_ok=True)
    report = args.report or demo_report(out)
    url = report.resolve().as_uri()
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as profile:
        png = out / "report.png"
        shot = chromium(
            binary, Path(profile), f"--screenshot={png}", "--window-size=1200,1800", url
        )
        if not png.exists():
            sys.exit(f"Chromium took no screenshot:\n{shot.stderr[-2000:]}")
        dump = chromium(binary, Path(profile), "--dump-dom", url)
    (out / "dom.html").write_text(dump.stdout, encoding="utf-8")
    dom = _Dom()
    dom.feed(dump.stdout)
    checks = {
        "outcome chart svg": dom.count("chart-outcomes", "svg"),
        "outcome bars": dom.count("chart-outcomes", "rect", **{"class": "bar"}),
        "pass^k curves": dom.count("chart-passk", "polyline", **{"class": "passk"}),
        "pass^k CI bands": dom.count("chart-passk", "polygon", **{"class": "ci"}),
        "intent chart bars": dom.count("chart-intents", "rect", **{"class": "bar"}),
        "failure drill-downs": sum(1 for t, a, _ in dom.found if t == "details"),
        "scripts or external assets": sum(
            1 for t, a, _ in dom.found if t in ("script", "link", "img") or "src" in a
        ),
    }
    width, height, rows = read_png(png)
    pixels = {
        "green (resolved) pixels": colour_pixels(rows, GREEN),
        "blue (agent / escalated) pixels": colour_pixels(rows, BLUE),
        "amber (deflected / gold) pixels": colour_pixels(rows, AMBER),
    }
    print(f"report:     {report}")
    print(f"screenshot: {png} ({width}x{height}, {png.stat().st_size} bytes)")
    print(f"dom:        {out / 'dom.html'} ({len(dump.stdout)} chars)")
    for name, value in {**checks, **pixels}.items():
        print(f"  {name:34} {value}")
    for name in (
        "outcome chart svg",
        "outcome bars",
        "pass^k curves",
        "pass^k CI bands",
        "intent chart bars",
    ):
        if checks[name] == 0:
            problems.append(f"no {name} in the DOM")
    if checks["scripts or external assets"]:
        problems.append("the report references scripts or external assets")
    for name, value in pixels.items():
        if value < 200:
            problems.append(f"too few {name} in the screenshot ({value})")
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print("OK: the charts are in the DOM and visible in the screenshot")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
