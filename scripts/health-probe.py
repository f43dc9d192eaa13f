#!/usr/bin/env python3
"""Latency of GET /healthz while something else loads the server: one keep-alive connection, one
request every 10 ms (so the probe itself adds ~100 req/s, not load), for SECONDS. Prints
`p50_ms p99_ms max_ms count errors` on one line. Usage: health-probe.py URL SECONDS
"""
import http.client
import sys
import time
import urllib.parse


def main():
    url, seconds = sys.argv[1], float(sys.argv[2])
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    latencies, errors = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
            latencies.append((time.monotonic() - start) * 1000)
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        time.sleep(max(0.0, 0.01 - (time.monotonic() - start)))
    latencies.sort()
    if not latencies:
        print("- - - 0 %d" % errors)
        return

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]
    print("%.2f %.2f %.2f %d %d" % (percentile(50), percentile(99), latencies[-1], len(latencies), errors))


if __name__ == "__main__":
    main()
