# bench/bench.mk - the benchmark, as a fragment for the top-level Makefile:
#
#     include bench/bench.mk
#
# Paths are relative to the repository root, the directory make runs in.
#   make bench                        build bench/msgport-bench and run it
#   make bench BENCH_ARGS='-q'        a quick smoke run (see msgport-bench -h)
#   make bench-instr                  only the instr part (instructions per call,
#                                     callgrind; about 15 s)
#   make bench-median [BENCH_RUNS=3]   N full runs; the targets with each run's
#                                     figure and the median (bench/median.sh)
#   make bench-irq                    only irq-bench (interrupt forwarding:
#                                     event-to-mp_recv latency; about 5 s)
#   make bench-flood                  only flood-bench (a call's latency while
#                                     another client floods the port with pulses)
#   make bench-build                  build only
#   make bench-clean                  remove the program and bench/out/
# Defines only bench* targets and BENCH_* variables. The program links the
# msgport library, BENCH_MSGPORT_LIB (default build/libmsgport.a), and
# depends on it, so the including Makefile's rule for it builds it first.

# Whatever includes this keeps its own default goal (restored at the end).
BENCH_SAVED_GOAL := $(.DEFAULT_GOAL)

BENCH_DIR  := bench
BENCH_BIN  := $(BENCH_DIR)/msgport-bench
BENCH_OUT  := $(BENCH_DIR)/out
BENCH_SRCS := $(addprefix $(BENCH_DIR)/, \
	bench.c runner.c peer.c stats.c results.c fmt.c report.c report_msgport.c \
	report_instr.c targets.c csv.c plot.c sysinfo.c util.c tmpdir.c backends.c \
	instr.c instr_child.c \
	base_spin.c base_ring.c base_futex.c base_pipe.c base_unix.c base_iceoryx.c \
	mp_backend.c)
BENCH_HDRS := $(BENCH_DIR)/pingpong.h $(BENCH_DIR)/harness.h $(BENCH_DIR)/job.h
BENCH_CFLAGS ?= -O2 -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Iinclude
# The msgport library: built by the including Makefile's rule for it.
BENCH_MSGPORT_LIB ?= build/libmsgport.a
BENCH_LDLIBS ?= -pthread
BENCH_ARGS ?=

