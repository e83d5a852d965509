# MailTrail — the two commands are `make demo` and `make test`.
SWIFT   ?= swift
PYTHON  ?= python3
PYTEST  := MAILTRAIL_REQUIRE_BINARIES=1 $(PYTHON) -m pytest -q -p no:cacheprovider

# Debian packages the build, the tests and the demo need (installed when missing).
DEB_PACKAGES := libmilter-dev libhiredis-dev zlib1g-dev pkg-config \
                redis-server postfix nginx-light swaks miltertest wrk chromium openssl

.PHONY: all deps build release test unit-test integration-test bench demo clean

all: build

deps:
	@scripts/install-deps.sh $(DEB_PACKAGES)
	@$(PYTHON) -m pytest --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q pytest

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Every test: Swift unit tests, then the integration tests against the real binaries,
# redis-server, Postfix and nginx (started and stopped by the tests, on 127.0.0.1 only).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(PYTEST) Tests/integration

unit-test: deps
	$(SWIFT) test

integration-test: build
	$(PYTEST) Tests/integration

# The whole chain on loopback with one real newsletter; stops everything it started.
demo: deps
	scripts/demo.sh

# Figures beside a reference measured in the same run (not pass/fail tests).
bench: deps
	bench/rewrite
	bench/tracker

clean:
	rm -rf .build

# Coverage-guided fuzzing of the pure core (Fuzz/, libFuzzer + AddressSanitizer): every
# target for SECONDS seconds, one at a time; fails on any crash or broken invariant and
# keeps the input under .build-fuzz/crashes/<target>/.
.PHONY: fuzz sanitize
SECONDS ?= 60
fuzz: deps
	scripts/fuzz.sh $(SECONDS)

# The Swift unit tests and a selection of the integration tests (against sanitized binaries)
# under AddressSanitizer (and LeakSanitizer), then ThreadSanitizer; any report fails it.
sanitize: deps
	scripts/sanitize.sh
