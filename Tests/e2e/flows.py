"""The customer journeys: objects made through the JSON API with a test key, pages opened and
filled by their documented field names, and what the customer sees then asserted. Each page
state is then audited (audits.py). The same states are also fetched with plain HTTP (urllib's
http.client), to check the served bytes and statuses without a browser.

Merchant texts carry markup-like characters on purpose: they must reach the customer as text."""

import os
import re
import traceback
import urllib.parse

import audits
from servers import request

PAYMENT_LINK_DESCRIPTION = "Pro Plan – Monthly <beta> & more"
TITLE = "SwiftConf 2027 <Ticket>"
DESCRIPTION = "Two days of talks & <b>workshops</b></p>"
WORKSHOP = "Workshop <advanced>"
CONFIRMATION = "See you there!\nBring this receipt & <i>your badge</i>."
SOLD_OUT = "Tickets are sold out <for now>."
GOOD_CARD, DECLINED_CARD, BANK_CARD = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0027 6000 3184"
CUSTOMER = {"email": "ada@example.com", "name": "Ada Lovelace", "card_number": GOOD_CARD,
            "card_expiry": "12/39", "card_cvc": "123"}
ADDRESS = {"address_line1": "1 Marina Road", "address_city": "Lagos", "address_postal_code": "101001",
           "address_country": "NG"}


def must(condition, message):
    if not condition:
        raise AssertionError(message)


def status_is(doc, status, redirects=()):
    must(doc.status == status, "HTTP %d, expected %d (at %s)" % (doc.status, status, doc.url))
    must(list(doc.redirects) == list(redirects), "redirects %s, expected %s" % (doc.redirects, list(redirects)))


# --- objects through the API ----------------------------------------------------------------------

def make_payment_link(server, description=PAYMENT_LINK_DESCRIPTION, amount=29.99):
    return server.api("POST", "/v1/payment-links", {
        "amount_usd": amount, "payment_method_id": "pm_e2e", "description": description})


def make_session(server, success_url=None):
    body = {"amount": 150000, "currency": "NGN", "customerEmail": "ada@example.com"}
    if success_url:
        body["successUrl"] = success_url
    return server.api("POST", "/v1/checkout/sessions", body)


def make_address_link(server):
    return server.api("POST", "/v1/checkout_links", {
        "line_items": [
            {"quantity": 2, "price_data": {"currency": "usd", "product": "Conference ticket", "unit_amount": 2500}},
            {"quantity": 1, "price_data": {"currency": "usd", "product": WORKSHOP, "unit_amount": 14900}}],
        "title": TITLE, "description": DESCRIPTION, "currency": "usd",
        "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": CONFIRMATION}},
        "billing_address_collection": "required", "inactive_message": SOLD_OUT,
        "restrictions": {"completed_sessions": {"limit": 1}}, "submit_type": "book"})


def make_promo_link(server, merchant, code):
    server.api("POST", "/v1/promo-codes", {"code": code, "discountType": "percentage", "discountValue": 25})
    return server.api("POST", "/v1/checkout_links", {
        "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "product": "Annual pass", "unit_amount": 10000}}],
        "title": "Members club", "currency": "usd", "allow_promotion_codes": True,
        "billing_address_collection": "required",
        "after_completion": {"type": "redirect", "redirect": {"url": merchant.origin + "/thanks?cs={CHECKOUT_SESSION_ID}"}}})


# --- the browser pass -----------------------------------------------------------------------------

