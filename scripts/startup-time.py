#!/usr/bin/env python3
"""Time from process start to the first answered request of a throwaway fixture server.

Starts `checkout serve --db :memory: --port 0` (optionally with --fixtures FILE) N times, reads the
`listening on URL` line, and requests /healthz; the figure of one start is the time from just
before the process is spawned to the end of that first response. Prints every start and the
median. Usage: startup-time.py BINARY [N] [FIXTURES]
"""
import os
import statistics
import subprocess
import sys
import time
import urllib.request


def one_start(binary, fixtures):
    arguments = [binary, "serve", "--db", ":memory:", "--port", "0", "--log-level", "warning"]
    if fixtures:
        arguments += ["--fixtures", fixtures]
    started = time.perf_counter()
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               cwd=os.path.dirname(os.path.abspath(__file__)) + "/..")
    try:
        line = process.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"unexpected first line: {line!r}")
        url = line.removeprefix("listening on ")
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            response.read()
            if response.status != 200:
                raise SystemExit(f"/healthz answered {response.status}")
        return (time.perf_counter() - started) * 1000
    finally:
        process.terminate()
        process.wait(timeout=10)


def main():
    binary = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    fixtures = sys.argv[3] if len(sys.argv) > 3 else None
    figures = [one_start(binary, fixtures) for _ in range(count)]
    print("starts (ms):", " ".join(f"{figure:.0f}" for figure in figures))
    print(f"median {statistics.median(figures):.0f} ms, min {min(figures):.0f}, max {max(figures):.0f}"
          f" over {count} starts{' with ' + fixtures if fixtures else ''}")


if __name__ == "__main__":
    main()
