"""The status page in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): log in, see a failed job, click Retry and see it queued; link a waiting customer from
the form. The failures are real: a simulated session leaves a 3140 and a 3100.

Without the browser the tests skip, saying why; under CI (CI set) they fail instead, since
.ci/run installs it. Selenium never downloads anything: the driver's path is given and
SE_OFFLINE is set. Screenshots go to STATUS_SCREENSHOTS (a directory) when it is set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from qbwc_server.admin import tokens
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushes import make_shop
from tests.status_pages import job_status, make_trouble

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: How long to wait for a page to show what a click asked for (a wait, not a timing assertion).
WAIT_SECONDS = 20
#: Keeps Chromium off the network: no updates, sync, metrics or first-run calls beyond loopback.
QUIET = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-extensions",
    "--metrics-recording-only",
    "--window-size=1280,1000",
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI: .ci/run installs chromium and chromium-driver)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        _unavailable(f"{' and '.join(missing)} not installed: apt-get install -y chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed: pip install -e '.[test]'")
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    for name in ("NO_PROXY", "no_proxy"):  # chromedriver is on loopback: never through a proxy
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"])))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in QUIET:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> None:
    """The whole page, into STATUS_SCREENSHOTS/status-<name>.png when that is set."""
    folder = os.environ.get("STATUS_SCREENSHOTS")
    if not folder:
        return
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(700, int(height) + 200))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(Path(folder) / f"status-{name}.png"))
    driver.set_window_size(1280, 1000)


def wait_for_text(driver: Any, css: str, words: str) -> Any:
    """The first element matching `css` whose text holds `words`, once the page shows it."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d: Any) -> Any:
        found = [e for e in d.find_elements(By.CSS_SELECTOR, css) if words in e.text]
        return found[0] if found else False

    # The page being left may be read half-way: its elements go stale; the next look finds the new one.
    wait = WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,))
    return wait.until(shown, f"{words!r} never appeared in {css}")


def log_in(driver: Any, base_url: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/status/login")
    assert "Log in" in driver.title
    driver.find_element(By.ID, "token").send_keys("qbwa_not-a-token")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_text(driver, ".flash-error", "That is not a valid admin token.")
    screenshot(driver, "login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_text(driver, "h1", "Companies")


def test_an_admin_retries_a_failed_order_and_links_a_waiting_customer(
    browser: Any,
    server: BackgroundServer,
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shop = make_shop(server, make_tenant, engine)
    trouble = make_trouble(shop)
    log_in(browser, server.base_url, tokens.issue_admin_token(engine))

    browser.find_element(By.LINK_TEXT, shop.tenant.name).click()
    failed = wait_for_text(browser, f"#job-{trouble.missing_sku_job}", "3140")
    assert "Add the item WIDGET-NOWHERE in QuickBooks" in failed.text
    assert "Needs attention" in browser.find_element(By.CSS_SELECTOR, "h1 .badge").text
    screenshot(browser, "tenant")

    failed.find_element(By.XPATH, ".//button[normalize-space()='Retry']").click()
    wait_for_text(browser, ".flash-ok", f"Job {trouble.missing_sku_job} (orders.push) is queued again")
    assert job_status(engine, trouble.missing_sku_job) == "queued"
    row = wait_for_text(browser, f"#customer-{trouble.waiting_customer}", "already named")  # page loaded
    assert not browser.find_elements(By.ID, f"job-{trouble.missing_sku_job}"), "gone from the failures"
    queued = browser.find_element(By.ID, "queue-queued").text
    assert int(queued.split()[0]) >= 1
    Select(row.find_element(By.TAG_NAME, "select")).select_by_value(trouble.quickbooks_list_id)
    row.find_element(By.XPATH, ".//button[normalize-space()='Link']").click()
    wait_for_text(browser, ".flash-ok", f"is linked to QuickBooks customer {trouble.quickbooks_list_id}")
    wait_for_text(browser, "#mapping", "No customer waits for a mapping.")
    assert shop.row("customers", trouble.waiting_customer)["qb_list_id"] == trouble.quickbooks_list_id
    assert job_status(engine, trouble.held_order_job) == "queued", "the order held behind it goes too"
    screenshot(browser, "after")


def test_a_status_link_shows_the_page_without_a_button(
    browser: Any,
    server: BackgroundServer,
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
) -> None:
    from selenium.webdriver.common.by import By

    shop = make_shop(server, make_tenant, engine)
    make_trouble(shop)
    token = tokens.issue_status_link(engine, shop.tenant.name)
    browser.get(f"{server.base_url}/status/t/{token}")
    wait_for_text(browser, "#failures", "WIDGET-NOWHERE")
    assert "Read-only" in browser.find_element(By.TAG_NAME, "main").text
    assert (
        browser.find_elements(By.TAG_NAME, "form") == []
        and browser.find_elements(By.TAG_NAME, "button") == []
    )
    screenshot(browser, "link")
