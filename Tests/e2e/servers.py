"""The servers an end-to-end run talks to: our checkout server, and the merchant's own site that
success redirects lead to. Both listen on free ports of 127.0.0.1 and are stopped by their
owner (`with` blocks), also when a check fails or the run is interrupted."""

import http.client
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse
import uuid


class Response:
    """One HTTP answer, as the wire carried it (no redirect followed)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)


def request(method, url, body=None, headers=None, timeout=15):
    """Sends one request with http.client and returns the answer as it came, redirects included."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, path or "/", body=body, headers=headers or {})
        answer = connection.getresponse()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    finally:
        connection.close()


class CheckoutServer:
    """`checkout serve` on a free port with a fresh SQLite file, and an organization's test key."""

    def __init__(self, binary, resources, workdir, handle="e2e", name="Northwind Tickets"):
        self.binary = binary
        self.resources = resources
        self.workdir = workdir
        self.handle = handle
        self.name = name
        self.process = None
        self.url = None
        self.key = None
        self.log_path = os.path.join(workdir, "checkout.log")

    def __enter__(self):
        db = os.path.join(self.workdir, "checkout.sqlite")
        created = subprocess.run([self.binary, "org", "create", self.handle, "--name", self.name, "--db", db],
                                 capture_output=True, text=True, timeout=60)
        if created.returncode != 0:
            raise RuntimeError("checkout org create failed: " + created.stderr.strip())
        self.key = json.loads(created.stdout)["test_key"]
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--db", db, "--resources", self.resources,
             "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, text=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.log_path) as output:
                first = output.readline()
            if first.startswith("listening on ") and first.endswith("\n"):
                self.url = first.split()[2].rstrip("/")
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__(None, None, None)
        with open(self.log_path) as output:
            raise RuntimeError("checkout serve did not report 'listening on': " + output.read()[-2000:])

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return False

    def api(self, method, path, body=None):
        """Calls the JSON API with the test key; every POST carries a fresh Idempotency-Key.
        Returns the decoded body, or raises with the error the server gave."""
        headers = {"Authorization": "Bearer " + self.key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        answer = request(method, self.url + path, data, headers)
        if answer.status >= 400:
            raise RuntimeError("%s %s answered %d: %s" % (method, path, answer.status, answer.text[:500]))
        return answer.json()


THANKS = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Thank you · Merchant</title></head>
<body><main><h1>Thanks for your order</h1><p>Order reference: <code id="reference">%s</code></p></main></body></html>
"""

# A page whose script rewrites its heading: it tells whether the browser runs scripts at all.
JS_PROBE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>probe</title></head>
<body><h1 id="probe">scripts off</h1><script>document.getElementById("probe").textContent = "scripts on";</script></body></html>
"""


class MerchantSite:
    """The merchant's own web site on another origin: `/thanks` says thanks and shows the query
    parameter `cs`; `/js-probe` tells whether scripts run. Remembers the paths it was asked for."""

    def __init__(self):
        self.visits = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.visits.append(self.path)
                target = urllib.parse.urlsplit(self.path)
                if target.path == "/thanks":
                    reference = urllib.parse.parse_qs(target.query).get("cs", [""])[0]
                    body = THANKS % reference.replace("&", "&amp;").replace("<", "&lt;")
                elif target.path == "/js-probe":
                    body = JS_PROBE
                else:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = "http://127.0.0.1:%d" % self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False
