# Hosted Checkout — the commands of the README.
#   make run    build (release) and serve on http://127.0.0.1:8080 with ./data/checkout.sqlite
#   make test   the whole test suite, as CI runs it (Swift tests, the fixture example, make e2e's checks)
#   make e2e    real-browser journeys, accessibility and HTML validity of the hosted pages
#   make bench  throughput and latency beside nginx, on loopback
#   make deps   install the Debian packages the build needs (only those missing)
#   make test-deps  the test peers in .venv (localstripe), as make test does first
#   make schemathesis  the API against its OpenAPI document (scripts/schemathesis.sh)

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BUILD_PACKAGES := pkg-config libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev
BENCH_PACKAGES := wrk nginx-light curl
HOST ?= 127.0.0.1
PORT ?= 8080
DB ?= ./data/checkout.sqlite

.PHONY: deps test-deps bench-deps build release run test e2e bench clean schemathesis

define install_missing
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))

# The peers the Swift tests start themselves: localstripe (PyPI, pinned) in the project's .venv.
test-deps:
	$(call install_missing,python3-venv)
	@[ -x .venv/bin/python ] && .venv/bin/python -c 'import sys' 2>/dev/null || python3 -m venv .venv
	@.venv/bin/python -c 'import localstripe' 2>/dev/null \
		|| .venv/bin/pip install -q --disable-pip-version-check -r Tests/stripe/requirements.txt

bench-deps: deps
	$(call install_missing,$(BENCH_PACKAGES))

build: deps
	swift build

release: deps
	swift build -c release --product checkout

run: release
	.build/release/checkout serve --host $(HOST) --port $(PORT) --db $(DB) --demo

test: deps test-deps
	swift build
	swift test
	.venv/bin/python Tests/stripe/test_proxy.py
	python3 Examples/fixture-e2e/test_checkout.py
	bash scripts/e2e.sh

e2e: deps
	bash scripts/e2e.sh

schemathesis: deps
	swift build --product checkout
	bash scripts/schemathesis.sh

bench: bench-deps release
	bash scripts/bench.sh

clean:
	rm -rf .build
