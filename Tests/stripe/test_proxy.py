#!/usr/bin/env python3
"""End-to-end tests of Tests/stripe/stripe_proxy.py against a real localstripe 1.15.10.

Run:  .venv/bin/python Tests/stripe/test_proxy.py [-v]   (from the repository root)

Starts localstripe (``--port N --from-scratch`` on a free 127.0.0.1 port, through
localstripe_loopback.py so that it does not listen on every interface; set
LOCALSTRIPE_BIN=/path/to/localstripe to run the stock command instead) and the
proxy in front of it, and stops both at the end, also on failure.

localstripe persists its whole state in /tmp/localstripe.pickle (fixed path).
While running, these tests hold an exclusive flock on /tmp/localstripe.pickle.lock,
and they put back whatever /tmp/localstripe.pickle held before.

Standard library only.
"""

import fcntl
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROXY = HERE / "stripe_proxy.py"
LAUNCHER = HERE / "localstripe_loopback.py"
PICKLE = Path("/tmp/localstripe.pickle")
LOCK = Path("/tmp/localstripe.pickle.lock")

API_KEY = "sk_test_proxyharness_" + uuid.uuid4().hex[:12]
OTHER_API_KEY = "sk_test_otheraccount_" + uuid.uuid4().hex[:12]

CARD_OK = "4242424242424242"
CARD_DECLINE = "4000000000000002"
CARD_FUNDS = "4000000000009995"
CARD_3DS = "4000002760003184"

MEASURED = {}     # timings printed at the end
LOGDIR = Path(os.environ.get("STRIPE_PROXY_TEST_LOGS",
                             Path(tempfile.gettempdir()) / "stripe-proxy-test-logs"))


# --------------------------------------------------------------------------
# helpers


