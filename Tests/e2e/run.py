"""End-to-end checks of the hosted pages in a real browser: customer journeys, accessibility
(axe-core and our own checks), HTML validity (html5lib). Run by `make e2e` (scripts/e2e.sh, which
installs Chromium, chromedriver and the pinned Python packages first).

    .venv/bin/python Tests/e2e/run.py [--out DIR]

Prints one line per check (PASS/FAIL, the check, the page state and mode, the detail or why it
failed), then the failures again, where the screenshots are, and `e2e: N passed, N failed`.
Exits 1 when a check failed. Environment: CHECKOUT_BINARY (default .build/debug/checkout),
CHROMIUM, CHROMEDRIVER, E2E_DEBUG=1 for tracebacks."""

import argparse
import os
import shutil
import signal
import sys
import tempfile

import flows
from browser import Browser
from report import Report
from servers import CheckoutServer, MerchantSite

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "e2e-out"), help="folder for screenshots and the report")
    arguments = parser.parse_args()
    binary = os.environ.get("CHECKOUT_BINARY", os.path.join(ROOT, ".build", "debug", "checkout"))
    screenshots = os.path.join(arguments.out, "screenshots")
    shutil.rmtree(screenshots, ignore_errors=True)
    os.makedirs(screenshots)
    report = Report(os.path.join(arguments.out, "report.txt"))
    # A TERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the servers and browsers below stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = tempfile.mkdtemp(prefix="checkout-e2e.")
    try:
        with MerchantSite() as merchant, CheckoutServer(binary, ROOT, workdir) as server:
            report.line("e2e: checkout %s (%s), merchant site %s" % (server.url, os.path.relpath(binary, ROOT),
                                                                      merchant.origin))
            try:
                flows.http_pass(report, server, merchant)
            except Exception as error:  # noqa: BLE001 - report it and go on with the browsers
                report.fail("http", "plain-HTTP pass (urllib)", "stopped: %s: %s" % (type(error).__name__, error))
            for javascript in (True, False):
                browser = Browser(javascript, os.path.join(screenshots, "js-on" if javascript else "js-off"))
                try:
                    flows.browser_pass(report, browser, server, merchant)
                finally:
                    browser.quit()
    except Exception as error:  # noqa: BLE001 - e.g. the server or the browser did not start
        report.fail("setup", "e2e run", "%s: %s" % (type(error).__name__, error))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report.close(os.path.relpath(screenshots))


if __name__ == "__main__":
    sys.exit(main())
