"""Headless Chromium (Debian's `chromium` and `chromium-driver`) through Selenium, with what the
checks need besides clicking: the HTTP status and exact bytes of each document the browser loaded
(read back over the DevTools protocol), and full-page screenshots."""

import base64
import json
import os

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 900


class Document:
    """The main document the browser shows: final URL, status, headers and body bytes as served,
    and the statuses of any redirects that led to it."""

    def __init__(self, url, status, headers, body, redirects):
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body
        self.redirects = redirects


class Browser:
    """One Chromium, with JavaScript on or off (the content-settings pref a managed profile uses)."""

    def __init__(self, javascript, screenshots):
        self.javascript = javascript
        self.screenshots = screenshots
        os.makedirs(screenshots, exist_ok=True)
        options = Options()
        options.binary_location = CHROMIUM
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=%d,%d" % (WIDTH, HEIGHT), "--lang=en-US", "--hide-scrollbars"]:
            options.add_argument(argument)
        if not javascript:
            options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
        # The performance log carries the Network events that name each document's request; the
        # browser log says why a navigation was refused (a Content-Security-Policy violation).
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(20)
        self.driver.set_script_timeout(20)
        self.document = None
        self.default_size = (WIDTH, HEIGHT)

    def quit(self):
        self.driver.quit()

    # Navigation ----------------------------------------------------------------------------------

    def open(self, url):
        """Loads `url` and returns its Document."""
        self._drain_log()
        self.driver.get(url)
        return self._read_document()

    def fill(self, fields):
        """Types each value into the field of that `name` (a <select> gets the option of that value)."""
        for name, value in fields.items():
            element = self.driver.find_element(By.NAME, name)
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, "option[value='%s']" % value).click()
            else:
                element.clear()
                element.send_keys(value)

    def press(self, action, until=None):
        """Clicks the submit button `name="action" value=action` and waits for the next page
        (or until `until(driver)` holds, for a page of another site). Returns its Document."""
        button = self.driver.find_element(By.CSS_SELECTOR, "button[name=action][value=%s]" % action)
        return self._submit(lambda: button.click(), repr(action), until)

    def press_enter(self, name, until=None):
        """Presses Enter in the field `name` (the form's implicit submission: its first submit
        button) and waits for the next page. Returns its Document."""
        field = self.driver.find_element(By.NAME, name)
        return self._submit(lambda: field.send_keys(Keys.ENTER), "Enter in %s" % name, until)

    def press_named(self, name, value, until=None):
        """Clicks the submit button `name=name value=value` (the test bank's `decision`) and waits
        for the next page. Returns its Document."""
        button = self.driver.find_element(By.CSS_SELECTOR, "button[name=%s][value=%s]" % (name, value))
        return self._submit(lambda: button.click(), "%s=%s" % (name, value), until)

    def _submit(self, act, what, until):
        self._drain_log()
        page = self.driver.find_element(By.TAG_NAME, "html")
        try:
            act()
        except WebDriverException as error:
            # The click went through but the page was already being replaced when chromedriver
            # looked back at the button; the wait below tells whether a new page came.
            if "does not belong to the document" not in str(error):
                raise
        # While a page is being replaced chromedriver may answer with such transient errors too.
        wait = WebDriverWait(self.driver, 20, ignored_exceptions=(WebDriverException,))
        try:
            wait.until(until or expected_conditions.staleness_of(page))
        except TimeoutException:
            console = [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]
            raise AssertionError("pressing %s led to no new page within 20 s; still at %s%s" % (
                what, self.driver.current_url, "; console: " + " | ".join(console)[:400] if console else ""))
        wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")
        return self._read_document()

    def text(self, selector="body"):
        """Rendered text of the first element matching `selector` ('' when there is none)."""
        found = self.driver.find_elements(By.CSS_SELECTOR, selector)
        return found[0].text if found else ""

    def value(self, name):
        return self.driver.find_element(By.NAME, name).get_attribute("value")

    # Served bytes --------------------------------------------------------------------------------

    def _drain_log(self):
        self.driver.get_log("performance")
        self.driver.get_log("browser")

    def _read_document(self):
        """The last main document received since the log was drained, with its body."""
        response, request_id, redirects = None, None, {}
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if params.get("type") != "Document":
                continue
            if message.get("method") == "Network.requestWillBeSent" and "redirectResponse" in params:
                redirects.setdefault(params["requestId"], []).append(params["redirectResponse"]["status"])
            elif message.get("method") == "Network.responseReceived":
                response, request_id = params["response"], params["requestId"]
        if response is None:
            raise AssertionError("the browser received no document (at %s)" % self.driver.current_url)
        body = self.driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})
        data = base64.b64decode(body["body"]) if body.get("base64Encoded") else body["body"].encode("utf-8")
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.document = Document(response["url"], response["status"], headers, data, redirects.get(request_id, []))
        return self.document

    # Pictures ------------------------------------------------------------------------------------

    def screenshot(self, name):
        """Writes the whole page (not only the window) to `<screenshots>/<name>.png`; returns the path."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width = self.driver.execute_script("return window.innerWidth")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": max(size["height"], 1), "scale": 1}})
        path = os.path.join(self.screenshots, name + ".png")
        with open(path, "wb") as file:
            file.write(base64.b64decode(shot["data"]))
        return path

    def resize(self, width, height=HEIGHT):
        self.driver.set_window_size(width, height)