class Steps:
    """The page states of one browser pass, numbered in the order they are reached (the
    screenshots are named by that number)."""

    def __init__(self, report, browser, mode):
        self.report = report
        self.browser = browser
        self.mode = mode
        self.count = 0

    def shot(self, name):
        self.count += 1
        return self.browser.screenshot("%02d-%s" % (self.count, name.replace("/", "-")))

    def state(self, name, doc, expect, errors=(), audit=True):
        """Screenshots the page, asserts what the customer sees, then audits it."""
        self.shot(name)
        shot_name = "%02d-%s" % (self.count, name.replace("/", "-"))
        check = self.report.check
        def flow():
            detail = expect(doc)
            if audit:
                must("default-src 'none'" in doc.headers.get("content-security-policy", ""),
                     "served without its Content-Security-Policy")
            return detail
        check("flow", name, self.mode, flow)
        if not audit:
            return
        check("html5lib", name, self.mode, lambda: audits.validity(doc.body, doc.headers.get("content-type", "")))
        check("axe", name, self.mode, lambda: audits.axe(self.browser))
        check("a11y", name, self.mode, lambda: audits.explicit(self.browser, errors))
        check("focus", name, self.mode, lambda: audits.focus(self.browser))
        check("zoom", name, self.mode, lambda: audits.zoom(self.browser, shot_name))


def scripts_probe(steps, merchant):
    """The browser really has scripts on or off, as this pass says."""
    browser = steps.browser

    def probe():
        browser.open(merchant.origin + "/js-probe")
        expected = "scripts on" if browser.javascript else "scripts off"
        must(browser.text("#probe") == expected, "a page script %s" % (
            "did not run" if browser.javascript else "ran although JavaScript is off"))
        return "Chromium %s, %s" % (browser.driver.capabilities.get("browserVersion"), expected)
    steps.report.check("browser", "javascript", steps.mode, probe)


def payment_link_flow(steps, server, merchant):
    b = steps.browser
    link = make_payment_link(server)
    doc = b.open(link["url"])

    def form(doc):
        status_is(doc, 200)
        must(b.text("h1") == PAYMENT_LINK_DESCRIPTION, "h1 reads %r" % b.text("h1"))
        must("$29.99" in b.text("main"), "no $29.99 on the page")
        must(b.text("button[value=pay]") == "Pay $29.99", "pay button reads %r" % b.text("button[value=pay]"))
        must("Test mode" in b.text(".test-banner"), "no test-mode banner")
        return "200, %r, Pay $29.99, test-mode banner" % PAYMENT_LINK_DESCRIPTION
    steps.state("payment-link/form", doc, form)

    code = "E2E%s10" % ("ON" if b.javascript else "OFF")
    server.api("POST", "/v1/promo-codes", {"code": code, "discountType": "percentage", "discountValue": 10})
    b.fill({"promo_code": code})
    doc = b.press("apply_promo")

    def applied(doc):
        status_is(doc, 200)
        totals = b.text("dl.totals")
        must("−$3.00" in totals and "$26.99" in totals, "totals read %r" % totals)
        must(b.text("button[value=pay]") == "Pay $26.99", "pay button reads %r" % b.text("button[value=pay]"))
        return "200, %s: −$3.00 (10 %% of $29.99, rounded half up), Pay $26.99" % code
    steps.state("payment-link/promo-applied", doc, applied)

    b.fill({"email": "not-an-email", "name": "", "card_number": "4242 4242 4242 4241", "card_expiry": "13/20",
            "card_cvc": "1"})
    steps.shot("payment-link/invalid-typed")
    doc = b.press("pay")
    bad = ["email", "name", "card_number", "card_expiry", "card_cvc"]

    def invalid(doc):
        status_is(doc, 422)
        for name in bad:
            must(b.text("#%s-error" % name), "no message under %s" % name)
        must(b.value("email") == "not-an-email", "the typed email was not kept")
        must(b.value("card_number") == "", "the card number was echoed back")
        return "422, a message under each of %s; email kept, card number not" % ", ".join(bad)
    steps.state("payment-link/invalid", doc, invalid, errors=bad)

    b.fill(dict(CUSTOMER, card_number=DECLINED_CARD))
    doc = b.press("pay")

    def declined(doc):
        status_is(doc, 402)
        must(b.text("[role=alert]").startswith("Your card was declined."), "alert reads %r" % b.text("[role=alert]"))
        must(b.value("name") == "Ada Lovelace" and b.value("email") == "ada@example.com", "typed details lost")
        must(b.value("card_number") == "", "the card number was echoed back")
        return "402, 'Your card was declined.', details kept, card number cleared"
    steps.state("payment-link/declined", doc, declined)

    b.fill(CUSTOMER)
    steps.shot("payment-link/filled")
    doc = b.press("pay")

    def receipt(doc):
        status_is(doc, 200, redirects=[303])
        must(urllib.parse.urlsplit(doc.url).path.startswith("/c/"), "landed on %s, not a /c/ receipt" % doc.url)
        must(b.text("h1") == "Payment received", "h1 reads %r" % b.text("h1"))
        text = b.text("main")
        must("$26.99" in text and "Visa ending in 4242" in text, "receipt lacks amount or card: %r" % text[:200])
        must("Discount (%s)" % code in text and "−$3.00" in text, "receipt lacks the discount")
        must(PAYMENT_LINK_DESCRIPTION in text, "receipt does not name what was bought")
        return "303 → %s…: Payment received, $26.99 after −$3.00, Visa ending in 4242" % urllib.parse.urlsplit(doc.url).path[:12]
    steps.state("payment-link/receipt", doc, receipt)


