#!/usr/bin/env python3
"""An end-to-end test a merchant would copy: the checkout server as a throwaway fixture.

It starts `checkout serve --db :memory: --port 0 --fixtures fixtures.json`, reads the URL from the
first line, and drives the hosted pages with plain HTTP, as a customer's browser would: open a
payment link, submit the form with a test card, follow the redirect to the receipt, then ask the
API what happened. Python's standard library only.

    CHECKOUT_BIN=/path/to/checkout python3 test_checkout.py

CHECKOUT_BIN defaults to the debug build of this repository (../../.build/debug/checkout).
"""
import html.parser
import json
import os
import subprocess
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.environ.get("CHECKOUT_BIN", os.path.join(HERE, "..", "..", ".build", "debug", "checkout"))

# What fixtures.json chose, so the test can hard-code it.
TEST_KEY = "sk_test_acmeFixtureKey000000000001"
PRO_LINK = "pl_acmeProMonthly00000001"
PRO_PAGE = "/acme/test/pro"
ORDER_PAGE = "/c/acmeOrderToken0000000000000001"
ORDER_SESSION = "cs_acmeOrder0000000000001"
TEST_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


class Form(html.parser.HTMLParser):
    """The fields of the page's form: every named input with its value."""

    def __init__(self, page):
        super().__init__()
        self.fields = {}
        self.feed(page)

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if tag == "input" and "name" in attributes:
            self.fields[attributes["name"]] = attributes.get("value") or ""


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hands 3xx answers back to the test, so it can check where they point."""

    def redirect_request(self, *arguments):
        return None


class CheckoutFixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = subprocess.Popen(
            [BINARY, "serve", "--db", ":memory:", "--port", "0", "--log-level", "warning",
             "--fixtures", os.path.join(HERE, "fixtures.json")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = cls.server.stdout.readline().strip()
        if not first.startswith("listening on "):
            cls.server.kill()
            raise RuntimeError(f"the server did not start: {first}")
        cls.url = first.removeprefix("listening on ")
        cls.http = urllib.request.build_opener(NoRedirects)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)

    def request(self, method, path, form=None, api=None):
        """One request; returns (status, headers, body text). `form` is sent as the page's form,
        `api` as a JSON API call with the test key."""
        headers, data = {}, None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = urllib.parse.urlencode(form).encode()
        if api is not None:
            headers["Authorization"] = f"Bearer {TEST_KEY}"
            if api:
                headers["Content-Type"] = "application/json"
                data = json.dumps(api).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with self.http.open(request, timeout=10) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def pay(self, page, card, email="ada@example.com"):
        """Opens `page` and submits its form as a customer with `card`."""
        status, _, body = self.request("GET", page)
        self.assertEqual(status, 200, body)
        fields = Form(body).fields
        fields.update(email=email, name="Ada Lovelace", card_number=card, card_expiry="12/39", card_cvc="123")
        return self.request("POST", page, form=fields)

    def test_a_customer_pays_the_pro_plan_and_the_merchant_sees_it(self):
        status, headers, _ = self.pay(PRO_PAGE, TEST_CARD, email="buyer@example.com")
        self.assertEqual(status, 303)
        receipt = headers["Location"]
        status, _, body = self.request("GET", receipt)
        self.assertEqual(status, 200)
        self.assertIn("Payment received", body)

        status, _, body = self.request("GET", f"/v1/test_helpers/last_completion?link={PRO_LINK}", api={})
        self.assertEqual(status, 200, body)
        session = json.loads(body)
        self.assertEqual(session["status"], "complete")
        self.assertEqual(session["customerEmail"], "buyer@example.com")
        self.assertEqual((session["amountTotal"], session["currency"]), (150000, "NGN"))
        self.assertEqual(receipt, f"/c/{session['token']}")

    def test_a_declined_card_is_not_charged(self):
        status, _, body = self.pay(PRO_PAGE, DECLINED_CARD, email="declined@example.com")
        self.assertEqual(status, 402)
        self.assertIn("Your card was declined.", body)
        _, _, body = self.request("GET", f"/v1/test_helpers/last_completion?link={PRO_LINK}", api={})
        self.assertNotIn("declined@example.com", body)

    def test_an_order_expires_when_the_test_clock_moves_past_it(self):
        status, _, _ = self.request("GET", ORDER_PAGE)
        self.assertEqual(status, 200)
        status, _, body = self.request("POST", "/v1/test_helpers/clock", api={"advance_seconds": 2 * 86400})
        self.assertEqual(status, 200, body)
        status, _, body = self.request("GET", ORDER_PAGE)
        self.assertEqual(status, 410)
        _, _, body = self.request("GET", "/v1/events?type=checkout.session.expired", api={})
        # Sessions made by other tests' attempts (a declined card leaves its session open) may
        # expire with it; this order's session must be among them, once.
        expired = [event["data"]["object"]["id"] for event in json.loads(body)["data"]]
        self.assertEqual(expired.count(ORDER_SESSION), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
