#!/usr/bin/env bash
# End-to-end checks of the hosted pages (make e2e; make test runs it after the Swift suites):
#   - customer journeys in headless Chromium, JavaScript on and off, with screenshots;
#   - accessibility: axe-core (WCAG 2.x A/AA) and our own checks on every page state;
#   - HTML validity: html5lib on the exact bytes served, in the browser and over plain HTTP;
#   - then scripts/schemathesis.sh (the API against its OpenAPI document) when it exists.
#
# Installs what is missing first: Debian's chromium, chromium-driver and python3-venv; a
# project-local .venv with the pinned Tests/e2e/requirements.txt (reinstalled when that file
# changes); the debug build of the server when .build/debug/checkout is absent.
#
# Output: one line per check (PASS/FAIL), the failures again at the end, the screenshot folder,
# and `e2e: N passed, N failed`. Screenshots and report.txt go to e2e-out/ (E2E_OUT overrides).
# The run is bounded: E2E_TIMEOUT seconds (default 600) for the browser checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
OUT=${E2E_OUT:-e2e-out}
REQUIREMENTS=Tests/e2e/requirements.txt

missing=$(for p in chromium chromium-driver python3-venv; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
    echo "e2e: installing" $missing
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The stamp holds the hash of the requirements the .venv was filled from.
stamp=.venv/.e2e-requirements.sha256
wanted=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if ! .venv/bin/python -c 'import sys' 2>/dev/null || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "e2e: installing the Python packages of $REQUIREMENTS into .venv"
    [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys' 2>/dev/null || { rm -rf .venv; python3 -m venv .venv; }
    .venv/bin/pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$wanted" >"$stamp"
fi

if [ -z "${CHECKOUT_BINARY:-}" ] && [ ! -x .build/debug/checkout ]; then
    echo "e2e: building .build/debug/checkout"
    swift build --product checkout
fi

status=0
timeout --signal=TERM --kill-after=30 "${E2E_TIMEOUT:-600}" .venv/bin/python Tests/e2e/run.py --out "$OUT" || status=$?
if [ "$status" = 124 ]; then
    echo "e2e: FAIL: the browser checks did not finish within ${E2E_TIMEOUT:-600} s (stopped)"
fi

if [ -f scripts/schemathesis.sh ]; then
    echo "e2e: scripts/schemathesis.sh"
    bash scripts/schemathesis.sh || status=1
fi
exit "$status"