def session_flow(steps, server, merchant):
    """Pays a session and must land on the merchant's success page. The page's CSP names the
    success URL's origin in form-action; browsers apply form-action to the redirect after a form
    submission too, so without it Chromium would stop at the checkout."""
    b = steps.browser
    session = make_session(server, merchant.origin + "/thanks?cs={CHECKOUT_SESSION_ID}")
    doc = b.open(session["url"])

    def form(doc):
        status_is(doc, 200)
        must(b.value("email") == "ada@example.com", "email not prefilled: %r" % b.value("email"))
        must(b.text("button[value=pay]") == "Pay ₦1,500.00", "pay button reads %r" % b.text("button[value=pay]"))
        return "200, email prefilled, Pay ₦1,500.00"
    steps.state("session/form", doc, form)

    b.fill({k: v for k, v in CUSTOMER.items() if k != "email"})
    steps.shot("session/filled")
    doc = b.press("pay", until=lambda d: d.current_url.startswith(merchant.origin))

    def redirected(doc):
        status_is(doc, 200, redirects=[303])
        target = urllib.parse.urlsplit(doc.url)
        must(target.path == "/thanks", "landed on %s" % doc.url)
        must(urllib.parse.parse_qs(target.query).get("cs") == [session["id"]], "cs is not the session id: " + doc.url)
        must(b.text("h1") == "Thanks for your order", "merchant page not shown")
        return "303 → merchant /thanks?cs=%s under the page's CSP" % session["id"]
    steps.state("session/merchant-redirect", doc, redirected, audit=False)

    doc = b.open(session["url"])

    def receipt(doc):
        status_is(doc, 200)
        text = b.text("main")
        must(b.text("h1") == "Payment received", "h1 reads %r" % b.text("h1"))
        must("₦1,500.00" in text and session["id"] in text and "ada@example.com" in text, "receipt incomplete")
        return "reopened: Payment received, ₦1,500.00, reference %s" % session["id"]
    steps.state("session/receipt", doc, receipt)

    expired = make_session(server)
    server.api("POST", "/v1/checkout/sessions/%s/expire" % expired["id"])
    doc = b.open(expired["url"])

    def gone(doc):
        status_is(doc, 410)
        must(b.text("h1") == "This checkout has expired", "h1 reads %r" % b.text("h1"))
        return "410, This checkout has expired"
    steps.state("session/expired", doc, gone)


