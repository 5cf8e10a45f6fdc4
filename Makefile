# clusterd: build, test, fuzz, install.  See README.md.
#   make                      build clusterd, cluster_control and agentsim
#   make check                unit + integration tests
#   make SANITIZE=address,undefined check
#   make fuzz                 build the fuzz targets and run each briefly
#   make bench                benchmarks, figures into docs/benchmarks.md
#   make bench-scale          10 workers, 50,000 agents (docs/benchmarks.md)
#   make install DESTDIR=... PREFIX=...   (make uninstall)
#   make deb                  Debian package in build/deb/
#   make image [DEB=...]      the VM appliance (appliance/, docs/appliance.md)
#   make image-test           boot it under qemu (tests/image)
#
# Each folder of clusterd/src below is one layer or role, built as a static
# library (build/lib/libcd_<folder>.a) that every program, unit test, fuzz
# target and benchmark links.  Dependencies point down the list LAYERS:
# a folder may include only headers of folders before it (checked by
# scripts/check-layers.sh, part of `make check`).

# `make` alone builds the programs, though the libraries' rules come first.
.DEFAULT_GOAL := all

CC	?= cc
PREFIX	?= /usr/local
DESTDIR	?=
BUILD	?= build
FUZZ_SECONDS ?= 20

PKGS	 = libcjson openssl sqlite3
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2 -Werror
CFLAGS	?= -O2 -g
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) -Iclusterd/src \
	   $(shell pkg-config --cflags $(PKGS))
DEPFLAGS = -MMD -MP
LDLIBS	 = -lev $(shell pkg-config --libs $(PKGS)) -lz -lpthread -lm

ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=$(SANITIZE)
endif

# Quiet by default: "CC file" per object; V=1 prints whole commands.
ifeq ($(V),1)
Q	 =
msg	 = @true
else
Q	 = @
msg	 = @printf '  %-6s %s\n'
endif

SRC	 = clusterd/src
# Lowest first.  Link order is the reverse.
LAYERS	 = base net sync agent lb uplink master worker balancer
LIBS	 = $(foreach l,$(LAYERS),$(BUILD)/lib/libcd_$(l).a)
LINK_LIBS = $(foreach l,$(shell echo $(LAYERS) | tr ' ' '\n' | tac),\
	    $(BUILD)/lib/libcd_$(l).a)

