# The two commands: `make demo` (compile testdata/aliases and query it) and `make test` (every test).
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/debug
RELEASE ?= .build/release

.PHONY: all build release demo test tsan-test unit-tests completions check-completions man bench bench-postconf bench-startup bench-ldap bench-sql clean \
	install install-files uninstall deb test-install

# The version, from the one constant every tool prints with --version (Sources/ToolSupport/ToolVersion.swift).
VERSION_SOURCE := Sources/ToolSupport/ToolVersion.swift
VERSION := $(shell sed -n 's/^ *public static let version = "\(.*\)"$$/\1/p' $(VERSION_SOURCE))
PACKAGE := $(shell sed -n 's/^ *public static let package = "\(.*\)"$$/\1/p' $(VERSION_SOURCE))

# What make install installs. PROGRAMS are required; SERVER_PROGRAMS go to SBINDIR, each only when the
# release build has it (a tree without the server still installs). Pages: every man/*.[1-8].
PROGRAMS := postmap postalias newaliases postconf postexplain postmap-migrate
SERVER_PROGRAMS := postmapd
COMPLETION_TOOLS := postmap postalias newaliases postconf postexplain postmap-migrate postmapd
MAN_PAGES := $(wildcard man/*.[1-8])
UNIT := systemd/postmapd.service
# The server's sample configuration with the tables it names: installed as an example (its paths are
# relative to `sample =`, and its tables are samples), not as the configuration in SYSCONFDIR.
SAMPLE_DIR := testdata/postmapd
SAMPLE_FILES := $(wildcard $(SAMPLE_DIR)/*)

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# (the package sets /usr/lib/systemd/system, where Debian 12 and Debian 13, whose /lib is merged into /usr, both look)
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= $(PREFIX)/etc
DOCDIR ?= $(PREFIX)/share/doc/$(PACKAGE)

# The Debian package's Depends: these, and the libraries of the table types, which scripts/make-deb asks
# the catalog for (completion-spec --deb-depends: each row's library; a backend's library goes in its row).
# The package installs on Debian 12 and 13: where Debian 13 renamed a package, both names are alternatives,
# newest first (libcrypto.so.3, which postconf -T loads, is libssl3t64 there, libssl3 in Debian 12).
DEB_DEPENDS := libc6, libgcc-s1, libstdc++6, libssl3t64 | libssl3, adduser
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_LIBDIR := /usr/lib/$(PACKAGE)

all: build

build:
	@scripts/ensure-deps build
	$(SWIFT) build

release:
	@scripts/ensure-deps build
	SWIFT=$(SWIFT) scripts/build-release

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

# Every test: unit tests, differential and interop tests against Debian's Postfix, Thread Sanitizer, the
# generated files, install and package tests; scripts/run-tests runs them step by step and prints each
# step's wall and CPU time (also in .build/test-timing.txt). REQUIRE_ORACLE=1 (set there): a test whose
# oracle (Debian's Postfix, its plugins, slapd, ...) is missing fails instead of being skipped.
test:
	scripts/run-tests

# Thread Sanitizer on the thread-sharing test (8 threads in every table type while its files are
# rebuilt) and on the in-process map server under 8 clients and reloads (a separate build in
# .build-tsan; a reported race fails the run).
tsan-test:
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	POSTMAPD_INPROCESS_TEST=1 $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "ThreadSharing|ServerConcurrency"

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

man:
	scripts/gen-man

# Install the release binaries, man pages, completions, and (when present) the server's unit and sample
# configuration under DESTDIR/PREFIX. Nothing else is written: Debian's /usr/sbin/postmap stays Debian's
# (with the default PREFIX=/usr/local, ours comes first in PATH; see the README's Install section).
install: release install-files

# The copy alone, from an existing release build (scripts/test-install and make deb use it).
install-files:
	@for p in $(PROGRAMS); do test -x $(RELEASE)/$$p || { echo "install: $(RELEASE)/$$p is not built (make release)" >&2; exit 1; }; done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(addprefix $(RELEASE)/,$(PROGRAMS)) $(DESTDIR)$(BINDIR)/
	@for p in $(SERVER_PROGRAMS); do \
		if test -x $(RELEASE)/$$p; then echo "install $$p"; install -d $(DESTDIR)$(SBINDIR) && install -m 755 $(RELEASE)/$$p $(DESTDIR)$(SBINDIR)/ || exit 1; \
		else echo "install: $$p is not built: skipped"; fi; done
	@for m in $(MAN_PAGES); do s=$${m##*.}; echo "install $$m"; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	@for t in $(COMPLETION_TOOLS); do \
		install -m 644 completions/$$t.bash $(DESTDIR)$(BASHCOMPDIR)/$$t && \
		sed '1{/^#compdef/!d}' completions/$$t.zsh > $(DESTDIR)$(ZSHCOMPDIR)/_$$t && chmod 644 $(DESTDIR)$(ZSHCOMPDIR)/_$$t && \
		install -m 644 completions/$$t.fish $(DESTDIR)$(FISHCOMPDIR)/$$t.fish || exit 1; done
	@if test -f $(UNIT); then echo "install $(UNIT)"; install -d $(DESTDIR)$(UNITDIR) && \
		sed -E -e 's|^(ExecStart=)[^ ]*/postmapd|\1$(SBINDIR)/postmapd|' -e 's|/etc/postmapd/|$(SYSCONFDIR)/postmapd/|g' \
			$(UNIT) > $(DESTDIR)$(UNITDIR)/$(notdir $(UNIT)) && chmod 644 $(DESTDIR)$(UNITDIR)/$(notdir $(UNIT)); fi
	@if test -n "$(SAMPLE_FILES)"; then echo "install $(SAMPLE_DIR)"; \
		install -d $(DESTDIR)$(DOCDIR)/examples/postmapd && \
		install -m 644 $(SAMPLE_FILES) $(DESTDIR)$(DOCDIR)/examples/postmapd/; fi

# Remove what install-files installs (the names it would install from this tree, and the server's).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(PROGRAMS)) $(addprefix $(DESTDIR)$(SBINDIR)/,$(SERVER_PROGRAMS))
	rm -f $(foreach m,$(notdir $(MAN_PAGES)) postmapd.8 postmapd.cf.5,$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(m))
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(COMPLETION_TOOLS)) $(addprefix $(DESTDIR)$(ZSHCOMPDIR)/_,$(COMPLETION_TOOLS)) \
		$(addsuffix .fish,$(addprefix $(DESTDIR)$(FISHCOMPDIR)/,$(COMPLETION_TOOLS)))
	rm -f $(DESTDIR)$(UNITDIR)/$(notdir $(UNIT)) $(addprefix $(DESTDIR)$(DOCDIR)/examples/postmapd/,$(notdir $(SAMPLE_FILES)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples/postmapd $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

# The Debian package, from the install tree (scripts/make-deb; the layout is explained in the README).
deb: release
	scripts/make-deb

# postmap -q - with 10,000 keys against a 100,000-row pgsql and mysql table (private PostgreSQL and
# MariaDB servers), ours against Debian's postmap with postfix-pgsql and postfix-mysql.
bench-sql: release
	@scripts/ensure-deps bench
	scripts/bench-sql --no-build

clean:
	rm -rf .build .build-tsan .demo bench-out .deb