def address_link_flow(steps, server, merchant):
    b = steps.browser
    link = make_address_link(server)
    doc = b.open(link["url"])

    def form(doc):
        status_is(doc, 200)
        must(b.text("h1") == TITLE, "title shown as %r" % b.text("h1"))
        must(b.text(".description") == DESCRIPTION, "description shown as %r" % b.text(".description"))
        must(WORKSHOP in b.text("table.items"), "line item %r missing" % WORKSHOP)
        must(b.text("button[value=pay]") == "Book for $199.00", "button reads %r" % b.text("button[value=pay]"))
        for name in ADDRESS:
            b.driver.find_element("name", name)
        return "200, merchant text shown as text, 2 line items, address fields, Book for $199.00"
    steps.state("checkout-link/form", doc, form)

    b.fill(CUSTOMER)
    doc = b.press("pay")
    missing = ["address_line1", "address_city", "address_postal_code", "address_country"]

    def invalid(doc):
        status_is(doc, 422)
        for name in missing:
            must(b.text("#%s-error" % name), "no message under %s" % name)
        return "422, a message under each address field"
    steps.state("checkout-link/address-missing", doc, invalid, errors=missing)

    b.fill(dict(CUSTOMER, **ADDRESS))
    steps.shot("checkout-link/filled")
    doc = b.press("pay")

    def confirmation(doc):
        status_is(doc, 200, redirects=[303])
        must(b.text("h1") == "Payment received", "h1 reads %r" % b.text("h1"))
        message = b.text(".confirmation-message")
        must(message == CONFIRMATION, "confirmation shown as %r" % message)
        must(not b.driver.find_elements("css selector", ".confirmation-message *"), "merchant text became markup")
        must("$199.00" in b.text("main") and "Visa ending in 4242" in b.text("main"), "amount or card missing")
        return "303 → receipt with the custom message (escaped, line break kept), $199.00"
    steps.state("checkout-link/confirmation", doc, confirmation)

    doc = b.open(link["url"])

    def sold_out(doc):
        status_is(doc, 410)
        must(b.text(".message-text") == SOLD_OUT, "message reads %r" % b.text(".message-text"))
        after = server.api("GET", "/v1/checkout_links/" + link["id"])
        must(after["restrictions"]["completed_sessions"] == {"limit": 1, "count": 1} and not after["active"],
             "link after its one sale: %r" % after["restrictions"])
        return "410 with the inactive_message; the link reports count 1 of 1, inactive"
    steps.state("checkout-link/sold-out", doc, sold_out)


def one_form_holding(b, names):
    """The page has exactly one POST form, and every field of `names` is inside it."""
    forms = b.driver.find_elements("css selector", "form[method=post]")
    must(len(forms) == 1, "%d POST forms on the page" % len(forms))
    for name in names:
        must(forms[0].find_elements("name", name), "%s is not inside the form" % name)


def kept(b, fields):
    """Everything typed is still in its field, except the card number and CVC, which are empty."""
    for name, value in fields.items():
        if name in ("card_number", "card_cvc"):
            must(b.value(name) == "", "%s was sent back to the browser" % name)
        elif name == "address_country":
            chosen = b.driver.find_element("css selector", "select[name=address_country] option:checked")
            must(chosen.get_attribute("value") == value, "country reads %r" % chosen.get_attribute("value"))
        else:
            must(b.value(name) == value, "%s reads %r, typed %r" % (name, b.value(name), value))


