"""The HTML report opens in headless Chromium with no console error, broken link or broken image; the notebook
page shows its claims in full."""

import html
import json
import os
import shutil

import pytest

from support.browser_check import check_pages
from support.report import build_index


def test_index_and_notebook_pages_load_cleanly_in_chromium(cli, reports_dir):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("PAPER_REPRO_REQUIRE_BROWSER"):
            pytest.fail("chromium/chromedriver missing although `make test` installs them")
        pytest.skip("chromium and chromedriver are not installed (make system)")
    r = cli(["run", "tour", "--scale", "smoke"])
    assert r.returncode == 0, r.stderr
    failed = reports_dir / "00_tour/failed"  # a later failed run kept beside the OK one: the index links it
    failed.mkdir()
    shutil.copy(reports_dir / "00_tour/00_tour.html", failed)
    meta = json.loads((reports_dir / "00_tour/run.json").read_text())
    (failed / "run.json").write_text(json.dumps({**meta, "status": "failed", "error": "cell 3: ValueError: x"}))
    index = build_index(reports_dir)
    assert 'href="00_tour/failed/00_tour.html"' in index.read_text()
    pages = [index, reports_dir / "00_tour/00_tour.html"]
    assert check_pages(pages) == []
    assert (reports_dir / "index.png").stat().st_size > 10_000  # the screenshot


def test_notebook_page_shows_the_claims_in_full(cli, reports_dir):
    """Audit user finding 2: the notebook's claims table (and so its HTML page) cut text at 50 characters."""
    from support.tour.claims import CLAIMS

    r = cli(["run", "tour", "--scale", "smoke", "--no-report"])
    assert r.returncode == 0, r.stderr
    page = (reports_dir / "00_tour/00_tour.html").read_text()
    assert html.escape(CLAIMS["mc_z"].statement, quote=False) in page  # 71 characters


def test_the_check_catches_a_broken_image_and_link(tmp_path):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("chromium and chromedriver are not installed (make system)")
    page = tmp_path / "bad.html"
    page.write_text('<html><body><a href="missing.html">x</a><img src="nope.png"></body></html>')
    problems = check_pages([page], screenshots=False)
    assert any("broken link" in p for p in problems)
    assert any("broken image" in p for p in problems)


def test_a_click_shows_a_fitted_figure_at_full_size_and_another_click_fits_it_again(cli, reports_dir):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("chromium and chromedriver are not installed (make system)")
    from support.browser_check import chromium

    r = cli(["run", "tour", "--scale", "smoke", "--no-report"])
    assert r.returncode == 0, r.stderr
    with chromium() as driver:
        driver.set_window_size(480, 900)  # narrower than the figures: they are fitted to the page
        driver.get((reports_dir / "00_tour/00_tour.html").resolve().as_uri())
        img = driver.find_element("css selector", ".jp-RenderedImage img")
        natural = driver.execute_script("return arguments[0].naturalWidth", img)
        fitted = img.size["width"]
        assert 0 < fitted < natural
        driver.execute_script("arguments[0].click()", img)
        assert "full-size" in img.get_attribute("class") and img.size["width"] == natural
        driver.execute_script("arguments[0].click()", img)
        assert img.size["width"] == fitted