def python_with_localstripe():
    try:
        import localstripe  # noqa: F401
        return sys.executable
    except ImportError:
        venv = REPO / ".venv" / "bin" / "python"
        if venv.exists():
            return str(venv)
        raise RuntimeError("localstripe is not installed: "
                           "make test-deps (or .venv/bin/pip install localstripe==1.15.10)")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, base, path, params=None, api_key=API_KEY, idem=None, json_body=None,
         timeout=15):
    """One HTTP request; never follows redirects, never raises on 4xx/5xx.
    Returns (status, headers dict (lower-case names), parsed JSON or text)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    headers = {}
    body = None
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    if idem:
        headers["Idempotency-Key"] = idem
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif params is not None:
        body = urllib.parse.urlencode(params).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    try:
        data = json.loads(raw)
    except ValueError:
        data = raw.decode("utf-8", "replace")
    return r.status, hdrs, data


class LocalStripe:
    """A localstripe process on a free 127.0.0.1 port."""

    def __init__(self, from_scratch=True, port=None):
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(LOGDIR / ("localstripe-%d.log" % self.port), "ab")
        if os.environ.get("LOCALSTRIPE_BIN"):
            cmd = [os.environ["LOCALSTRIPE_BIN"], "--port", str(self.port)]
        else:
            cmd = [python_with_localstripe(), str(LAUNCHER), "--port", str(self.port)]
        if from_scratch:
            cmd.append("--from-scratch")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.startup_seconds = self._wait_ready(t0)

    def _wait_ready(self, t0, timeout=20):
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("localstripe exited with %s, see %s"
                                   % (self.proc.returncode, self.log.name))
            try:
                # no API key -> 401 from localstripe's middleware, touches no state
                status, _, _ = call("GET", self.url, "/v1/customers/cus_probe",
                                    api_key=None, timeout=1)
                if status == 401:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("localstripe did not start within %ss" % timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class Proxy:
    """stripe_proxy.py on a free port; first stdout line gives the URL."""

    def __init__(self, upstream):
        self.log = open(LOGDIR / "proxy.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(PROXY), "--upstream", upstream, "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
            start_new_session=True)
        self.first_line = self._read_line(10)
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", self.first_line)
        if not m:
            self.stop()
            raise RuntimeError("unexpected first line from proxy: %r" % self.first_line)
        self.url = m.group(1)
        self.port = int(m.group(2))

    def _read_line(self, timeout):
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError("proxy printed nothing within %ss" % timeout)
            chunk = os.read(fd, 1)
            if not chunk:
                raise RuntimeError("proxy exited: %r" % buf)
            buf += chunk
        return buf.decode().rstrip("\n")

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


# --------------------------------------------------------------------------
# module fixture: lock, localstripe, proxy


LS = None      # current LocalStripe (replaced by the restart test)
PX = None


def _lock():
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + 300
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise RuntimeError("another localstripe test holds %s" % LOCK)
            time.sleep(0.2)
    unittest.addModuleCleanup(os.close, fd)   # closing releases the lock


def _keep_pickle():
    before = PICKLE.read_bytes() if PICKLE.exists() else None

    def restore():
        if before is None:
            PICKLE.unlink(missing_ok=True)
        else:
            PICKLE.write_bytes(before)
    unittest.addModuleCleanup(restore)


def _stop_current_localstripe():
    if LS is not None:
        LS.stop()


def setUpModule():
    global LS, PX
    _lock()
    _keep_pickle()
    LOGDIR.mkdir(parents=True, exist_ok=True)
    for old in LOGDIR.glob("*.log"):
        old.unlink()
    LS = LocalStripe(from_scratch=True)
    unittest.addModuleCleanup(_stop_current_localstripe)
    MEASURED["localstripe startup --from-scratch (s)"] = round(LS.startup_seconds, 2)
    PX = Proxy(LS.url)
    unittest.addModuleCleanup(PX.stop)


def tearDownModule():
    if os.environ.get("STRIPE_PROXY_TEST_QUIET") != "1":
        sys.stderr.write("\nmeasured: %s\nlogs: %s\n" % (json.dumps(MEASURED), LOGDIR))


# --------------------------------------------------------------------------
# flows


def new_session():
    return "cs_" + uuid.uuid4().hex[:16]


def create_pm(base, number, api_key=API_KEY):
    status, _, pm = call("POST", base, "/v1/payment_methods", [
        ("type", "card"), ("card[number]", number), ("card[exp_month]", "12"),
        ("card[exp_year]", "2039"), ("card[cvc]", "123")], api_key=api_key)
    assert status == 200, (status, pm)
    return pm["id"]


def return_url_for(cs):
    return "http://127.0.0.1:9/c/tok_%s?payment_return=rsv_%s" % (cs[3:9], cs[3:9])


def pi_params(pm, cs, amount=2999, return_url=True, extra=()):
    params = [("amount", str(amount)), ("currency", "usd"), ("payment_method", pm),
              ("confirm", "true"), ("metadata[checkout_session]", cs)]
    if return_url:
        params.append(("return_url", return_url_for(cs)))
    return params + list(extra)


def upstream_intents(cs):
    status, _, listing = call("GET", LS.url, "/v1/payment_intents?limit=1000")
    assert status == 200, listing
    return [pi for pi in listing["data"] if pi["metadata"].get("checkout_session") == cs]


class ProxyTestCase(unittest.TestCase):
    def setUp(self):
        status, _, _ = call("POST", PX.url, "/_proxy/reset", api_key=None)
        self.assertEqual(status, 200)

    def records(self):
        status, _, recs = call("GET", PX.url, "/_proxy/requests", api_key=None)
        self.assertEqual(status, 200)
        return recs


# --------------------------------------------------------------------------
# What localstripe 1.15.10 itself does (directly, no proxy).  These pin the
# measurements in README.md; if one fails, localstripe changed.


class LocalstripeItself(ProxyTestCase):
    def test_success_carries_amount_currency_metadata(self):
        cs = new_session()
        pm = create_pm(LS.url, CARD_OK)
        status, _, pi = call("POST", LS.url, "/v1/payment_intents",
                             pi_params(pm, cs, return_url=False,
                                       extra=[("payment_method_types[]", "card")]))
        self.assertEqual(status, 200, pi)
        self.assertEqual(pi["status"], "succeeded")
        self.assertEqual((pi["amount"], pi["currency"]), (2999, "usd"))
        self.assertEqual(pi["metadata"], {"checkout_session": cs})
        self.assertTrue(pi["id"].startswith("pi_"))
        self.assertTrue(pi["client_secret"].startswith(pi["id"] + "_secret_"))
        # departures from Stripe's object worth knowing on the Swift side
        self.assertIsInstance(pi["latest_charge"], dict)         # Stripe: "ch_..." string
        self.assertEqual(pi["latest_charge"]["status"], "succeeded")
        self.assertEqual(pi["capture_method"], "automatic_async")
        self.assertNotIn("payment_method_types", pi)            # accepted, not echoed
        self.assertNotIn("amount_received", pi)

    def test_rejects_return_url(self):
        pm = create_pm(LS.url, CARD_OK)
        status, _, body = call("POST", LS.url, "/v1/payment_intents",
                               pi_params(pm, new_session()))
        self.assertEqual(status, 400)
        self.assertEqual(body, {"error": {"type": "invalid_request_error",
                                          "message": "Unexpected return_url"}})

    def test_ignores_idempotency_key(self):
        cs = new_session()
        pm = create_pm(LS.url, CARD_OK)
        key = cs + "-attempt-1"
        s1, h1, a = call("POST", LS.url, "/v1/payment_intents",
                         pi_params(pm, cs, return_url=False), idem=key)
        s2, h2, b = call("POST", LS.url, "/v1/payment_intents",
                         pi_params(pm, cs, return_url=False), idem=key)
        s3, _, c = call("POST", LS.url, "/v1/payment_intents",
                        pi_params(pm, cs, amount=1, return_url=False), idem=key)
        self.assertEqual((s1, s2, s3), (200, 200, 200))
        self.assertEqual(len({a["id"], b["id"], c["id"]}), 3)
        self.assertNotIn("idempotent-replayed", h2)
        self.assertEqual(len(upstream_intents(cs)), 3)

    def test_confirms_decline_cards_as_paid(self):
        for number in (CARD_DECLINE, CARD_FUNDS):
            pm = create_pm(LS.url, number)
            status, _, pi = call("POST", LS.url, "/v1/payment_intents",
                                 pi_params(pm, new_session(), return_url=False))
            self.assertEqual((status, pi["status"]), (200, "succeeded"), number)

    def test_declines_only_when_attached_to_customer(self):
        status, _, cus = call("POST", LS.url, "/v1/customers", [("email", "a@example.com")])
        self.assertEqual(status, 200)
        pm = create_pm(LS.url, CARD_FUNDS)
        status, _, body = call("POST", LS.url, "/v1/payment_methods/%s/attach" % pm,
                               [("customer", cus["id"])])
        self.assertEqual(status, 402)
        self.assertEqual(body, {"error": {"type": "invalid_request_error",
                                          "code": "card_declined",
                                          "message": "Your card was declined."}})

    def test_own_charge_decline_shape(self):
        # 4000000000000341 is the one card localstripe declines at charge time
        pm = create_pm(LS.url, "4000000000000341")
        cs = new_session()
        status, _, body = call("POST", LS.url, "/v1/payment_intents",
                               pi_params(pm, cs, return_url=False))
        self.assertEqual(status, 402)
        err = body["error"]
        self.assertEqual((err["type"], err["code"]), ("invalid_request_error", "card_declined"))
        self.assertTrue(err["charge"].startswith("ch_"))
        self.assertNotIn("payment_intent", err)
        self.assertNotIn("decline_code", err)
        [pi] = upstream_intents(cs)
        self.assertEqual(pi["status"], "requires_payment_method")
        self.assertEqual(pi["last_payment_error"]["code"], "card_declined")

    def test_3ds_uses_stripe_sdk_and_own_authenticate(self):
        pm = create_pm(LS.url, CARD_3DS)
        status, _, pi = call("POST", LS.url, "/v1/payment_intents",
                             pi_params(pm, new_session(), return_url=False))
        self.assertEqual((status, pi["status"]), (200, "requires_action"))
        self.assertEqual(pi["next_action"], {"type": "use_stripe_sdk", "use_stripe_sdk": {
            "type": "three_d_secure_redirect", "stripe_js": ""}})
        path = "/v1/payment_intents/%s/_authenticate" % pi["id"]
        status, _, _ = call("POST", LS.url, path, [("success", "true")])
        self.assertEqual(status, 400)                          # client_secret required
        status, _, done = call("POST", LS.url, path, [("success", "true"),
                                                      ("client_secret", pi["client_secret"])])
        self.assertEqual((status, done["status"]), (200, "succeeded"))

    def test_rejects_refund_reason(self):
        pm = create_pm(LS.url, CARD_OK)
        status, _, pi = call("POST", LS.url, "/v1/payment_intents",
                             pi_params(pm, new_session(), return_url=False))
        self.assertEqual(status, 200)
        status, _, body = call("POST", LS.url, "/v1/refunds", [
            ("payment_intent", pi["id"]), ("amount", "1000"),
            ("reason", "requested_by_customer")])
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["message"], "Unexpected reason")
        status, _, re_ = call("POST", LS.url, "/v1/refunds", [
            ("payment_intent", pi["id"]), ("amount", "1000")])
        self.assertEqual((status, re_["status"], re_["amount"]), (200, "succeeded", 1000))
        self.assertNotIn("reason", re_)


# --------------------------------------------------------------------------
# Through the proxy


class ThroughProxy(ProxyTestCase):
    def test_success_4242(self):
        cs = new_session()
        key = cs + "-attempt-1"
        pm = create_pm(PX.url, CARD_OK)
        status, headers, pi = call("POST", PX.url, "/v1/payment_intents",
                                   pi_params(pm, cs, extra=[("payment_method_types[]", "card")]),
                                   idem=key)
        self.assertEqual(status, 200, pi)
        self.assertNotIn("idempotent-replayed", headers)
        self.assertEqual(pi["status"], "succeeded")
        self.assertEqual((pi["amount"], pi["currency"]), (2999, "usd"))
        self.assertEqual(pi["metadata"]["checkout_session"], cs)
        # localstripe itself holds the PaymentIntent with our amount, currency, session
        status, _, up = call("GET", LS.url, "/v1/payment_intents/" + pi["id"])
        self.assertEqual(status, 200)
        self.assertEqual((up["status"], up["amount"], up["currency"],
                          up["metadata"]["checkout_session"]), ("succeeded", 2999, "usd", cs))
        # retrieval through the proxy (what the Swift side does after a return)
        status, _, got = call("GET", PX.url, "/v1/payment_intents/" + pi["id"])
        self.assertEqual((status, got["status"]), (200, "succeeded"))

        recs = self.records()
        self.assertEqual([(r["method"], r["path"], r["status"]) for r in recs], [
            ("POST", "/v1/payment_methods", 200),
            ("POST", "/v1/payment_intents", 200),
            ("GET", "/v1/payment_intents/" + pi["id"], 200)])
        self.assertEqual(recs[0]["params"]["card[number]"], "4242")
        self.assertEqual(recs[0]["params"]["card[cvc]"], "***")
        self.assertEqual(recs[1]["idempotency_key"], key)
        self.assertEqual(recs[1]["params"]["return_url"], return_url_for(cs))
        self.assertEqual(recs[1]["params"]["metadata[checkout_session]"], cs)
        self.assertEqual(recs[1]["params"]["payment_method_types[]"], "card")
        self.assertNotIn(CARD_OK, json.dumps(recs))
        self.assertNotIn(API_KEY, json.dumps(recs))

    def _decline(self, number, decline_code, message):
        cs = new_session()
        key = cs + "-attempt-1"
        pm = create_pm(PX.url, number)
        status, _, body = call("POST", PX.url, "/v1/payment_intents", pi_params(pm, cs), idem=key)
        self.assertEqual(status, 402, body)
        err = body["error"]
        self.assertEqual(err["type"], "card_error")
        self.assertEqual(err["code"], "card_declined")
        self.assertEqual(err["decline_code"], decline_code)
        self.assertEqual(err["message"], message)
        self.assertEqual(err["payment_method"]["id"], pm)
        pi = err["payment_intent"]
        self.assertEqual(pi["status"], "requires_payment_method")
        self.assertEqual((pi["amount"], pi["currency"]), (2999, "usd"))
        self.assertEqual(pi["metadata"]["checkout_session"], cs)
        self.assertIsNone(pi["payment_method"])
        self.assertEqual(pi["last_payment_error"]["decline_code"], decline_code)
        # retrieved later through the proxy
        status, _, got = call("GET", PX.url, "/v1/payment_intents/" + pi["id"])
        self.assertEqual(status, 200)
        self.assertEqual(got["status"], "requires_payment_method")
        self.assertEqual(got["last_payment_error"]["type"], "card_error")
        self.assertEqual(got["last_payment_error"]["code"], "card_declined")
        self.assertEqual(got["last_payment_error"]["decline_code"], decline_code)
        self.assertEqual(got["last_payment_error"]["message"], message)
        # ... and in a list
        status, _, listing = call("GET", PX.url, "/v1/payment_intents?limit=1000")
        [listed] = [p for p in listing["data"] if p["id"] == pi["id"]]
        self.assertEqual(listed["status"], "requires_payment_method")
        # upstream: created without confirm, payment_method cleared: localstripe
        # itself says requires_payment_method, no charge, no money moved
        [up] = upstream_intents(cs)
        self.assertEqual(up["status"], "requires_payment_method")
        self.assertIsNone(up["latest_charge"])
        self.assertIsNone(up["last_payment_error"])
        status, _, refused = call("POST", PX.url, "/v1/refunds", [("payment_intent", pi["id"])])
        self.assertEqual(status, 400)
        self.assertEqual(refused["error"]["message"], "Cannot refund a failed payment.")
        status, _, refused = call("POST", PX.url, "/v1/payment_intents/%s/confirm" % pi["id"])
        self.assertEqual(status, 400)
        # the decline is stored for its key like any executed request
        status2, headers2, body2 = call("POST", PX.url, "/v1/payment_intents",
                                        pi_params(pm, cs), idem=key)
        self.assertEqual((status2, headers2.get("idempotent-replayed")), (402, "true"))
        self.assertEqual(body2, body)
        self.assertEqual(len(upstream_intents(cs)), 1)
        recs = self.records()
        self.assertEqual(recs[0]["params"]["card[number]"], number[-4:])
        self.assertEqual([r["status"] for r in recs if r["path"] == "/v1/payment_intents"
                          and r["method"] == "POST"], [402, 402])

    def test_declined_intent_can_be_canceled(self):
        cs = new_session()
        pm = create_pm(PX.url, CARD_DECLINE)
        status, _, body = call("POST", PX.url, "/v1/payment_intents", pi_params(pm, cs))
        self.assertEqual(status, 402)
        pi_id = body["error"]["payment_intent"]["id"]
        status, _, pi = call("POST", PX.url, "/v1/payment_intents/%s/cancel" % pi_id)
        self.assertEqual((status, pi["status"]), (200, "canceled"))

    def test_decline_generic_0002(self):
        self._decline(CARD_DECLINE, "generic_decline", "Your card was declined.")

    def test_decline_insufficient_funds_9995(self):
        self._decline(CARD_FUNDS, "insufficient_funds", "Your card has insufficient funds.")

    def _start_3ds(self):
        cs = new_session()
        pm = create_pm(PX.url, CARD_3DS)
        status, _, pi = call("POST", PX.url, "/v1/payment_intents", pi_params(pm, cs),
                             idem=cs + "-attempt-1")
        self.assertEqual(status, 200, pi)
        self.assertEqual(pi["status"], "requires_action")
        self.assertEqual(pi["next_action"], {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": "%s/_bank/%s" % (PX.url, pi["id"]),
                                "return_url": return_url_for(cs)}})
        # the same next_action on retrieval
        status, _, got = call("GET", PX.url, "/v1/payment_intents/" + pi["id"])
        self.assertEqual(got["next_action"], pi["next_action"])
        return cs, pi

    def test_3ds_approve_in_browser(self):
        cs, pi = self._start_3ds()
        bank = urllib.parse.urlsplit(pi["next_action"]["redirect_to_url"]["url"]).path
        status, headers, page = call("GET", PX.url, bank, api_key=None)
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["content-type"])
        self.assertIn('href="%s/approve"' % bank, page)
        self.assertIn('href="%s/fail"' % bank, page)
        status, headers, _ = call("GET", PX.url, bank + "/approve", api_key=None)
        self.assertEqual(status, 302)
        location = headers["location"]
        self.assertTrue(location.startswith(return_url_for(cs) + "&"), location)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        self.assertEqual(query["payment_return"], "rsv_" + cs[3:9])
        self.assertEqual(query["payment_intent"], pi["id"])
        self.assertEqual(query["payment_intent_client_secret"], pi["client_secret"])
        status, _, got = call("GET", PX.url, "/v1/payment_intents/" + pi["id"])
        self.assertEqual((status, got["status"], got["next_action"]), (200, "succeeded", None))
        self.assertEqual(got["amount"], 2999)
        # a second click: localstripe refuses (no longer requires_action)
        status, _, _ = call("GET", PX.url, bank + "/approve", api_key=None)
        self.assertEqual(status, 400)
        paths = [r["path"] for r in self.records()]
        self.assertIn(bank, paths)
        self.assertIn(bank + "/approve", paths)

    def test_3ds_fail_via_post(self):
        cs, pi = self._start_3ds()
        status, _, body = call("POST", PX.url, "/_bank/%s/fail" % pi["id"], api_key=None)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["redirect"].startswith(return_url_for(cs) + "&"))
        self.assertEqual(body["payment_intent"]["status"], "requires_payment_method")
        status, _, got = call("GET", PX.url, "/v1/payment_intents/" + pi["id"])
        self.assertEqual(got["status"], "requires_payment_method")
        self.assertEqual(got["last_payment_error"]["code"],
                         "payment_intent_authentication_failure")
        self.assertIsNone(got["next_action"])

    def test_3ds_approve_via_post(self):
        _, pi = self._start_3ds()
        status, _, body = call("POST", PX.url, "/_bank/%s/approve" % pi["id"], api_key=None)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["payment_intent"]["status"], "succeeded")
        status, _, body = call("POST", PX.url, "/_bank/pi_unknown/approve", api_key=None)
        self.assertEqual(status, 404)

    def test_idempotent_replay_and_mismatch(self):
        cs = new_session()
        key = cs + "-attempt-1"
        pm = create_pm(PX.url, CARD_OK)
        params = pi_params(pm, cs)
        s1, h1, first = call("POST", PX.url, "/v1/payment_intents", params, idem=key)
        s2, h2, again = call("POST", PX.url, "/v1/payment_intents", params, idem=key)
        self.assertEqual((s1, s2), (200, 200))
        self.assertNotIn("idempotent-replayed", h1)
        self.assertEqual(h2.get("idempotent-replayed"), "true")
        self.assertEqual(again, first)
        # parameters in another order are the same parameters
        s3, h3, third = call("POST", PX.url, "/v1/payment_intents", list(reversed(params)),
                             idem=key)
        self.assertEqual((s3, h3.get("idempotent-replayed"), third["id"]),
                         (200, "true", first["id"]))
        self.assertEqual(len(upstream_intents(cs)), 1)
        # other parameters, same key
        s4, _, err = call("POST", PX.url, "/v1/payment_intents", pi_params(pm, cs, amount=3000),
                          idem=key)
        self.assertEqual(s4, 400)
        self.assertEqual(err["error"]["type"], "idempotency_error")
        self.assertTrue(err["error"]["message"].startswith(
            "Keys for idempotent requests can only be used with the same parameters "
            "they were first used with."), err)
        # other endpoint, same key
        s5, _, err = call("POST", PX.url, "/v1/refunds", [("payment_intent", first["id"])],
                          idem=key)
        self.assertEqual((s5, err["error"]["type"]), (400, "idempotency_error"))
        self.assertEqual(len(upstream_intents(cs)), 1)
        # keys are per API key
        pm2 = create_pm(PX.url, CARD_OK, api_key=OTHER_API_KEY)
        s6, h6, other = call("POST", PX.url, "/v1/payment_intents", pi_params(pm2, cs),
                             idem=key, api_key=OTHER_API_KEY)
        self.assertEqual(s6, 200)
        self.assertNotIn("idempotent-replayed", h6)
        self.assertNotEqual(other["id"], first["id"])
        self.assertEqual(len(upstream_intents(cs)), 2)
        # recorded
        recs = [r for r in self.records() if r["idempotency_key"] == key]
        self.assertEqual([(r["status"], r["replayed"]) for r in recs],
                         [(200, False), (200, True), (200, True), (400, False), (400, False),
                          (200, False)])
        status, _, stored = call("GET", PX.url, "/_proxy/idempotency", api_key=None)
        self.assertEqual(len([s for s in stored if s["key"] == key]), 2)

    def test_idempotency_key_in_flight_conflict(self):
        hits = []

        class Slow(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hits.append(self.path)
                time.sleep(0.8)
                body = b'{"id": "pi_slow", "object": "payment_intent", "status": "succeeded"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        stub = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        try:
            status, _, _ = call("POST", PX.url, "/_proxy/upstream", api_key=None,
                                json_body={"url": "http://127.0.0.1:%d" % stub.server_address[1]})
            self.assertEqual(status, 200)
            key = "cs_inflight_" + uuid.uuid4().hex
            results = []

            def send():
                results.append(call("POST", PX.url, "/v1/payment_intents",
                                    [("amount", "2999"), ("currency", "usd")], idem=key)[0])
            t1 = threading.Thread(target=send)
            t1.start()
            time.sleep(0.3)
            send()
            t1.join()
            self.assertEqual(sorted(results), [200, 409])
            self.assertEqual(len(hits), 1)
            status, headers, _ = call("POST", PX.url, "/v1/payment_intents",
                                      [("amount", "2999"), ("currency", "usd")], idem=key)
            self.assertEqual((status, headers.get("idempotent-replayed")), (200, "true"))
            self.assertEqual(len(hits), 1)
        finally:
            call("POST", PX.url, "/_proxy/upstream", api_key=None, json_body={"url": LS.url})
            stub.shutdown()
            stub.server_close()

    def test_refund_with_reason(self):
        cs = new_session()
        pm = create_pm(PX.url, CARD_OK)
        status, _, pi = call("POST", PX.url, "/v1/payment_intents", pi_params(pm, cs),
                             idem=cs + "-attempt-1")
        self.assertEqual((status, pi["status"]), (200, "succeeded"))
        key = cs + "-refund-1"
        params = [("payment_intent", pi["id"]), ("amount", "1000"),
                  ("reason", "requested_by_customer")]
        status, _, refund = call("POST", PX.url, "/v1/refunds", params, idem=key)
        self.assertEqual(status, 200, refund)
        self.assertEqual((refund["object"], refund["status"], refund["amount"],
                          refund["currency"], refund["payment_intent"], refund["reason"]),
                         ("refund", "succeeded", 1000, "usd", pi["id"], "requested_by_customer"))
        status, _, got = call("GET", PX.url, "/v1/refunds/" + refund["id"])
        self.assertEqual((status, got["reason"]), (200, "requested_by_customer"))
        status, _, up = call("GET", LS.url, "/v1/refunds/" + refund["id"])
        self.assertNotIn("reason", up)                              # localstripe has none
        # replay: same refund, refunded once
        status, headers, again = call("POST", PX.url, "/v1/refunds", params, idem=key)
        self.assertEqual((status, headers.get("idempotent-replayed"), again["id"]),
                         (200, "true", refund["id"]))
        status, _, up_pi = call("GET", LS.url, "/v1/payment_intents/" + pi["id"])
        self.assertEqual(up_pi["latest_charge"]["amount_refunded"], 1000)
        # the refund inside the PaymentIntent's charge also shows its reason
        status, _, got_pi = call("GET", PX.url, "/v1/payment_intents/" + pi["id"])
        [listed] = got_pi["latest_charge"]["refunds"]["data"]
        self.assertEqual(listed["reason"], "requested_by_customer")
        rec = [r for r in self.records() if r["path"] == "/v1/refunds"][0]
        self.assertEqual(rec["params"]["reason"], "requested_by_customer")
        self.assertEqual(rec["idempotency_key"], key)

    def test_lost_answer_is_replayed(self):
        """Test control /_proxy/drop_next: localstripe executes the charge but
        the answer never reaches the client; the retry with the same key gets
        the stored answer, and there is still only one PaymentIntent."""
        cs = new_session()
        key = cs + "-attempt-1"
        pm = create_pm(PX.url, CARD_OK)
        status, _, rule = call("POST", PX.url, "/_proxy/drop_next", api_key=None,
                               json_body={"method": "POST", "path": "/v1/payment_intents"})
        self.assertEqual(status, 200, rule)
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            call("POST", PX.url, "/v1/payment_intents", pi_params(pm, cs), idem=key)
        [up] = upstream_intents(cs)
        self.assertEqual(up["status"], "succeeded")
        status, headers, pi = call("POST", PX.url, "/v1/payment_intents", pi_params(pm, cs),
                                   idem=key)
        self.assertEqual((status, headers.get("idempotent-replayed"), pi["id"]),
                         (200, "true", up["id"]))
        self.assertEqual(len(upstream_intents(cs)), 1)
        recs = [r for r in self.records() if r["idempotency_key"] == key]
        self.assertEqual([(r["status"], r.get("dropped", False), r["replayed"]) for r in recs],
                         [(200, True, False), (200, False, True)])

    def test_recording_reset(self):
        call("GET", PX.url, "/v1/payment_intents")
        self.assertEqual(len(self.records()), 1)
        call("POST", PX.url, "/_proxy/reset", api_key=None)
        self.assertEqual(self.records(), [])

    def test_upstream_down_then_restarted(self):
        """localstripe stopped in the middle of a checkout, started again
        (without --from-scratch, maybe on another port): the same key goes
        through once and is then replayed."""
        global LS
        cs = new_session()
        key = cs + "-attempt-1"
        pm = create_pm(PX.url, CARD_OK)
        params = pi_params(pm, cs)

        t0 = time.monotonic()
        LS.stop()
        MEASURED["localstripe stop on SIGTERM (s)"] = round(time.monotonic() - t0, 2)

        t0 = time.monotonic()
        status, _, body = call("POST", PX.url, "/v1/payment_intents", params, idem=key)
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 502)
        self.assertEqual(body, {"error": {"type": "api_error", "message": "upstream unavailable"}})
        self.assertLess(elapsed, 1.5)
        MEASURED["502 when localstripe is down (s)"] = round(elapsed, 3)
        status, _, stored = call("GET", PX.url, "/_proxy/idempotency", api_key=None)
        self.assertNotIn(key, [s["key"] for s in stored])

        restarted = LocalStripe(from_scratch=False)      # new port, state from the pickle
        LS = restarted
        MEASURED["localstripe startup, state restored (s)"] = round(restarted.startup_seconds, 2)
        status, _, moved = call("POST", PX.url, "/_proxy/upstream", api_key=None,
                                json_body={"url": restarted.url})
        self.assertEqual((status, moved["url"]), (200, restarted.url))
        status, _, now = call("GET", PX.url, "/_proxy/upstream", api_key=None)
        self.assertEqual(now["url"], restarted.url)
        # the PaymentMethod survived the restart
        status, _, got_pm = call("GET", LS.url, "/v1/payment_methods/" + pm)
        self.assertEqual(status, 200)

        status, headers, pi = call("POST", PX.url, "/v1/payment_intents", params, idem=key)
        self.assertEqual(status, 200, pi)
        self.assertNotIn("idempotent-replayed", headers)
        self.assertEqual((pi["status"], pi["amount"]), ("succeeded", 2999))
        status, headers, again = call("POST", PX.url, "/v1/payment_intents", params, idem=key)
        self.assertEqual((status, headers.get("idempotent-replayed"), again["id"]),
                         (200, "true", pi["id"]))
        self.assertEqual(len(upstream_intents(cs)), 1)
        recs = [r for r in self.records() if r["idempotency_key"] == key]
        self.assertEqual([r["status"] for r in recs], [502, 200, 200])
        self.assertIn("upstream_error", recs[0])

        # the rest of the suite keeps working against the restarted localstripe
        pm2 = create_pm(PX.url, CARD_OK)
        self.assertTrue(pm2.startswith("pm_"))


class ProxyProcess(unittest.TestCase):
    def test_first_line_and_clean_sigterm(self):
        proxy = Proxy("http://127.0.0.1:%d" % free_port())
        try:
            self.assertRegex(proxy.first_line, r"^listening on http://127\.0\.0\.1:\d+$")
            status, _, body = call("GET", proxy.url, "/v1/balance")
            self.assertEqual(status, 502)                   # nothing listens upstream
            with self.assertRaises(OSError):                # 127.0.0.1 only
                socket.create_connection(("::1", proxy.port), timeout=1).close()
        finally:
            t0 = time.monotonic()
            code = proxy.stop(timeout=5)
        self.assertEqual(code, 0)
        self.assertLess(time.monotonic() - t0, 3)


if __name__ == "__main__":
    unittest.main()