def promo_link_flow(steps, server, merchant):
    """The customer types everything first, then deals with the code: applying it (or pressing
    Enter in its field) keeps what was typed, and never charges a total the page did not show."""
    b = steps.browser
    code = "E2E%s25" % ("ON" if b.javascript else "OFF")
    link = make_promo_link(server, merchant, code)
    doc = b.open(link["url"])
    typed = dict(CUSTOMER, **ADDRESS)

    def form(doc):
        status_is(doc, 200)
        one_form_holding(b, ["promo_code", "email", "name", "card_number", "address_line1", "csrf_token"])
        must(b.text("button[value=pay]") == "Pay $100.00", "button reads %r" % b.text("button[value=pay]"))
        apply = b.driver.find_element("css selector", "button[name=action][value=apply_promo]")
        must(apply.get_attribute("formnovalidate") is not None, "Apply has no formnovalidate")
        return "200, one form holding the promo field and the rest, Pay $100.00"
    steps.state("promo/form", doc, form)

    b.fill(dict(typed, promo_code="NOSUCHCODE"))
    steps.shot("promo/typed-everything")
    doc = b.press("apply_promo")

    def rejected(doc):
        status_is(doc, 422)
        must(b.text("#promo_code-error"), "no message under the promo code")
        must(b.text("button[value=pay]") == "Pay $100.00", "total changed")
        kept(b, typed)
        return "422, %r under the field; email, name, address kept, card number and CVC cleared" % b.text("#promo_code-error")
    steps.state("promo/rejected", doc, rejected, errors=["promo_code"])

    def sessions_of_link():
        listed = server.api("GET", "/v1/checkout/sessions?limit=100")["data"]
        return [row["id"] for row in listed if row.get("checkoutLinkId") == link["id"]]
    sessions_before = sessions_of_link()
    b.fill({"card_number": GOOD_CARD, "card_cvc": "123", "promo_code": code.lower()})
    doc = b.press_enter("promo_code")

    def entered(doc):
        status_is(doc, 200)
        notice = b.text("#form-notice")
        must(notice == "%s is applied: the total is now $75.00. Check it, then pay." % code, "notice reads %r" % notice)
        must(b.text("button[value=pay]") == "Pay $75.00", "button reads %r" % b.text("button[value=pay]"))
        must(sessions_of_link() == sessions_before, "Enter charged the card")
        kept(b, typed)
        return "Enter in the code field: 200, code applied and the new total shown, nothing charged, fields kept"
    steps.state("promo/enter-applies", doc, entered)

    b.fill({"promo_code": ""})
    b.fill({"promo_code": code.lower()})
    doc = b.press("apply_promo")

    def applied(doc):
        status_is(doc, 200)
        must("−$25.00" in b.text("table.items"), "no −$25.00 discount line")
        must(b.text("button[value=pay]") == "Pay $75.00", "button reads %r" % b.text("button[value=pay]"))
        must(b.value("promo_code") == code, "the code field reads %r" % b.value("promo_code"))
        kept(b, typed)
        return "200, Discount (%s) −$25.00, Pay $75.00, everything typed kept but the card" % code
    steps.state("promo/applied", doc, applied)

    b.fill({"card_number": GOOD_CARD, "card_cvc": "123"})
    doc = b.press("pay", until=lambda d: d.current_url.startswith(merchant.origin))

    def redirected(doc):
        status_is(doc, 200, redirects=[303])
        session_id = urllib.parse.parse_qs(urllib.parse.urlsplit(doc.url).query).get("cs", [""])[0]
        must(session_id.startswith("cs_"), "no session id in %s" % doc.url)
        session = server.api("GET", "/v1/checkout/sessions/" + session_id)
        must((session.get("promoCode"), session.get("discountAmount"), session.get("amountTotal")) == (code, 2500, 7500),
             "session records %r" % {k: session.get(k) for k in ("promoCode", "discountAmount", "amountTotal")})
        return "303 → merchant; session %s paid $75.00 with %s" % (session_id, code)
    steps.state("promo/merchant-redirect", doc, redirected, audit=False)