define layer_lib
$(1)_OBJS := $$(patsubst $(SRC)/%.c,$(BUILD)/obj/%.o,$$(wildcard $(SRC)/$(1)/*.c))
$(BUILD)/lib/libcd_$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	$(msg) AR $$@
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_lib,$(l))))

UNIT_TESTS = $(sort $(basename $(notdir $(wildcard tests/unit/test_*.c))))
UNIT_BINS = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
TEST_HELPERS = $(patsubst tests/unit/%.c,$(BUILD)/obj/tests/%.o,\
	       $(wildcard tests/unit/helpers/*.c))

.PHONY: all libs check unit integration layers fuzz fuzz-build install \
	uninstall clean run stop bench bench-scale deb FORCE

all: $(BUILD)/clusterd $(BUILD)/cluster_control $(BUILD)/agentsim \
     $(BUILD)/roguepeer

libs: $(LIBS)

$(BUILD)/obj/%.o: $(SRC)/%.c
	@mkdir -p $(@D)
	$(msg) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(msg) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/obj/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(msg) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/clusterd: $(BUILD)/obj/daemon/clusterd.o $(LIBS)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS)

$(BUILD)/cluster_control: $(BUILD)/obj/cli/cluster_control.o $(LIBS)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS)

# The agent simulator, a test tool, reuses the connection and
# secure-message modules.
AGENTSIM_OBJS = $(patsubst tools/%.c,$(BUILD)/obj/tools/%.o,\
		$(wildcard tools/agentsim/*.c))
$(BUILD)/agentsim: $(AGENTSIM_OBJS) $(LIBS)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(AGENTSIM_OBJS) $(LINK_LIBS) $(LDLIBS)

# A hostile cluster member for the integration tests (t_rogue_peer).
$(BUILD)/roguepeer: $(BUILD)/obj/tools/roguepeer/roguepeer.o $(LIBS)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELPERS) $(LIBS)
	@mkdir -p $(@D)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(TEST_HELPERS) $(LINK_LIBS) $(LDLIBS) \
	    -lcmocka

# test_simlink tests a module of the agent simulator, linked in too.
$(BUILD)/tests/test_simlink: $(BUILD)/obj/tests/test_simlink.o \
	    $(BUILD)/obj/tools/agentsim/simlink.o $(TEST_HELPERS) $(LIBS)
	@mkdir -p $(@D)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS) \
	    -lcmocka

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do \
	    echo "== $$t"; (cd tests/unit && ../../$$t); done

integration: all
	tests/integration/run.sh

layers:
	scripts/check-layers.sh

check: layers unit integration

# Fuzz targets need clang's libFuzzer.  They link the same libraries,
# built again with coverage and sanitizers under $(BUILD)/fuzz-libs.
FUZZ_SAN = address,undefined
FUZZ_BUILD = $(BUILD)/fuzz-libs
FUZZ_TARGETS = $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_LINK_LIBS = $(patsubst $(BUILD)/%,$(FUZZ_BUILD)/%,$(LINK_LIBS))

fuzz-libs:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang SANITIZE= \
	    CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,$(FUZZ_SAN)" libs

$(BUILD)/fuzz/%: tests/fuzz/%.c fuzz-libs
	@mkdir -p $(@D)
	$(msg) FUZZ $@
	$(Q)clang -g -O1 -std=c11 -D_GNU_SOURCE -Iclusterd/src \
	    $(shell pkg-config --cflags $(PKGS)) \
	    -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $< $(FUZZ_LINK_LIBS) $(LDLIBS)

fuzz-build: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

# Each target runs FUZZ_SECONDS; a crash fails the run and its input is
# kept in $(BUILD)/fuzz/ (the log's tail shows the stack).
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	    echo "== $$t for $(FUZZ_SECONDS)s"; \
	    if ! $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
	        $(BUILD)/fuzz/corpus-$$t tests/fuzz/seeds/$$t \
	        > $(BUILD)/fuzz/$$t.log 2>&1; then \
	        tail -n 40 $(BUILD)/fuzz/$$t.log; exit 1; fi; \
	    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' \
	        $(BUILD)/fuzz/$$t.log; \
	done; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) passed, 0 failed"

# The layout of the Debian package (debian/rules runs this with
# PREFIX=/usr): programs, man pages, examples, systemd units made for
# these paths, /etc/clusterd, the home /var/lib/clusterd, a logrotate file
# and lb/ (renderer, templates, balancer host files).  agentsim, a test
# tool, goes beside the key helper in LIBEXECDIR, not on PATH.  Existing
# configuration is never overwritten; `make uninstall` removes the rest.
SBINDIR	 ?= $(PREFIX)/sbin
BINDIR	 ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/clusterd
DATADIR	 ?= $(PREFIX)/share
MANDIR	 ?= $(DATADIR)/man
DOCDIR	 ?= $(DATADIR)/doc/clusterd
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
UNITDIR	 ?= $(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)/systemd/system
LBDIR	 = $(DATADIR)/clusterd/lb
DIST	 = $(BUILD)/dist
DIST_FILES = $(addprefix $(DIST)/,clusterd.service clusterd-balancer.service \
	     clusterd-genkey clusterd.logrotate)

SUBST_PATHS = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g'
# The paths are baked in: made again each time (FORCE), as they may differ.
$(DIST)/%.service: configs/systemd/%.service.in FORCE
	@mkdir -p $(@D)
	$(Q)$(SUBST_PATHS) $< > $@
$(DIST)/clusterd-genkey $(DIST)/clusterd.logrotate: $(DIST)/%: configs/%.in FORCE
	@mkdir -p $(@D)
	$(Q)$(SUBST_PATHS) $< > $@
FORCE:

install: all $(DIST_FILES)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	    $(DESTDIR)$(LBDIR)/templates $(DESTDIR)$(LBDIR)/deploy
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/clusterd \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/clusterd
	install -m 0755 $(BUILD)/clusterd $(DESTDIR)$(SBINDIR)/clusterd
	install -m 0755 $(BUILD)/cluster_control $(DESTDIR)$(BINDIR)/cluster_control
	install -m 0755 $(BUILD)/agentsim $(DESTDIR)$(LIBEXECDIR)/agentsim
	install -m 0755 $(DIST)/clusterd-genkey $(DESTDIR)$(LIBEXECDIR)/clusterd-genkey
	install -m 0644 docs/man/clusterd.8 docs/man/cluster_control.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/man/clusterd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 configs/*.conf \
	    $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 $(DIST)/clusterd.service $(DIST)/clusterd-balancer.service \
	    $(DESTDIR)$(UNITDIR)/
	install -m 0644 $(DIST)/clusterd.logrotate \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/clusterd
	@# A new host starts as a single-node master (its key is made at
	@# first start); an existing clusterd.conf is kept.
	[ -e $(DESTDIR)$(SYSCONFDIR)/clusterd/clusterd.conf ] || \
	    install -m 0644 configs/master.conf $(DESTDIR)$(SYSCONFDIR)/clusterd/clusterd.conf
	install -m 0755 lb/render.py $(DESTDIR)$(LBDIR)/render.py
	install -m 0644 lb/cluster.example.json $(DESTDIR)$(LBDIR)/
	install -m 0644 lb/templates/*.in $(DESTDIR)$(LBDIR)/templates/
	install -m 0644 lb/deploy/* $(DESTDIR)$(LBDIR)/deploy/
	@# Installed for real (as root, no DESTDIR): the units' user and its
	@# folders, as the package's postinst makes them (MAKE_USER=no: not).
	@if [ -z "$(DESTDIR)" ] && [ "$(MAKE_USER)" != no ] && [ "$$(id -u)" -eq 0 ]; then \
	    getent passwd clusterd >/dev/null || \
	        adduser --quiet --system --group --no-create-home \
	        --home $(LOCALSTATEDIR)/lib/clusterd clusterd; \
	    chown root:clusterd $(SYSCONFDIR)/clusterd; \
	    chown clusterd:clusterd $(LOCALSTATEDIR)/lib/clusterd; fi

# Leaves /etc/clusterd and the home (configuration, key, registry, logs).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/clusterd $(DESTDIR)$(BINDIR)/cluster_control \
	    $(DESTDIR)$(LIBEXECDIR)/agentsim $(DESTDIR)$(LIBEXECDIR)/clusterd-genkey \
	    $(DESTDIR)$(MANDIR)/man8/clusterd.8 $(DESTDIR)$(MANDIR)/man8/cluster_control.8 \
	    $(DESTDIR)$(MANDIR)/man5/clusterd.conf.5 \
	    $(DESTDIR)$(UNITDIR)/clusterd.service \
	    $(DESTDIR)$(UNITDIR)/clusterd-balancer.service \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/clusterd
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR)/clusterd
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null

# The Debian package (debian/, debhelper 13), built from a copy of the
# tree so dpkg-buildpackage's files stay under $(BUILD)/deb:
# $(BUILD)/deb/clusterd_VERSION_ARCH.deb.  Needs dpkg-dev and debhelper
# (scripts/deps.sh); lintian checks it when present.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB_SRC = $(BUILD)/deb/src/clusterd-$(DEB_VERSION)
DEB_FILE = $(BUILD)/deb/clusterd_$(DEB_VERSION)_$(DEB_ARCH).deb
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
	    { echo "deb: needs dpkg-dev and debhelper (scripts/deps.sh)"; exit 1; }
	@v=$$(sed -n 's/^#define CLUSTERD_VERSION[^"]*"\(.*\)"/\1/p' \
	    clusterd/src/base/version.h); [ "$$v" = "$(DEB_VERSION)" ] || \
	    { echo "deb: debian/changelog says $(DEB_VERSION), version.h $$v"; exit 1; }
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	@# The tree's files (tracked or new, not ignored): no build output.
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	    git ls-files -z -co --exclude-standard | tar -c --null -T -; \
	else tar -c --exclude=./$(BUILD) --exclude=./run .; fi | tar -x -C $(DEB_SRC)
	@# Not our make's variables (BUILD=...): the copy builds as released.
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL -u BUILD \
	    -u PREFIX -u DESTDIR -u SBINDIR -u BINDIR -u LIBEXECDIR -u SYSCONFDIR \
	    -u LOCALSTATEDIR -u UNITDIR \
	    dpkg-buildpackage -b -uc -us
	mv $(BUILD)/deb/src/*.deb $(BUILD)/deb/src/*.changes \
	    $(BUILD)/deb/src/*.buildinfo $(BUILD)/deb/
	rm -rf $(BUILD)/deb/src
	@if command -v lintian >/dev/null; then \
	    lintian --fail-on error,warning,info $(BUILD)/deb/*.changes; \
	    else echo "deb: lintian is not installed: not checked"; fi
	@echo "deb: $(DEB_FILE)"

BENCH_BINS = $(addprefix $(BUILD)/,bench_agents bench_integ bench_secmsg \
	     enroll_load)
$(BUILD)/bench_%: tests/bench/bench_%.c $(LIBS)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -o $@ $< $(LDFLAGS) $(LINK_LIBS) $(LDLIBS)

$(BUILD)/enroll_load: tests/bench/enroll_load.c $(LIBS)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -o $@ $< $(LDFLAGS) $(LINK_LIBS) $(LDLIBS)

# Benchmarks write their figures to docs/benchmarks.md.
bench: all $(BENCH_BINS)
	python3 tests/bench/sync_bench.py --build $(BUILD) --out docs/benchmarks.md
	python3 tests/bench/enroll_bench.py --build $(BUILD) --out docs/benchmarks.md
	python3 tests/bench/gateway_bench.py --build $(BUILD) --out docs/benchmarks.md
	python3 tests/bench/rebalance_bench.py --build $(BUILD) --out docs/benchmarks.md
	python3 tests/bench/ha_bench.py --build $(BUILD) --out docs/benchmarks.md
	@if [ "$$(id -u)" -eq 0 ]; then tests/bench/lab_bench.sh --out docs/benchmarks.md && \
	    tests/bench/drain_bench.sh --out docs/benchmarks.md && \
	    tests/bench/ha_lab_bench.sh --out docs/benchmarks.md; \
	    else echo "bench: the lab's failover figures need root: skipped"; fi

# Wazuh's own cluster test scale: a master, 10 workers, 50,000 agents
# enrolling from scratch (about 5 minutes here).
bench-scale: all
	python3 tests/bench/scale_bench.py --build $(BUILD) --out docs/benchmarks.md

run: all
	scripts/cluster.sh start

stop:
	scripts/cluster.sh stop

# The appliance (docs/appliance.md): from the package `make deb` builds
# first, or DEB=path.  Root, mmdebstrap and qemu-utils (scripts/deps.sh image).
.PHONY: image image-test
image: $(if $(DEB),,deb)
	appliance/build.sh DEB=$(if $(DEB),$(DEB),$(DEB_FILE))

image-test:
	tests/image/run.sh

clean:
	rm -rf $(BUILD)

# (Not under build/image*: the appliance's unpacked tree has *.d folders.)
-include $(shell find $(BUILD) -path '$(BUILD)/image*' -prune -o -name '*.d' -type f -print 2>/dev/null)
