"""The HTML report opens in headless Chromium with no console error, broken link or broken image."""

import os
import shutil

import pytest

from support.browser_check import check_pages


def test_index_and_notebook_pages_load_cleanly_in_chromium(cli, reports_dir):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("PAPER_REPRO_REQUIRE_BROWSER"):
            pytest.fail("chromium/chromedriver missing although `make test` installs them")
        pytest.skip("chromium and chromedriver are not installed (make system)")
    r = cli(["run", "tour", "--scale", "smoke"])
    assert r.returncode == 0, r.stderr
    pages = [reports_dir / "index.html", reports_dir / "00_tour/00_tour.html"]
    assert check_pages(pages) == []
    assert (reports_dir / "index.png").stat().st_size > 10_000  # the screenshot


def test_the_check_catches_a_broken_image_and_link(tmp_path):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("chromium and chromedriver are not installed (make system)")
    page = tmp_path / "bad.html"
    page.write_text('<html><body><a href="missing.html">x</a><img src="nope.png"></body></html>')
    problems = check_pages([page], screenshots=False)
    assert any("broken link" in p for p in problems)
    assert any("broken image" in p for p in problems)
