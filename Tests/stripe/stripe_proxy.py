#!/usr/bin/env python3
"""Recording proxy in front of localstripe that adds a few documented Stripe behaviours.

localstripe 1.15.10 departs from Stripe on a handful of points that matter to
the checkout server (see Tests/stripe/README.md for what was measured).  This
proxy forwards every request unchanged except for exactly those points; each
one lives in its own small function whose docstring names the Stripe
documentation it follows:

* ``apply_idempotency``            Idempotency-Key replay / mismatch / in-flight
* ``strip_return_url``             ``return_url`` on PaymentIntent create
* ``remember_card``                card numbers of PaymentMethods created here
* ``create_declined_payment_intent`` / ``present_declined_payment_intent``
                                   4000000000000002 / 4000000000009995 declines
* ``present_redirect_to_url``      3-D Secure ``use_stripe_sdk`` -> ``redirect_to_url``
* ``bank_page`` / ``bank_authenticate``  the test "bank" the customer is sent to
* ``strip_refund_reason`` / ``present_refund_reason``  ``reason`` on refunds
* ``upstream_unavailable``         localstripe down -> 502, never stored

Test-only control endpoints (not Stripe):
  GET  /_proxy/requests      recorded requests (JSON list)
  POST /_proxy/reset         clear the recording
  GET  /_proxy/upstream      {"url": ...}
  POST /_proxy/upstream      {"url": "http://127.0.0.1:NEW"}  switch localstripe
  GET  /_proxy/idempotency   stored idempotency keys (key, method, path, status)
  POST /_proxy/drop_next     {"method": "POST", "path": "/v1/payment_intents", "count": 1}
                             the next matching request is executed (and stored for
                             its Idempotency-Key) but its answer is lost: the proxy
                             closes the connection without answering

Usage:
  python3 Tests/stripe/stripe_proxy.py --upstream http://127.0.0.1:LSPORT [--port 0]
prints ``listening on http://127.0.0.1:PORT`` as its first line once it accepts
connections, binds 127.0.0.1 only, exits with status 0 on SIGTERM / SIGINT.

Python 3.11 standard library only.
"""

import argparse
import copy
import hashlib
import html
import http.client
import json
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONNECT_TIMEOUT = 1.0   # seconds; "localstripe is down" must be answered quickly
READ_TIMEOUT = 30.0     # seconds; once connected, localstripe is given time

# https://docs.stripe.com/testing#declined-payments
DECLINED_CARDS = {
    "4000000000000002": {
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    },
    "4000000000009995": {
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    },
}
CARD_DECLINED_DOC_URL = "https://stripe.com/docs/error-codes/card-declined"

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
}
# Request headers not copied upstream (recomputed by http.client or ours).
DROP_REQUEST = HOP_BY_HOP | {"host", "content-length", "accept-encoding", "expect"}
# Response headers not copied back (recomputed by this server).
DROP_RESPONSE = HOP_BY_HOP | {"content-length", "date", "server"}


# --------------------------------------------------------------------------
# Small value types


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path            # without query string
        self.query = query          # raw query string ('' if none)
        self.headers = headers      # http.client.HTTPMessage (case-insensitive)
        self.body = body            # bytes

    @property
    def path_qs(self):
        return self.path + ("?" + self.query if self.query else "")

    @property
    def is_json_body(self):
        return "json" in (self.headers.get("Content-Type") or "").lower()

    def form(self):
        """The body as an ordered list of (name, value) pairs (form-encoded)."""
        if not self.body or self.is_json_body:
            return []
        return urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"),
                                      keep_blank_values=True)

    def form_value(self, name):
        for k, v in self.form():
            if k == name:
                return v
        return None


class Response:
    def __init__(self, status, headers=None, body=b""):
        self.status = status
        self.headers = list(headers or [])   # [(name, value)]
        self.body = body

    @classmethod
    def json(cls, status, obj, headers=None):
        body = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
        return cls(status, [("Content-Type", "application/json")] + list(headers or []), body)

    @classmethod
    def html(cls, status, text, headers=None):
        return cls(status, [("Content-Type", "text/html; charset=utf-8")] + list(headers or []),
                   text.encode("utf-8"))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json_body(self):
        ctype = (self.header("Content-Type") or "").lower()
        if "json" not in ctype:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json_body(self, obj):
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-type"]
        return Response.json(self.status, obj, headers)


