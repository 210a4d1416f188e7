# The two commands: `make demo` (compile testdata/aliases and query it) and `make test` (every test).
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/debug
RELEASE := .build/release

.PHONY: all build release demo test tsan-test unit-tests completions check-completions bench bench-postconf bench-startup bench-ldap bench-sql clean

all: build

build:
	@scripts/ensure-deps build
	$(SWIFT) build

release:
	@scripts/ensure-deps build
	$(SWIFT) build -c release --static-swift-stdlib

# Compile the shipped sample aliases into hash and lmdb tables and show lookups in them.
demo: release
	@rm -rf .demo && mkdir -p .demo && cp testdata/aliases .demo/aliases
	@printf 'compatibility_level = 3.6\nalias_database = hash:.demo/aliases, lmdb:.demo/aliases\n' > .demo/main.cf
	$(RELEASE)/newaliases -c .demo
	@echo '--- postalias -q postmaster hash:.demo/aliases'
	@$(RELEASE)/postalias -c .demo -q postmaster hash:.demo/aliases
	@echo '--- postalias -q - lmdb:.demo/aliases  (keys: root, abuse, webmaster, nobody-here)'
	@printf 'root\nabuse\nwebmaster\nnobody-here\n' | $(RELEASE)/postalias -c .demo -q - lmdb:.demo/aliases || true
	@echo '--- postalias -s hash:.demo/aliases | head'
	@$(RELEASE)/postalias -c .demo -s hash:.demo/aliases | head
	@echo '--- postmapd --config testdata/postmapd/postmapd.cf  (the map server, in the background)'
	@$(RELEASE)/postmapd --config testdata/postmapd/postmapd.cf & pid=$$!; \
	  for i in $$(seq 50); do $(RELEASE)/postmap -c .demo -q postmaster@example.com socketmap:inet:127.0.0.1:10027:virtual >/dev/null 2>&1 && break; sleep 0.1; done; \
	  echo '--- postmap -q - socketmap:inet:127.0.0.1:10027:virtual'; \
	  printf 'alice@example.com\nbob@example.com\nnew-hire@example.com\nsomeone@elsewhere.org\n' | $(RELEASE)/postmap -c .demo -q - socketmap:inet:127.0.0.1:10027:virtual; \
	  echo '--- postmap -q example.org socketmap:inet:127.0.0.1:10027:transport'; \
	  $(RELEASE)/postmap -c .demo -q example.org socketmap:inet:127.0.0.1:10027:transport; \
	  echo '--- postmap -q alice@example.com tcp:127.0.0.1:10028'; \
	  $(RELEASE)/postmap -c .demo -q alice@example.com tcp:127.0.0.1:10028; \
	  echo '--- metrics (http://127.0.0.1:10029/metrics), lookups:'; \
	  exec 3<>/dev/tcp/127.0.0.1/10029 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && grep '^postmapd_lookups_total' <&3; \
	  kill -TERM $$pid; wait $$pid

# Every test: unit tests, differential and interop tests against Debian's Postfix, completion checks.
# REQUIRE_ORACLE=1: a test whose oracle (Debian's Postfix, its plugins, slapd) is missing fails instead
# of being skipped.
test:
	@scripts/ensure-deps test
	$(SWIFT) build --build-tests
	REQUIRE_ORACLE=1 $(SWIFT) test --skip-build
	$(MAKE) tsan-test
	scripts/gen-completions --check
	scripts/gen-postconf-table --check
	scripts/test-completions

# Thread Sanitizer on the thread-sharing test (8 threads in every table type while its files are
# rebuilt) and on the in-process map server under 8 clients and reloads (a separate build in
# .build-tsan; a reported race fails the run).
tsan-test:
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "ThreadSharing|ServerConcurrency"

completions:
	scripts/gen-completions

bench:
	@scripts/ensure-deps bench
	scripts/bench

# postconf -n, -d, -nx and -M process time against Debian's postconf.
bench-postconf: release
	@scripts/ensure-deps bench
	scripts/bench-postconf

# One postmap -q KEY lookup per process: wall time of 50, callgrind instructions and dynamic-loader
# relocations, ours against Debian's postmap.
bench-startup: release
	@scripts/ensure-deps bench
	scripts/bench-startup --no-build

# postmap -q - with 10,000 keys against a private slapd, ours against Debian's postmap + postfix-ldap.
bench-ldap: release
	@scripts/ensure-deps bench
	scripts/bench-ldap --no-build

# postmap -q - with 10,000 keys against a 100,000-row pgsql and mysql table (private PostgreSQL and
# MariaDB servers), ours against Debian's postmap with postfix-pgsql and postfix-mysql.
bench-sql: release
	@scripts/ensure-deps bench
	scripts/bench-sql --no-build

clean:
	rm -rf .build .build-tsan .demo bench-out
