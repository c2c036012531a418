"""Open report pages in headless Chromium; fail on console errors, broken links or broken images.

``python -m support.browser_check reports/index.html [more.html ...]`` also saves a screenshot
beside each page (``<page>.png``). Needs Debian's ``chromium`` and ``chromium-driver``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,1600")


class BrowserMissing(RuntimeError):
    """Chromium or ChromeDriver is not installed."""


def find_browser() -> tuple[str, str]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chrome or not driver:
        raise BrowserMissing("headless check needs chromium and chromedriver (apt-get install chromium "
                             "chromium-driver)")
    return chrome, driver


@contextmanager
def chromium():
    """A headless Chromium WebDriver (the project's flags, a throwaway profile, browser console logged), quit and
    its profile removed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chrome, driver_path = find_browser()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for f in CHROMIUM_FLAGS:
        opts.add_argument(f)
    profile = tempfile.mkdtemp(prefix="pr-chrome-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def check_pages(pages: list[Path], screenshots: bool = True) -> list[str]:
    """Load each page; return the problems found (empty list: all good)."""
    from selenium.webdriver.common.by import By

    problems: list[str] = []
    with chromium() as driver:
        for page in pages:
            page = Path(page).resolve()
            if not page.is_file():
                problems.append(f"{page}: missing")
                continue
            driver.get(page.as_uri())
            for entry in driver.get_log("browser"):
                if entry.get("level") in ("SEVERE", "ERROR"):
                    problems.append(f"{page.name}: console error: {entry.get('message')}")
            for a in driver.find_elements(By.CSS_SELECTOR, "a[href]"):
                href = a.get_attribute("href") or ""
                url = urlparse(href)
                if url.scheme == "file" and not Path(unquote(url.path)).exists():
                    problems.append(f"{page.name}: broken link {href}")
            for img in driver.find_elements(By.TAG_NAME, "img"):
                ok = driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                if not ok:
                    problems.append(f"{page.name}: broken image {(img.get_attribute('src') or '')[:80]}")
            if screenshots:
                driver.save_screenshot(str(page.with_suffix(".png")))
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m support.browser_check PAGE.html [PAGE.html ...]", file=sys.stderr)
        return 2
    try:
        problems = check_pages([Path(a) for a in argv])
    except BrowserMissing as e:
        print(f"browser_check: {e}", file=sys.stderr)
        return 2
    for p in problems:
        print(f"browser_check: {p}", file=sys.stderr)
    print(f"browser_check: {len(argv)} page(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