def bank_flow(steps, server, merchant):
    """The 3-D Secure test card: to the test bank, Fail (the form again with the bank's refusal,
    nothing charged), then Approve on a second try (the receipt)."""
    b = steps.browser
    link = make_payment_link(server, description="Bank checked", amount=12.5)
    b.open(link["url"])
    b.fill(dict(CUSTOMER, card_number=BANK_CARD))
    doc = b.press("pay")

    def bank(doc):
        status_is(doc, 200, redirects=[303])
        must(urllib.parse.urlsplit(doc.url).path.startswith("/test-bank/test_ch_"), "landed on %s" % doc.url)
        must(b.text("h1") == "Confirm a payment of $12.50", "h1 reads %r" % b.text("h1"))
        one_form_holding(b, ["decision", "csrf_token"])
        return "303 → the test bank: Confirm a payment of $12.50, Approve and Fail"
    steps.state("bank/confirm", doc, bank)

    doc = b.press_named("decision", "fail")

    def refused(doc):
        status_is(doc, 402, redirects=[303])
        must(b.text("[role=alert]") == "Your bank did not confirm this payment. Nothing was charged.",
             "alert reads %r" % b.text("[role=alert]"))
        must(b.value("email") == CUSTOMER["email"], "email not kept")
        return "Fail → back at the checkout, 402: Your bank did not confirm this payment. Nothing was charged."
    steps.state("bank/failed", doc, refused)

    b.fill({"card_number": BANK_CARD, "card_expiry": "12/39", "card_cvc": "123"})
    b.press("pay")
    doc = b.press_named("decision", "approve")

    def approved(doc):
        status_is(doc, 200, redirects=[303, 303])
        must(b.text("h1") == "Payment received", "h1 reads %r" % b.text("h1"))
        must("$12.50" in b.text("main"), "amount missing")
        return "Approve → back at the checkout → receipt, $12.50"
    steps.state("bank/approved", doc, approved)


def error_pages_flow(steps, server, merchant):
    b = steps.browser
    link = make_payment_link(server, description="Gift card", amount=5)
    b.open(link["url"])
    b.driver.execute_script("document.querySelector('form [name=csrf_token]').value = 'forged'")
    b.fill(CUSTOMER)
    doc = b.press("pay")

    def forged(doc):
        status_is(doc, 403)
        must(b.text("h1") == "Please reload the page", "h1 reads %r" % b.text("h1"))
        return "403, Please reload the page"
    steps.state("payment-link/forged-token", doc, forged)

    server.api("POST", "/v1/payment-links/" + link["id"], {"active": False})
    doc = b.open(link["url"])

    def inactive(doc):
        status_is(doc, 410)
        must(b.text("h1") == "This checkout is no longer available", "h1 reads %r" % b.text("h1"))
        return "410, This checkout is no longer available"
    steps.state("payment-link/inactive", doc, inactive)

    doc = b.open(server.url + "/pl_doesnotexist000000000000")

    def missing(doc):
        status_is(doc, 404)
        must(b.text("h1") == "Page not found", "h1 reads %r" % b.text("h1"))
        return "404, Page not found"
    steps.state("not-found", doc, missing)


BROWSER_FLOWS = [payment_link_flow, session_flow, address_link_flow, promo_link_flow, bank_flow, error_pages_flow]


def browser_pass(report, browser, server, merchant):
    mode = "js-on" if browser.javascript else "js-off"
    steps = Steps(report, browser, mode)
    scripts_probe(steps, merchant)
    for flow in BROWSER_FLOWS:
        try:
            flow(steps, server, merchant)
        except Exception as error:  # noqa: BLE001 - the rest of the journey cannot go on; say where
            if os.environ.get("E2E_DEBUG"):
                traceback.print_exc()
            path = steps.shot(flow.__name__ + "-stopped")
            report.fail("flow", "%s (%s)" % (flow.__name__, mode), "stopped at %s: %s: %s (screenshot %s)" % (
                browser.driver.current_url, type(error).__name__, str(error).splitlines()[0] if str(error) else "",
                os.path.relpath(path)))


# --- the plain-HTTP pass --------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def csrf(page):
    found = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    must(found, "no csrf_token in the page")
    return found.group(1)


def submit(url, fields, token):
    body = urllib.parse.urlencode(dict(fields, csrf_token=token)).encode()
    return request("POST", url, body, {"Content-Type": FORM})


