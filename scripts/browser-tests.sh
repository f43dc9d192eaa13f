#!/usr/bin/env bash
# Real-browser checks of the hosted pages: Debian's Chromium and chromedriver, driven by Selenium
# from a project-local virtual environment (.venv). Installs what is missing, then runs every
# Tests/browser/*.py. Expects the debug build (make test builds it first).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
missing=$(for p in chromium chromium-driver python3-venv; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
    echo "installing:" $missing
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import selenium' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r Tests/browser/requirements.txt
fi
[ -x .build/debug/checkout ] || swift build --product checkout

status=0
for test in Tests/browser/*.py; do
    echo "== $test"
    .venv/bin/python "$test" || status=1
done
exit $status
