"""A real browser pays a checkout session and follows the merchant's success redirect.

The hosted page sends `Content-Security-Policy: form-action 'self' <success origin>`. Browsers
apply form-action to the redirect that follows a form submission too, so this passes only if the
server names the success URL's origin in the policy: without it Chromium stops at the checkout.

Run by scripts/browser-tests.sh (which installs Chromium, chromedriver and Selenium).
"""

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("CHECKOUT_BINARY", os.path.join(ROOT, ".build", "debug", "checkout"))
SHOTS = os.environ.get("SCREENSHOT_DIR", os.path.join(ROOT, "bench-out", "browser"))


class Merchant(http.server.BaseHTTPRequestHandler):
    """The merchant's own site, on another origin: it only says thanks."""

    def do_GET(self):
        body = b"<!DOCTYPE html><html lang=en><title>Thanks</title><h1>Thanks for your order</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_checkout():
    process = subprocess.Popen(
        [BINARY, "serve", "--port", "0", "--db", ":memory:", "--demo", "--resources", ROOT, "--log-level", "warning"],
        stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().split()[-1]
    key = None
    while key is None:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("server exited before printing its demo key")
        if "test key:" in line:
            key = line.split()[-1]
    return process, url, key


def api(url, key, path, body):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": "Bearer " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def browser(javascript=True):
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=390,1100"]:
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def pay(driver, url, card="4242 4242 4242 4242"):
    driver.get(url)
    for name, value in [("email", "ada@example.com"), ("name", "Ada Lovelace"), ("card_number", card),
                        ("card_expiry", "12/39"), ("card_cvc", "123")]:
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "button[name=action][value=pay]").click()


def main():
    os.makedirs(SHOTS, exist_ok=True)
    merchant = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Merchant)
    threading.Thread(target=merchant.serve_forever, daemon=True).start()
    merchant_origin = "http://127.0.0.1:%d" % merchant.server_address[1]
    server, url, key = start_checkout()
    passed, failed = 0, 0
    try:
        for javascript in (True, False):
            label = "js" if javascript else "nojs"
            session = api(url, key, "/v1/checkout/sessions", {
                "amount": 150000, "successUrl": merchant_origin + "/thanks?cs={CHECKOUT_SESSION_ID}"})
            driver = browser(javascript)
            try:
                pay(driver, session["url"])
                WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(merchant_origin))
                query = urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query)
                assert query.get("cs") == [session["id"]], driver.current_url
                assert "Thanks for your order" in driver.page_source
                driver.save_screenshot(os.path.join(SHOTS, "redirect-%s.png" % label))
                print("ok: redirect to the merchant under the page's CSP (JavaScript %s)" % ("on" if javascript else "off"))
                passed += 1
            except Exception as error:  # noqa: BLE001 - report and go on to the next case
                driver.save_screenshot(os.path.join(SHOTS, "redirect-%s-failed.png" % label))
                print("FAILED: redirect (JavaScript %s): %r at %s" % ("on" if javascript else "off", error, driver.current_url))
                failed += 1
            finally:
                driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=10)
        merchant.shutdown()
    print("browser: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