# Found when the recipe runs (after bench-deps may have installed them),
# hence `=` and $(shell) rather than `:=` or $(wildcard), which caches.
BENCH_IOX_INC = $(shell ls -d /usr/include/iceoryx/*/iceoryx_binding_c 2>/dev/null | sort -V | tail -n 1 | sed 's|/iceoryx_binding_c$$||')
BENCH_IOX_FLAGS = $(if $(BENCH_IOX_INC),-DPP_HAVE_ICEORYX=1 -isystem $(BENCH_IOX_INC))
BENCH_IOX_LIBS = $(if $(BENCH_IOX_INC),-liceoryx_binding_c)
BENCH_CONFIG := $(BENCH_OUT)/build-config

.PHONY: bench bench-build bench-deps bench-clean bench-pages bench-instr bench-median bench-irq bench-flood

BENCH_PAGES_BIN := $(BENCH_DIR)/pages/pages-bench
BENCH_PAGES_ARGS ?= -t 0.3
BENCH_IRQ_BIN := $(BENCH_DIR)/irq/irq-bench
BENCH_IRQ_ARGS ?=
BENCH_FLOOD_BIN := $(BENCH_DIR)/flood/flood-bench
BENCH_FLOOD_ARGS ?=

# The 64-byte, size and concurrency cases, then long data (bench/pages/),
# then interrupt forwarding (bench/irq/), then the pulse flood (bench/flood/).
bench: bench-build $(BENCH_PAGES_BIN) $(BENCH_IRQ_BIN) $(BENCH_FLOOD_BIN)
	./$(BENCH_BIN) $(BENCH_ARGS)
	./$(BENCH_PAGES_BIN) $(BENCH_PAGES_ARGS)
	./$(BENCH_IRQ_BIN) -o $(BENCH_OUT) $(BENCH_IRQ_ARGS)
	./$(BENCH_FLOOD_BIN) -o $(BENCH_OUT) $(BENCH_FLOOD_ARGS)

bench-flood: $(BENCH_FLOOD_BIN)
	./$(BENCH_FLOOD_BIN) -o $(BENCH_OUT) $(BENCH_FLOOD_ARGS)

$(BENCH_FLOOD_BIN): $(BENCH_DIR)/flood/flood-bench.c $(BENCH_MSGPORT_LIB)
	$(CC) $(BENCH_CFLAGS) -Iinclude -o $@ $< $(BENCH_MSGPORT_LIB) $(BENCH_LDLIBS)

bench-irq: $(BENCH_IRQ_BIN)
	./$(BENCH_IRQ_BIN) -o $(BENCH_OUT) $(BENCH_IRQ_ARGS)

$(BENCH_IRQ_BIN): $(BENCH_DIR)/irq/irq-bench.c $(BENCH_MSGPORT_LIB)
	$(CC) $(BENCH_CFLAGS) -Iinclude -o $@ $< $(BENCH_MSGPORT_LIB) $(BENCH_LDLIBS)

# Issue 10's targets as the median of BENCH_RUNS full runs (bench/median.sh).
BENCH_RUNS ?= 3
bench-median: bench-build $(BENCH_PAGES_BIN)
	BENCH_ARGS='$(BENCH_ARGS)' BENCH_PAGES_ARGS='$(BENCH_PAGES_ARGS)' ./$(BENCH_DIR)/median.sh $(BENCH_RUNS)

bench-pages: $(BENCH_PAGES_BIN)
	./$(BENCH_PAGES_BIN) $(BENCH_PAGES_ARGS)

# Instructions per 64-byte call under callgrind, without the timed parts
# and without pages-bench (BENCH_ARGS may add -c, -i or -o).
bench-instr: bench-build
	./$(BENCH_BIN) -p instr $(BENCH_ARGS)

# Long data: zero-copy pages, ordinary buffers, Unix socket, pipe, iceoryx
# (when installed) and memcpy, 4 KiB to 1 GiB.
$(BENCH_PAGES_BIN): $(BENCH_DIR)/pages/pages-bench.c $(BENCH_CONFIG) $(BENCH_MSGPORT_LIB)
	$(CC) $(BENCH_CFLAGS) -Iinclude $(if $(BENCH_IOX_INC),-DPB_HAVE_ICEORYX=1 -isystem $(BENCH_IOX_INC)) \
		-o $@ $< $(BENCH_MSGPORT_LIB) $(BENCH_IOX_LIBS) $(BENCH_LDLIBS)

bench-build: $(BENCH_BIN)

# As root on Debian, install what is missing; otherwise say what would help.
# BENCH_NO_INSTALL=1 skips this step.
bench-deps:
	@missing=""; \
	[ -n "$$(ls -d /usr/include/iceoryx/*/iceoryx_binding_c 2>/dev/null)" ] && command -v iox-roudi >/dev/null \
		|| missing="iceoryx libiceoryx-binding-c-dev"; \
	command -v gnuplot >/dev/null || missing="$$missing gnuplot-nox"; \
	command -v valgrind >/dev/null || missing="$$missing valgrind"; \
	if [ -z "$$missing" ] || [ -n "$(BENCH_NO_INSTALL)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "bench: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing \
			|| echo "bench: could not install$$missing; going on without"; \
	else \
		echo "bench: missing$$missing (as root: apt-get install$$missing); going on without"; \
	fi

# Rewritten only when the iceoryx flags change, so that installing iceoryx
# rebuilds the program and nothing else does.
$(BENCH_CONFIG): bench-deps
	@mkdir -p $(@D)
	@echo '$(BENCH_IOX_FLAGS) $(BENCH_IOX_LIBS)' | cmp -s - $@ || \
		echo '$(BENCH_IOX_FLAGS) $(BENCH_IOX_LIBS)' > $@

$(BENCH_BIN): $(BENCH_SRCS) $(BENCH_HDRS) $(BENCH_CONFIG) $(BENCH_MSGPORT_LIB)
	$(CC) $(BENCH_CFLAGS) $(BENCH_IOX_FLAGS) -o $@ $(BENCH_SRCS) $(BENCH_MSGPORT_LIB) \
		$(BENCH_IOX_LIBS) $(BENCH_LDLIBS)

bench-clean:
	rm -rf $(BENCH_BIN) $(BENCH_IRQ_BIN) $(BENCH_FLOOD_BIN) $(BENCH_OUT)

.DEFAULT_GOAL := $(BENCH_SAVED_GOAL)
