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
	SWIFT=$(SWIFT) scripts/swift-build release

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
	bench/redis-stream
	bench/tracker
	bench/milter

clean:
	rm -rf .build

# Coverage-guided fuzzing of the pure core, the enrichment reader and the tracker's HTTP head
# reader (Fuzz/, libFuzzer + AddressSanitizer): every
# target for SECONDS seconds, one at a time; fails on any crash or broken invariant and
# keeps the input under .build-fuzz/crashes/<target>/.
.PHONY: fuzz sanitize
SECONDS ?= 60
fuzz: deps
	scripts/fuzz.sh $(SECONDS)

# Soak: MESSAGES corpus messages (default 20000; CI: MESSAGES=2000) through the throwaway
# Postfix with the milter, 20 parallel senders (SMTP and sendmail), a concurrent open/click
# load on the tracker, Redis restarted twice and the milter once. Prints a summary and fails
# naming every failed check. Builds and tests the debug build unless SOAK_BUILD=release.
.PHONY: soak
MESSAGES ?= 20000
SOAK_BUILD ?= debug
soak: deps
	$(PYTHON) scripts/soak.py --messages $(MESSAGES) --build $(SOAK_BUILD)

# The unit tests, then chosen integration tests against sanitized binaries, under
# AddressSanitizer (with LeakSanitizer), then ThreadSanitizer (scripts/sanitize.sh).
sanitize: deps
	scripts/sanitize.sh
