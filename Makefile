# clusterd: build, test, fuzz, install.  See README.md.
#   make                      build clusterd, cluster_control and agentsim
#   make check                unit + integration tests
#   make SANITIZE=address,undefined check
#   make fuzz                 build the fuzz targets and run each briefly
#   make bench                benchmarks, figures into docs/benchmarks.md
#   make bench-scale          10 workers, 50,000 agents (docs/benchmarks.md)
#   make install DESTDIR=... PREFIX=...
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

PKGS	 = libcjson openssl libsystemd sqlite3
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2 -Werror
CFLAGS	?= -O2 -g
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) -Iclusterd/src \
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
	uninstall clean run stop bench bench-scale

all: $(BUILD)/clusterd $(BUILD)/cluster_control $(BUILD)/agentsim

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

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/doc/clusterd/examples
	install -m 0755 $(BUILD)/clusterd $(DESTDIR)$(PREFIX)/sbin/clusterd
	install -m 0755 $(BUILD)/cluster_control $(DESTDIR)$(PREFIX)/bin/cluster_control
	install -m 0755 $(BUILD)/agentsim $(DESTDIR)$(PREFIX)/bin/agentsim
	install -m 0644 docs/man/clusterd.8 docs/man/cluster_control.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 docs/man/clusterd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 docs/man/agentsim.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 configs/*.conf configs/clusterd.service \
	    $(DESTDIR)$(PREFIX)/share/doc/clusterd/examples/

BENCH_BINS = $(addprefix $(BUILD)/,bench_integ bench_secmsg enroll_load)
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
	@if [ "$$(id -u)" -eq 0 ]; then tests/bench/lab_bench.sh --out docs/benchmarks.md; \
	    else echo "bench: the lab's failover figures need root: skipped"; fi

# Wazuh's own cluster test scale: a master, 10 workers, 50,000 agents
# enrolling from scratch (about 5 minutes here).
bench-scale: all
	python3 tests/bench/scale_bench.py --build $(BUILD) --out docs/benchmarks.md

run: all
	scripts/cluster.sh start

stop:
	scripts/cluster.sh stop

# The appliance (docs/appliance.md): from the package `make deb` built, or
# DEB=path.  Root, mmdebstrap and qemu-utils (scripts/deps.sh image).
.PHONY: image image-test
image:
	appliance/build.sh $(if $(DEB),DEB=$(DEB))

image-test:
	tests/image/run.sh

clean:
	rm -rf $(BUILD)

# (Not under build/image*: the appliance's unpacked tree has *.d folders.)
-include $(shell find $(BUILD) -path '$(BUILD)/image*' -prune -o -name '*.d' -type f -print 2>/dev/null)