def http_pass(report, server, merchant):
    """Every state again with http.client (no browser): status, headers, and html5lib on the exact bytes."""
    def served(name, fetch, status, location=None):
        def run():
            answer = fetch()
            must(answer.status == status, "HTTP %d, expected %d" % (answer.status, status))
            if location:
                must(location(answer.headers.get("location", "")), "Location: %r" % answer.headers.get("location"))
                return "%d, Location %s" % (status, answer.headers["location"][:60])
            must(answer.headers.get("content-type") == "text/html; charset=utf-8", "Content-Type %r" % answer.headers.get("content-type"))
            must("default-src 'none'" in answer.headers.get("content-security-policy", ""), "no CSP")
            return "%d, %s" % (status, audits.validity(answer.body, answer.headers["content-type"]))
        report.check("html5lib" if not location else "http", name, "urllib", run)

    get = lambda url: (lambda: request("GET", url))  # noqa: E731

    link = make_payment_link(server)
    page = request("GET", link["url"])
    token = csrf(page)
    served("payment-link/form", get(link["url"]), 200)
    served("payment-link/invalid", lambda: submit(link["url"], {"email": "x", "card_number": "1"}, token), 422)
    served("payment-link/declined", lambda: submit(link["url"], dict(CUSTOMER, card_number=DECLINED_CARD), token), 402)
    server.api("POST", "/v1/promo-codes", {"code": "E2EHTTP10", "discountType": "percentage", "discountValue": 10})
    served("payment-link/promo-applied",
           lambda: submit(link["url"], {"action": "apply_promo", "promo_code": "E2EHTTP10"}, token), 200)
    paid = submit(link["url"], dict(CUSTOMER, promo_code="E2EHTTP10"), token)
    served("payment-link/pay", lambda: paid, 303, lambda to: to.startswith("/c/"))
    served("payment-link/receipt", get(server.url + paid.headers.get("location", "/")), 200)
    served("payment-link/forged-token", lambda: submit(link["url"], CUSTOMER, "forged"), 403)
    server.api("POST", "/v1/payment-links/" + link["id"], {"active": False})
    served("payment-link/inactive", get(link["url"]), 410)
    served("not-found", get(server.url + "/pl_doesnotexist000000000000"), 404)

    session = make_session(server, merchant.origin + "/thanks?cs={CHECKOUT_SESSION_ID}")
    served("session/form", get(session["url"]), 200)
    token = csrf(request("GET", session["url"]))
    served("session/pay", lambda: submit(session["url"], CUSTOMER, token), 303,
           lambda to: to == merchant.origin + "/thanks?cs=" + session["id"])
    served("session/receipt", get(session["url"]), 200)
    expired = make_session(server)
    server.api("POST", "/v1/checkout/sessions/%s/expire" % expired["id"])
    served("session/expired", get(expired["url"]), 410)

    link = make_address_link(server)
    served("checkout-link/form", get(link["url"]), 200)
    token = csrf(request("GET", link["url"]))
    served("checkout-link/address-missing", lambda: submit(link["url"], CUSTOMER, token), 422)
    paid = submit(link["url"], dict(CUSTOMER, **ADDRESS), token)
    served("checkout-link/pay", lambda: paid, 303, lambda to: to.startswith("/c/"))
    served("checkout-link/confirmation", get(server.url + paid.headers.get("location", "/")), 200)
    served("checkout-link/sold-out", get(link["url"]), 410)

    link = make_promo_link(server, merchant, "E2EHTTP25")
    served("promo/form", get(link["url"]), 200)
    token = csrf(request("GET", link["url"]))
    served("promo/rejected", lambda: submit(link["url"], {"action": "apply_promo", "promo_code": "NOSUCHCODE"}, token), 422)
    served("promo/applied", lambda: submit(link["url"], {"action": "apply_promo", "promo_code": "E2EHTTP25"}, token), 200)
    served("promo/pay", lambda: submit(link["url"], dict(CUSTOMER, promo_code="E2EHTTP25", action="pay", **ADDRESS), token), 303,
           lambda to: to.startswith(merchant.origin + "/thanks?cs=cs_"))
