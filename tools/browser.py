"""Headless Chromium driven by Selenium, for the overlay page's test and benchmark.

Needs Debian's `chromium` and `chromium-driver` (`tools/install_system_deps.sh`) and the `selenium`
package (the `test` extra). `missing()` says what is absent, in words, or returns None.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _find(*names: str) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


CHROMIUM = _find("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMEDRIVER = _find("chromedriver")


def missing() -> str | None:
    if not (CHROMIUM and CHROMEDRIVER):
        return (
            "needs Chromium and its driver (Debian packages chromium, chromium-driver; "
            "`make test` installs them as root via tools/install_system_deps.sh)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium (pip install -e '.[test]')"
    return None


@contextmanager
def headless_chromium(width: int, height: int):
    """A Selenium driver for a headless Chromium whose viewport is width×height CSS pixels and
    whose screenshots keep the page's transparency (no white default background)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    assert CHROMIUM is not None, missing()  # callers check missing() first
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="litecam-chromium-") as profile:
        for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            driver.execute_cdp_cmd(
                "Emulation.setDefaultBackgroundColorOverride", {"color": {"r": 0, "g": 0, "b": 0, "a": 0}}
            )
            yield driver
        finally:
            driver.quit()


def page_state(driver) -> dict:
    """The overlay page's `window.litecam` state (frames, drawn, connected, pageMs, …)."""
    return driver.execute_script("return Object.assign({}, window.litecam || {}, {arrivals: undefined})")