class UpstreamUnavailable(Exception):
    pass


# --------------------------------------------------------------------------
# Shared state


class State:
    def __init__(self, upstream):
        self.lock = threading.Lock()
        self.upstream = upstream.rstrip("/")
        self.base_url = None            # http://127.0.0.1:PORT of this proxy
        self.records = []               # recorded requests
        self.seq = 0
        self.idempotency = {}           # (authorization, key) -> saved response
        self.in_flight = set()          # (authorization, key) being executed
        self.cards = {}                 # pm_id -> card number (in memory only)
        self.payment_methods = {}       # pm_id -> PaymentMethod JSON as created
        self.intents = {}               # pi_id -> {client_secret, return_url, authorization}
        self.declines = {}              # pi_id -> last_payment_error (card_error)
        self.refund_reasons = {}        # re_id -> reason
        self.drop_rules = []            # [{"method", "path", "count"}] answers to lose

    def intent(self, pi_id):
        with self.lock:
            return self.intents.setdefault(pi_id, {})


# --------------------------------------------------------------------------
# Upstream (localstripe)


def forward(state, req, body=None, path_qs=None, method=None):
    """Send the request to localstripe unchanged (unless body/path given)."""
    upstream = urllib.parse.urlsplit(state.upstream)
    body = req.body if body is None else body
    headers = {k: v for k, v in req.headers.items() if k.lower() not in DROP_REQUEST}
    target = upstream.path.rstrip("/") + (path_qs or req.path_qs)
    conn = http.client.HTTPConnection(upstream.hostname, upstream.port or 80,
                                      timeout=CONNECT_TIMEOUT)
    try:
        conn.connect()
        conn.sock.settimeout(READ_TIMEOUT)
        conn.request(method or req.method, target,
                     body=body if (body or (method or req.method) in ("POST", "PUT", "PATCH")) else None,
                     headers=headers)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status,
                        [(k, v) for k, v in r.getheaders() if k.lower() not in DROP_RESPONSE],
                        data)
    except (OSError, http.client.HTTPException) as e:
        raise UpstreamUnavailable("%s: %s" % (type(e).__name__, e)) from e
    finally:
        conn.close()


def upstream_unavailable(detail):
    """Answer for "localstripe did not answer": 502, ``api_error``.

    https://docs.stripe.com/api/errors (``api_error``: a problem on Stripe's
    side; 500/502/503/504).  https://docs.stripe.com/api/idempotent_requests :
    results are saved only once an endpoint began executing, so this answer is
    never stored for idempotency (the caller marks it not executed).
    """
    return Response.json(502, {"error": {"type": "api_error",
                                         "message": "upstream unavailable"}},
                         [("X-Proxy-Upstream-Error", detail[:200])])


# --------------------------------------------------------------------------
# Stripe behaviours, one function each


