"""`optimizer report`: the HTML report of the base case and of a sweep, rendered in headless Chromium.

The browser is Debian's ``chromium`` (installed by .ci/run) driven by Playwright, with a fresh profile
and background networking off. Each report must load with no console error, no page error, no failed
request and no request outside file://, show every section, and have every chart drawn by plotly.
Screenshots go to results/screenshots/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.report import SOLVE_SECTIONS, SWEEP_SECTIONS

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "results" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHARTS = {"build-plan", "sourcing", "costs", "utilisation", "demand", "distributions", "build-frequency", "tornado"}


def report_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", "report", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def render(report: Path, profile: Path, sections: tuple[str, ...], shot: str) -> dict[str, list]:
    """Open ``report`` in Chromium; return what went wrong, after checking each section is visible."""
    from playwright.sync_api import sync_playwright

    seen: dict[str, list] = {"console": [], "pageerror": [], "failed": [], "requests": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 900})
        try:
            page = browser.new_page()
            page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["pageerror"].append(str(e)))
            page.on("requestfailed", lambda r: seen["failed"].append(r.url))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            for section in sections:
                locator = page.locator(f"section#{section}")
                assert locator.count() == 1, f"section {section} missing"
                locator.scroll_into_view_if_needed()
                assert locator.is_visible(), f"section {section} not visible"
                if section in CHARTS:
                    # plotly draws into an svg.main-svg inside the chart's div
                    page.locator(f"#chart-{section} svg.main-svg").first.wait_for(state="visible", timeout=20_000)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
            page.locator("section#sourcing").screenshot(path=str(SCREENSHOTS / f"{shot}-sourcing.png"))
        finally:
            browser.close()
    return seen


def check_self_contained(text: str) -> None:
    """No script with a src, no stylesheet link, and in the markup (script bodies aside: the inlined library's
    own strings) no src= or href= other than the page's own #anchors."""
    scripts = re.findall(r"<script([^>]*)>", text)
    assert scripts and not [s for s in scripts if "src" in s], "every script is inline"
    markup = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.DOTALL)
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", markup)
    assert links and [u for u in links if not u.startswith("#")] == [], "the report links outside itself"
    assert "<link" not in markup


@pytest.mark.slow
@pytest.mark.parametrize("which", ["base", "sweep"])
def test_report_renders_in_headless_chromium(which, base_result_dir, smoke_sweep_dir, tmp_path):
    folder, sections = (base_result_dir, SOLVE_SECTIONS) if which == "base" else (smoke_sweep_dir, SWEEP_SECTIONS)
    proc = report_cli(str(folder))
    assert proc.returncode == 0, proc.stderr
    report = folder / "report.html"
    assert report.is_file() and str(report) in proc.stdout.replace("\n", "")
    text = report.read_text(encoding="utf-8")
    for section in sections:
        assert f'<section id="{section}">' in text
    check_self_contained(text)
    assert text.count("plotly.js v") >= 1, "plotly.js is inlined"

    seen = render(report, tmp_path / "profile", sections, f"report-{which}")
    assert seen["console"] == [] and seen["pageerror"] == [] and seen["failed"] == [], seen
    assert seen["requests"] and all(u.startswith("file://") for u in seen["requests"]), seen["requests"]
    assert (SCREENSHOTS / f"report-{which}.png").stat().st_size > 10_000


def test_report_of_a_folder_that_is_not_a_result_exits_2(tmp_path):
    (tmp_path / "notes.txt").write_text("not a result")
    proc = report_cli(str(tmp_path))
    assert proc.returncode == 2
    assert "is not a result folder" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"], "nothing written"
    missing = report_cli(str(tmp_path / "missing"), "--out", str(tmp_path / "r.html"))
    assert missing.returncode == 2 and not (tmp_path / "r.html").exists()


def test_report_out_option_writes_elsewhere(base_result_dir, tmp_path):
    target = tmp_path / "nested" / "base.html"
    target.parent.mkdir()
    proc = report_cli(str(base_result_dir), "--out", str(target))
    assert proc.returncode == 0, proc.stderr
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert [p.name for p in target.parent.iterdir()] == ["base.html"], "no temporary file left behind"
