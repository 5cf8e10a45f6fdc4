# clusterd: build, test, fuzz, install.  See README.md.
#   make                      build clusterd and cluster_control
#   make check                unit + integration tests
#   make SANITIZE=address,undefined check
#   make fuzz                 build the fuzz targets and run each briefly
#   make install DESTDIR=... PREFIX=...

CC	?= cc
PREFIX	?= /usr/local
DESTDIR	?=
BUILD	?= build
FUZZ_SECONDS ?= 20

PKGS	 = libcjson openssl libsystemd sqlite3
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2 -Werror
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE $(WARN) -Iclusterd/src \
	   $(shell pkg-config --cflags $(PKGS))
LDLIBS	 = -lev $(shell pkg-config --libs $(PKGS)) -lz -lpthread -lm

ifneq ($(SANITIZE),)
CFLAGS	+= -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=$(SANITIZE)
endif

SRC	 = clusterd/src
# Modules shared by the daemon and the unit tests.
LIB_OBJS = buf.o log.o config.o frame.o tls.o reap.o conn.o link.o hello.o \
	   syncset.o integ.o scanner.o watch.o safefs.o bundle.o apply.o reload.o \
	   strmap.o agents.o enroll_parse.o registry.o enroll.o secmsg.o \
	   keepalive.o archives.o haproxy.o lbpool.o \
	   control.o node.o
DAEMON_OBJS = $(LIB_OBJS) master.o msync.o mreg.o pools.o worker.o wsync.o \
	   wagents.o gateway.o balancer.o \
	   clusterd.o
LIB	 = $(addprefix $(BUILD)/obj/,$(LIB_OBJS))

UNIT_TESTS = test_config test_frame test_hello test_buf test_tls_link test_secmsg \
	     test_syncset test_integ test_bundle test_apply \
	     test_enroll_parse test_agents test_registry \
	     test_keepalive test_archives test_haproxy test_haproxy_cmd test_lbpool
UNIT_BINS = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

.PHONY: all check unit integration fuzz fuzz-build install clean run stop bench

all: $(BUILD)/clusterd $(BUILD)/cluster_control $(BUILD)/agentsim

$(BUILD)/obj/%.o: $(SRC)/%.c $(wildcard $(SRC)/*.h) | $(BUILD)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests $(BUILD)/fuzz:
	mkdir -p $@

$(BUILD)/clusterd: $(addprefix $(BUILD)/obj/,$(DAEMON_OBJS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The agent simulator reuses the connection and secure-message modules.
$(BUILD)/agentsim: tools/agentsim.c $(LIB) | $(BUILD)/obj
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB) $(LDFLAGS) \
	    $(LDLIBS)

$(BUILD)/cluster_control: $(BUILD)/obj/cluster_control.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB) $(LDFLAGS) \
	    $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do \
	    echo "== $$t"; (cd tests/unit && ../../$$t); done

integration: all
	tests/integration/run.sh

check: unit integration

# Fuzz targets need clang's libFuzzer; they reuse the module sources.
FUZZ_CFLAGS = -g -O1 -std=c11 -D_GNU_SOURCE -Iclusterd/src \
	$(shell pkg-config --cflags $(PKGS)) -fsanitize=fuzzer,address,undefined
FUZZ_TARGETS = fuzz_frame fuzz_config fuzz_bundle fuzz_index fuzz_enroll \
	       fuzz_secmsg fuzz_gwframes fuzz_haproxy fuzz_lbpool

$(BUILD)/fuzz/fuzz_frame: tests/fuzz/fuzz_frame.c $(SRC)/frame.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(SRC)/config.c $(SRC)/log.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_bundle: tests/fuzz/fuzz_bundle.c $(SRC)/bundle.c $(SRC)/safefs.c \
	    $(SRC)/syncset.c $(SRC)/buf.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_index: tests/fuzz/fuzz_index.c $(SRC)/integ.c $(SRC)/syncset.c \
	    $(SRC)/frame.c $(SRC)/safefs.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_enroll: tests/fuzz/fuzz_enroll.c $(SRC)/enroll_parse.c \
	    $(SRC)/agents.c $(SRC)/strmap.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_secmsg: tests/fuzz/fuzz_secmsg.c $(SRC)/secmsg.c \
	    $(SRC)/keepalive.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_gwframes: tests/fuzz/fuzz_gwframes.c $(SRC)/secmsg.c \
	    $(SRC)/keepalive.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_haproxy: tests/fuzz/fuzz_haproxy.c $(SRC)/haproxy.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/fuzz_lbpool: tests/fuzz/fuzz_lbpool.c $(SRC)/lbpool.c \
	    $(SRC)/config.c $(SRC)/log.c | $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

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

$(BUILD)/bench_integ: tests/bench/bench_integ.c $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench_secmsg: tests/bench/bench_secmsg.c $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/enroll_load: tests/bench/enroll_load.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

# Benchmarks write their figures to docs/benchmarks.md.
bench: all $(BUILD)/bench_integ $(BUILD)/enroll_load $(BUILD)/bench_secmsg
	python3 tests/bench/sync_bench.py --build $(BUILD) --out docs/benchmarks.md
	python3 tests/bench/enroll_bench.py --build $(BUILD) --out docs/benchmarks.md
	python3 tests/bench/gateway_bench.py --build $(BUILD) --out docs/benchmarks.md
	python3 tests/bench/rebalance_bench.py --build $(BUILD) --out docs/benchmarks.md
	@if [ "$$(id -u)" -eq 0 ]; then tests/bench/lab_bench.sh --out docs/benchmarks.md; \
	    else echo "bench: the lab's failover figures need root: skipped"; fi

run: all
	scripts/cluster.sh start

stop:
	scripts/cluster.sh stop

clean:
	rm -rf $(BUILD)