def idempotency_fingerprint(req):
    """Method, endpoint and parameters; parameter order does not matter."""
    if req.is_json_body:
        params = req.body.decode("utf-8", "replace")
    else:
        # stable sort: values of a repeated name (a[]=x&a[]=y) keep their order
        params = sorted(req.form(), key=lambda kv: kv[0])
    blob = json.dumps([req.method, req.path_qs, params], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def apply_idempotency(state, req, authorization, key, execute):
    """Idempotent requests: https://docs.stripe.com/api/idempotent_requests

    * Stripe saves the status code and body of the first request made with a
      key once the endpoint began executing and replays them for later
      requests with that key (also 4xx such as card declines, and 500s);
      replays carry ``Idempotent-Replayed: true``.
    * The same key with other parameters (or another endpoint) is an
      ``idempotency_error`` (400).
    * Nothing is saved when the endpoint did not execute (here: localstripe
      unreachable, or 401 authentication failure).
    * A request arriving while another with the same key is still executing
      conflicts: 409 (https://docs.stripe.com/api/errors, "409 Conflict ...
      perhaps due to using the same idempotent key";
      https://docs.stripe.com/error-codes#idempotency-key-in-use).
    * Keys are scoped to the API key (here: the Authorization header).
    ``execute`` returns (Response, executed_upstream: bool).
    """
    scope = (authorization, key)
    fingerprint = idempotency_fingerprint(req)
    with state.lock:
        saved = state.idempotency.get(scope)
        if saved is None:
            if scope in state.in_flight:
                return Response.json(409, {"error": {
                    "type": "idempotency_error",
                    "code": "idempotency_key_in_use",
                    "message": ("There is currently another in-progress request using "
                                "this Idempotent Key (that probably means you submitted "
                                "twice, and the other request is still going through): "
                                "%s. Please try again later." % key)}})
            state.in_flight.add(scope)
    if saved is not None:
        if saved["fingerprint"] != fingerprint:
            return Response.json(400, {"error": {
                "type": "idempotency_error",
                "message": ("Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other "
                            "than '%s' if you meant to execute a different request." % key)}})
        resp = saved["response"]
        return Response(resp.status, resp.headers + [("Idempotent-Replayed", "true")], resp.body)
    try:
        resp, executed = execute()
        if executed and resp.status != 401:
            with state.lock:
                state.idempotency[scope] = {"fingerprint": fingerprint, "response": resp,
                                            "method": req.method, "path": req.path,
                                            "key": key, "stored_at": time.time()}
        return resp
    finally:
        with state.lock:
            state.in_flight.discard(scope)


def remember_card(state, req, resp):
    """Remember the card number of a PaymentMethod created through the proxy.

    Needed to apply the decline test cards of
    https://docs.stripe.com/testing#declined-payments when that PaymentMethod
    is confirmed.  Kept in memory only, never recorded or served.
    """
    obj = resp.json_body()
    number = req.form_value("card[number]")
    if resp.status == 200 and isinstance(obj, dict) and obj.get("id") and number:
        with state.lock:
            state.cards[obj["id"]] = re.sub(r"\D", "", number)
            state.payment_methods[obj["id"]] = obj


def strip_return_url(state, req):
    """``return_url`` on PaymentIntent create.

    https://docs.stripe.com/api/payment_intents/create#create_payment_intent-return_url
    Stripe accepts it (with confirm=true) and sends the customer there after
    authentication; localstripe answers 400 "Unexpected return_url".  Removed
    before forwarding and remembered, so the 3-D Secure redirect can use it.
    Returns (body to forward, return_url or None).
    """
    pairs = req.form()
    return_url = next((v for k, v in pairs if k == "return_url"), None)
    if return_url is None:
        return req.body, None
    kept = [(k, v) for k, v in pairs if k != "return_url"]
    return urllib.parse.urlencode(kept).encode(), return_url


def declined_card(state, req):
    """The decline of https://docs.stripe.com/testing#declined-payments that
    applies to this confirming PaymentIntent create, or None."""
    if (req.form_value("confirm") or "").lower() != "true":
        return None
    with state.lock:
        number = state.cards.get(req.form_value("payment_method") or "")
    return DECLINED_CARDS.get(number)


def create_declined_payment_intent(state, req, body, decline):
    """Card declines: https://docs.stripe.com/testing#declined-payments and
    https://docs.stripe.com/declines/card , error shape https://docs.stripe.com/api/errors

    Stripe answers a confirming create with a declined test card with HTTP 402
    ``{"error": {"type": "card_error", "code": "card_declined", "decline_code":
    ..., "message": ..., "payment_intent": {..., "status":
    "requires_payment_method"}}}``; the PaymentIntent then shows
    ``requires_payment_method`` with that error as ``last_payment_error``.
    localstripe 1.15.10 confirms these cards as paid.

    Choice (keeps localstripe consistent): the PaymentIntent is created
    upstream *without* ``confirm`` (and without ``off_session``, which
    localstripe only allows with confirm), then its ``payment_method`` is
    cleared with ``POST /v1/payment_intents/{id}`` ``payment_method=``.
    localstripe then itself reports ``requires_payment_method`` (no charge, no
    money moved; a refund is refused with "Cannot refund a failed payment.",
    a confirm is refused, a cancel works), and the proxy adds the
    ``last_payment_error`` on every answer that passes through it (see
    ``present_declined_payment_intent``).
    """
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    pairs = [(k, v) for k, v in pairs if k not in ("confirm", "off_session")]
    resp = forward(state, req, body=urllib.parse.urlencode(pairs).encode())
    pi = resp.json_body()
    if resp.status != 200 or not isinstance(pi, dict) or "id" not in pi:
        return resp
    with state.lock:
        pm = state.payment_methods.get(req.form_value("payment_method"))
    error = dict(decline, type="card_error", doc_url=CARD_DECLINED_DOC_URL)
    if pm is not None:
        error["payment_method"] = pm
    with state.lock:
        state.declines[pi["id"]] = error
    detach = Request("POST", "/v1/payment_intents/" + pi["id"], "", req.headers,
                     b"payment_method=")
    resp = forward(state, detach)
    pi = resp.json_body()
    if resp.status != 200 or not isinstance(pi, dict):
        return resp
    pi = present(state, pi)
    return Response.json(402, {"error": dict(copy.deepcopy(error), payment_intent=pi)})


def present_declined_payment_intent(state, pi):
    """How Stripe shows a PaymentIntent whose confirmation was declined
    (https://docs.stripe.com/payments/paymentintents/lifecycle : a failed
    payment attempt returns it to ``requires_payment_method``, with
    ``last_payment_error`` set and no ``payment_method``)."""
    with state.lock:
        error = state.declines.get(pi.get("id"))
    if error is None or pi.get("status") != "requires_payment_method":
        return pi
    pi["last_payment_error"] = copy.deepcopy(error)
    pi["payment_method"] = pi.get("payment_method") or None   # localstripe: ""
    return pi


def present_redirect_to_url(state, pi):
    """3-D Secure: https://docs.stripe.com/payments/3d-secure and
    https://docs.stripe.com/api/payment_intents/object#payment_intent_object-next_action-redirect_to_url

    For a server-side confirmation with ``return_url`` Stripe answers
    ``requires_action`` with ``next_action = {"type": "redirect_to_url",
    "redirect_to_url": {"url": <bank page>, "return_url": <return_url>}}``;
    localstripe answers ``{"type": "use_stripe_sdk", ...}``.  The bank page is
    this proxy's ``/_bank/<pi_id>``.
    """
    action = pi.get("next_action")
    if not isinstance(action, dict) or action.get("type") != "use_stripe_sdk":
        return pi
    with state.lock:
        return_url = state.intents.get(pi.get("id"), {}).get("return_url")
    pi["next_action"] = {
        "type": "redirect_to_url",
        "redirect_to_url": {"url": "%s/_bank/%s" % (state.base_url, pi.get("id")),
                            "return_url": return_url},
    }
    return pi


def strip_refund_reason(req):
    """``reason`` on refund create:
    https://docs.stripe.com/api/refunds/create#create_refund-reason
    localstripe answers 400 "Unexpected reason"; removed before forwarding.
    Returns (body to forward, reason or None)."""
    pairs = req.form()
    reason = next((v for k, v in pairs if k == "reason"), None)
    if reason is None:
        return req.body, None
    return urllib.parse.urlencode([(k, v) for k, v in pairs if k != "reason"]).encode(), reason


def present_refund_reason(state, refund):
    """Put the ``reason`` given at creation back into the Refund object
    (https://docs.stripe.com/api/refunds/object#refund_object-reason), on the
    create answer and on every later retrieval or list through the proxy."""
    with state.lock:
        reason = state.refund_reasons.get(refund.get("id"))
    if reason is not None:
        refund["reason"] = reason
    return refund


def present(state, obj):
    """Walk a JSON answer and present every PaymentIntent / Refund in it the
    way Stripe would (see the functions above).  Also remembers each
    PaymentIntent's client_secret (needed by the bank page)."""
    if isinstance(obj, list):
        return [present(state, x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    for k, v in list(obj.items()):
        if isinstance(v, (dict, list)):
            obj[k] = present(state, v)
    kind = obj.get("object")
    if kind == "payment_intent" and obj.get("id"):
        if obj.get("client_secret"):
            state.intent(obj["id"]).setdefault("client_secret", obj["client_secret"])
        obj = present_declined_payment_intent(state, obj)
        obj = present_redirect_to_url(state, obj)
    elif kind == "refund" and obj.get("id"):
        obj = present_refund_reason(state, obj)
    return obj


# --------------------------------------------------------------------------
# Routing of Stripe API requests


def create_payment_intent(state, req):
    body, return_url = strip_return_url(state, req)
    decline = declined_card(state, req)
    if decline is not None:
        resp = create_declined_payment_intent(state, req, body, decline)
    else:
        resp = forward(state, req, body=body)
    obj = resp.json_body()
    pi = obj if resp.status == 200 else (obj or {}).get("error", {}).get("payment_intent")
    if isinstance(pi, dict) and pi.get("id"):
        info = state.intent(pi["id"])
        with state.lock:
            info["authorization"] = req.headers.get("Authorization")
            if return_url is not None:
                info["return_url"] = return_url
    return resp


def create_refund(state, req):
    body, reason = strip_refund_reason(req)
    resp = forward(state, req, body=body)
    obj = resp.json_body()
    if reason is not None and resp.status == 200 and isinstance(obj, dict) and obj.get("id"):
        with state.lock:
            state.refund_reasons[obj["id"]] = reason
    return resp


def stripe_api(state, req):
    """Returns (Response, executed_upstream)."""
    try:
        if req.method == "POST" and req.path == "/v1/payment_intents":
            resp = create_payment_intent(state, req)
        elif req.method == "POST" and req.path == "/v1/refunds":
            resp = create_refund(state, req)
        else:
            resp = forward(state, req)
            if req.method == "POST" and req.path == "/v1/payment_methods":
                remember_card(state, req, resp)
    except UpstreamUnavailable as e:
        return upstream_unavailable(str(e)), False
    obj = resp.json_body()
    if isinstance(obj, (dict, list)):
        resp = resp.with_json_body(present(state, obj))
    return resp, True


def handle_api(state, req):
    key = req.headers.get("Idempotency-Key")
    authorization = req.headers.get("Authorization")
    # Idempotency keys have no effect on GET and DELETE (Stripe docs), and a
    # request without an API key is refused before any endpoint executes.
    if req.method == "POST" and key and authorization:
        return apply_idempotency(state, req, authorization, key,
                                 lambda: stripe_api(state, req))
    return stripe_api(state, req)[0]


# --------------------------------------------------------------------------
# The test "bank" (3-D Secure page the customer is redirected to)


BANK_PATH = re.compile(r"^/_bank/(pi_[A-Za-z0-9_]+)(?:/(approve|fail))?/?$")


def bank_page(state, pi_id):
    """The page behind ``next_action.redirect_to_url.url``
    (https://docs.stripe.com/payments/3d-secure : the customer authenticates
    with the card issuer, then returns to ``return_url``)."""
    e = html.escape(pi_id)
    return Response.html(200, (
        "<!doctype html><html><head><meta charset=\"utf-8\">"
        "<title>3D Secure test bank</title></head><body>"
        "<h1>3D Secure authentication</h1><p>PaymentIntent <code>%s</code></p>"
        "<p><a id=\"approve\" href=\"/_bank/%s/approve\">Complete authentication</a></p>"
        "<p><a id=\"fail\" href=\"/_bank/%s/fail\">Fail authentication</a></p>"
        "</body></html>\n") % (e, e, e))


def return_location(return_url, pi_id, client_secret):
    """``return_url`` plus the ``payment_intent`` and
    ``payment_intent_client_secret`` query parameters Stripe appends when it
    sends the customer back (https://docs.stripe.com/payments/3d-secure/authentication-flow)."""
    parts = urllib.parse.urlsplit(return_url)
    extra = urllib.parse.urlencode([("payment_intent", pi_id),
                                    ("payment_intent_client_secret", client_secret or "")])
    query = parts.query + ("&" if parts.query else "") + extra
    return urllib.parse.urlunsplit(parts._replace(query=query))


def bank_authenticate(state, req, pi_id, success):
    """Complete (``approve``) or fail 3-D Secure through localstripe's own
    ``POST /v1/payment_intents/{id}/_authenticate`` (client_secret, success),
    then send the customer back to the remembered ``return_url``
    (https://docs.stripe.com/payments/3d-secure).

    GET (a browser): 302 to return_url.  POST (tests): JSON
    ``{"payment_intent": {...}, "redirect": "<location or null>"}``.
    """
    with state.lock:
        info = dict(state.intents.get(pi_id, {}))
    interactive = req.method == "GET"
    if not info.get("client_secret"):
        msg = "unknown PaymentIntent %s (not created through this proxy)" % pi_id
        return (Response.html(404, "<p>%s</p>\n" % html.escape(msg)) if interactive
                else Response.json(404, {"error": {"type": "invalid_request_error",
                                                   "message": msg}}))
    form = [("client_secret", info["client_secret"]),
            ("success", "true" if success else "false")]
    headers = http.client.HTTPMessage()
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    if info.get("authorization"):
        headers["Authorization"] = info["authorization"]
    else:
        form.append(("key", "pk_test_stripe_proxy"))   # localstripe accepts pk_ here
    path = "/v1/payment_intents/%s/_authenticate" % pi_id
    sub = Request("POST", path, "", headers, urllib.parse.urlencode(form).encode())
    try:
        resp = forward(state, sub)
    except UpstreamUnavailable as e:
        return upstream_unavailable(str(e))
    obj = resp.json_body()
    if resp.status != 200 or not isinstance(obj, dict):
        if interactive:
            return Response.html(resp.status, "<p>authentication failed upstream: %s</p>\n"
                                 % html.escape(resp.body.decode("utf-8", "replace")))
        return resp
    pi = present(state, obj)
    location = (return_location(info["return_url"], pi_id, info["client_secret"])
                if info.get("return_url") else None)
    if not interactive:
        return Response.json(200, {"payment_intent": pi, "redirect": location})
    if location is None:
        return Response.html(200, "<p>Authentication %s. No return_url was given.</p>\n"
                             % ("completed" if success else "failed"))
    return Response(302, [("Location", location), ("Content-Type", "text/plain")],
                    b"redirecting\n")


def handle_bank(state, req):
    m = BANK_PATH.match(req.path)
    if not m or req.method not in ("GET", "POST"):
        return Response.json(404, {"error": {"type": "invalid_request_error",
                                             "message": "Not Found"}})
    pi_id, action = m.group(1), m.group(2)
    if action is None:
        return bank_page(state, pi_id)
    return bank_authenticate(state, req, pi_id, action == "approve")


# --------------------------------------------------------------------------
# Recording and control endpoints


def mask_params(pairs):
    """Form parameters for the recording: card numbers -> last 4, CVC -> ***.
    A name given once maps to a string, a repeated name to a list."""
    out = {}
    for k, v in pairs:
        if k.endswith("[number]"):
            v = re.sub(r"\D", "", v)[-4:]
        elif k.endswith("[cvc]"):
            v = "***"
        if k in out:
            out[k] = out[k] if isinstance(out[k], list) else [out[k]]
            out[k].append(v)
        else:
            out[k] = v
    return out


def mask_api_key(authorization):
    if not authorization:
        return None
    token = authorization.split(" ", 1)[-1]
    return token[:8] + "..." + (token[-4:] if len(token) >= 20 else "")


def start_record(state, req):
    if req.is_json_body:
        try:
            params = json.loads(req.body or b"null")
        except ValueError:
            params = None
    else:
        params = mask_params(req.form())
    with state.lock:
        state.seq += 1
        entry = {
            "seq": state.seq,
            "time": time.time(),
            "method": req.method,
            "path": req.path,
            "query": mask_params(urllib.parse.parse_qsl(req.query, keep_blank_values=True)),
            "params": params,
            "idempotency_key": req.headers.get("Idempotency-Key"),
            "api_key": mask_api_key(req.headers.get("Authorization")),
            "status": None,
            "replayed": False,
            "upstream": state.upstream,
        }
        state.records.append(entry)
    return entry


def finish_record(state, entry, resp, started):
    with state.lock:
        entry["status"] = resp.status
        entry["replayed"] = resp.header("Idempotent-Replayed") == "true"
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        if resp.header("X-Proxy-Upstream-Error"):
            entry["upstream_error"] = resp.header("X-Proxy-Upstream-Error")


def take_drop_rule(state, req):
    """Test control (not Stripe): lose this answer if a drop rule matches."""
    with state.lock:
        for rule in state.drop_rules:
            if rule["method"] == req.method and rule["path"] == req.path:
                rule["count"] -= 1
                if rule["count"] <= 0:
                    state.drop_rules.remove(rule)
                return True
    return False


def handle_control(state, req):
    if req.path == "/_proxy/requests" and req.method == "GET":
        with state.lock:
            return Response.json(200, [dict(e) for e in state.records])
    if req.path == "/_proxy/reset" and req.method == "POST":
        with state.lock:
            state.records.clear()
        return Response.json(200, {"ok": True})
    if req.path == "/_proxy/upstream" and req.method == "GET":
        with state.lock:
            return Response.json(200, {"url": state.upstream})
    if req.path == "/_proxy/upstream" and req.method == "POST":
        try:
            url = json.loads(req.body or b"{}").get("url")
        except (ValueError, AttributeError):
            url = None
        parts = urllib.parse.urlsplit(url or "")
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            return Response.json(400, {"error": {"message": "expected {\"url\": \"http://HOST:PORT\"}"}})
        with state.lock:
            state.upstream = url.rstrip("/")
        return Response.json(200, {"url": state.upstream})
    if req.path == "/_proxy/drop_next" and req.method == "POST":
        try:
            rule = json.loads(req.body or b"{}")
            rule = {"method": str(rule.get("method", "POST")).upper(),
                    "path": str(rule["path"]), "count": int(rule.get("count", 1))}
        except (ValueError, KeyError, TypeError, AttributeError):
            return Response.json(400, {"error": {"message": "expected {\"path\": \"/v1/...\"}"}})
        with state.lock:
            state.drop_rules.append(rule)
        return Response.json(200, rule)
    if req.path == "/_proxy/idempotency" and req.method == "GET":
        with state.lock:
            return Response.json(200, [
                {"key": s["key"], "method": s["method"], "path": s["path"],
                 "status": s["response"].status, "api_key": mask_api_key(scope[0])}
                for scope, s in state.idempotency.items()])
    return Response.json(404, {"error": {"message": "Not Found"}})


# --------------------------------------------------------------------------
# HTTP server


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-proxy/1"
    state = None        # set by make_server
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("stripe_proxy: %s\n" % (fmt % args))

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def dispatch(self):
        started = time.monotonic()
        body = self.read_body()
        parts = urllib.parse.urlsplit(self.path)
        req = Request(self.command, parts.path, parts.query, self.headers, body)
        state = self.state
        if req.path.startswith("/_proxy/"):
            resp = handle_control(state, req)
        else:
            entry = start_record(state, req)
            try:
                if req.path.startswith("/_bank/"):
                    resp = handle_bank(state, req)
                else:
                    resp = handle_api(state, req)
            except Exception as e:   # a bug here must not look like Stripe
                resp = Response.json(500, {"error": {"type": "api_error",
                                                     "message": "stripe_proxy: %r" % (e,)}})
            finish_record(state, entry, resp, started)
            if take_drop_rule(state, req):
                with state.lock:
                    entry["dropped"] = True
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
        self.send(resp)

    def send(self, resp):
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(upstream, port=0, verbose=False):
    state = State(upstream)
    handler = type("BoundHandler", (Handler,), {"state": state, "verbose": verbose})
    server = Server(("127.0.0.1", port), handler)
    state.base_url = "http://127.0.0.1:%d" % server.server_address[1]
    return server, state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True,
                        help="localstripe base URL, e.g. http://127.0.0.1:8420")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)

    server, state = make_server(args.upstream, args.port, args.verbose)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    # The socket is bound and listening since the constructor; say so.
    print("listening on %s" % state.base_url, flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
