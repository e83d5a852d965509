# MailTrail — `make test` and `make demo` are the two commands.
SWIFT      ?= swift
CONFIG     ?= debug
BUILD_DIR  := .build
PYTHON     ?= python3

# Debian packages the build and the tests need.
DEB_PACKAGES := libmilter-dev libhiredis-dev zlib1g-dev pkg-config \
                redis-server postfix nginx-light swaks miltertest wrk chromium

.PHONY: all deps build release test unit-test integration-test bench demo clean

all: build

deps:
	@scripts/install-deps.sh $(DEB_PACKAGES)
	@$(PYTHON) -m pytest --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q pytest

build: deps
	$(SWIFT) build -c $(CONFIG)

release: deps
	$(SWIFT) build -c release

unit-test: deps
	$(SWIFT) test

integration-test: build
	$(PYTHON) -m pytest -q Tests/integration

test: unit-test integration-test

bench: release
	bench/rewrite

clean:
	rm -rf $(BUILD_DIR)
