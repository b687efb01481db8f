"""The report stands on its own: overview header, KPI labels in words, demand against capacity with the
unserved demand stated, marginal value of capacity, sourcing by year, cost parts on their own scale, a
landed-cost table that stays on the page, $M axes without SI suffixes, an infeasible result's explanation,
a sweep's baseline, tornado without zero-swing bars, and `--compare`. Rendered in headless Chromium;
screenshots of the new sections go to results/screenshots/."""

from __future__ import annotations

import pytest
from test_cli import BASE, run
from test_report import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, check_self_contained

pytestmark = pytest.mark.slow


def browse(report, profile, shots: dict[str, str], check=None) -> dict[str, list]:
    """Open ``report``; screenshot each section id in ``shots`` to results/screenshots/<name>.png; run
    ``check(page)``; return the console errors, page errors and failed requests."""
    from playwright.sync_api import sync_playwright

    seen: dict[str, list] = {"console": [], "pageerror": [], "failed": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM),
                                                        args=CHROMIUM_ARGS, headless=True,
                                                        viewport={"width": 1280, "height": 900})
        try:
            page = browser.new_page()
            page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["pageerror"].append(str(e)))
            page.on("requestfailed", lambda r: seen["failed"].append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_timeout(500)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for section, name in shots.items():
                loc = page.locator(f"section#{section}")
                loc.scroll_into_view_if_needed()
                loc.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
            if check:
                check(page)
        finally:
            browser.close()
    return seen


@pytest.fixture(scope="module")
def tight_and_base(tmp_path_factory):
    """The base case, and the base case with its total budget cut to $100M (the base plan spends $170M, so
    the budget binds and demand goes unserved), both solved through the CLI."""
    root = tmp_path_factory.mktemp("reports")
    base, tight = root / "base", root / "tight"
    assert run("solve", str(BASE), "--out", str(base), "--threads", "2").returncode == 0
    proc = run("solve", str(BASE), "--out", str(tight), "--threads", "2", "--set", "total_budget_musd=100")
    assert proc.returncode == 0, proc.stderr
    return base, tight


def test_solve_report_sections_and_compare(tight_and_base, tmp_path):
    base, tight = tight_and_base
    report = tmp_path / "tight.html"
    proc = run("report", str(tight), "--compare", str(base), "--out", str(report))
    assert proc.returncode == 0, proc.stderr
    text = report.read_text(encoding="utf-8")
    check_self_contained(text)
    for section in ("overview", "compare", "kpis", "demand", "marginal-value", "sourcing", "costs", "landed-cost"):
        assert f'<section id="{section}">' in text, section
    assert "Nissan / Envision AESC base case" in text  # the description
    assert "total budget musd</th><td>100" in text and "overrides</th><td>total_budget_musd=100" in text
    assert "Total cost, discounted" in text and "Share of demand served" in text
    assert "Unserved demand:" in text and "GWh of demand unserved" in text
    for chart in ("chart-demand", "chart-marginal-value", "chart-sourcing-year", "chart-cost-parts"):
        assert f'id="{chart}"' in text

    def check(page):
        for chart in ("demand", "marginal-value", "sourcing-year", "cost-parts", "costs"):
            page.locator(f"#chart-{chart} svg.main-svg").first.wait_for(state="visible", timeout=20_000)
        ticks = page.locator("#chart-costs .ytick text").all_text_contents()
        assert ticks and not [t for t in ticks if t.rstrip().endswith("k")], ticks  # 14,560 not 14.56k
        # the landed-cost table scrolls inside its box: the page itself is no wider than the window
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    seen = browse(report, tmp_path / "profile", {
        "overview": "report-overview", "compare": "report-compare", "demand": "report-demand",
        "marginal-value": "report-marginal-value", "costs": "report-costs", "sourcing": "report-sourcing-year",
        "landed-cost": "report-landed-cost"}, check)
    assert seen == {"console": [], "pageerror": [], "failed": []}, seen


def test_infeasible_report_shows_its_explanation(tmp_path):
    out = tmp_path / "infeasible"
    proc = run("solve", str(BASE), "--out", str(out), "--threads", "2", "--set", "demand=hard",
               "--set", "total_budget_musd=0")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert run("report", str(out)).returncode == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="explanation">' in text and "Feasible only with these relaxations:" in text
    seen = browse(out / "report.html", tmp_path / "profile", {"explanation": "report-explanation"})
    assert seen == {"console": [], "pageerror": [], "failed": []}, seen


def test_sweep_baseline_and_tornado(smoke_sweep_dir, tmp_path):
    report = tmp_path / "sweep.html"
    assert run("report", str(smoke_sweep_dir), "--out", str(report)).returncode == 0
    text = report.read_text(encoding="utf-8")
    assert "Single-plan sections show the base case." in text
    named = tmp_path / "named.html"
    proc = run("report", str(smoke_sweep_dir), "--out", str(named), "--baseline", "ibaraki_slips_2y")
    assert proc.returncode == 0, proc.stderr
    assert "show case ibaraki_slips_2y (chosen as the baseline)" in named.read_text(encoding="utf-8")
    bad = run("report", str(smoke_sweep_dir), "--out", str(tmp_path / "x.html"), "--baseline", "nosuch")
    assert bad.returncode == 2 and "'nosuch' is not a case with a solution" in bad.stderr
    assert not (tmp_path / "x.html").exists()

    import optimizer

    tornado = optimizer.load_results(smoke_sweep_dir).tornado()
    moving = int((tornado["swing"].abs() > 1e-9 * tornado["reference"].abs()).sum())

    def check(page):
        bars = page.locator("#chart-tornado g.trace.bars").count()
        assert bars == 2  # low and high traces
        points = page.locator("#chart-tornado g.trace.bars g.point").count()
        assert points == 2 * moving, (points, tornado)

    seen = browse(report, tmp_path / "profile", {"overview": "report-sweep-overview", "tornado": "report-tornado"},
                  check)
    assert seen == {"console": [], "pageerror": [], "failed": []}, seen
