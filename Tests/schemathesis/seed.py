"""Gives a fresh server the objects only a customer's browser can make, so that Schemathesis has
something real behind every read-only operation: a webhook endpoint (pointing at a closed port, so
its deliveries fail and are kept), then a subscription plan sold through a checkout session that is
paid on the hosted page with the test card. That leaves a customer, a transaction, a subscription,
events and a delivery with its attempts.

Usage: seed.py BASE_URL TEST_KEY. Standard library only."""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

base, key = sys.argv[1].rstrip("/"), sys.argv[2]


def api(method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


api("POST", "/v1/webhook_endpoints", {"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"], "description": "seed"})
plan = api("POST", "/v1/plans", {"name": "Seed plan", "amount": 150000, "interval": "month"})
session = api("POST", "/v1/checkout/sessions", {"planId": plan["id"], "customerEmail": "seed@example.com"})
page = urllib.request.urlopen(session["url"]).read().decode()
token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
form = {"csrf_token": token, "email": "seed@example.com", "name": "Seed Customer", "card_number": "4242 4242 4242 4242",
        "card_expiry": "12/39", "card_cvc": "123", "action": "pay"}
opener = urllib.request.build_opener(NoRedirect)
try:
    opener.open(urllib.request.Request(session["url"], data=urllib.parse.urlencode(form).encode(), method="POST"))
except urllib.error.HTTPError as answer:
    if answer.code != 303:
        sys.exit(f"seed: paying the session answered {answer.code}")
for _ in range(50):
    if api("GET", "/v1/subscriptions")["data"] and api("GET", "/v1/events")["data"]:
        break
    time.sleep(0.1)
else:
    sys.exit("seed: the paid session left no subscription or event")
print(f"seed: paid {session['id']}: customer, transaction, subscription, events, a failing webhook endpoint")
