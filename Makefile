# msgport - build, test, demo, install.
#   make            library (static and shared) and the msgport tool
#   make test       build and run every test (ends with "N passed, N failed")
#   make test-asan  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-tsan  the same under ThreadSanitizer (test-tsan-ci: and the soak, for CI)
#   make soak       every transport, many senders, every message checked
#   make python     the Python package's extension (python/, into $(B)/python)
#   make test-net   the NATS gateway's tests alone (docs/net.md)
#   make bench-net  a remote call over the gateways against raw NATS (docs/net.md)
#   make check      the layering rule of src/ (scripts/check-layers.sh) and its test
#   make demo       echo server, calls through the tool and a C client
#   make install PREFIX=/usr/local   (manual pages into $(MANDIR): man/README.md;
#                   the Python package into $(PYDIR): python/README.md)

CC      ?= cc
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
B       ?= build

CSTD     = -std=c11 -D_GNU_SOURCE
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers \
           -Werror=incompatible-pointer-types -Werror=implicit-function-declaration -Werror=int-conversion
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(SAN) -fPIC -Iinclude -pthread $(CFLAGS)
# The library's own sources include each other as "layer/file.h" (docs/architecture.md).
LIB_CFLAGS = $(CFLAGS_ALL) -Isrc
LDFLAGS_ALL = $(SAN) -pthread $(LDFLAGS)

# libmsgport-phoenix: libphoenix's names and OS layer (docs/compat.md), over
# libmsgport, which exports mp_* names only.
PHX_SRCS := src/api/compat/phoenix_names.c src/api/compat/phoenix_os_threads.c \
	src/api/compat/phoenix_os_sync.c
PHX_OBJS := $(PHX_SRCS:src/%.c=$(B)/obj-phx/%.o)
PHX_HDRS := $(shell find include/msgport-phoenix -name '*.h')
LIB_SRCS := $(filter-out $(PHX_SRCS),$(shell find src -name '*.c' | sort))
LIB_HDRS := $(shell find src -name '*.h')
LIB_OBJS := $(LIB_SRCS:src/%.c=$(B)/obj/%.o)
TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(TEST_SRCS:tests/%.c=$(B)/tests/%.o)
SOVER   := 0
# Examples of the compatibility front-ends (docs/compat.md), run by make test.
COMPAT_EXAMPLES := $(B)/examples/fs/fs-server $(B)/examples/fs/fs-client \
	$(B)/examples/fs/null-driver $(B)/examples/moroso/pingpong
# Interrupt forwarding (mp_pulse_on_fd), run by make test.
IRQ_EXAMPLES := $(B)/examples/irq/irq-server $(B)/examples/irq/irq-driver
# A port served from event loops next to a timer, run by make test; the
# libuv one only where libuv is installed (scripts/deps.sh installs it).
HAVE_LIBUV := $(shell pkg-config --exists libuv 2>/dev/null && echo 1)
EVLOOP_EXAMPLES := $(B)/examples/eventloop/epoll-server $(B)/examples/eventloop/tick-client \
	$(if $(HAVE_LIBUV),$(B)/examples/eventloop/uv-server)

FUZZ_SECONDS ?= 30

# The NATS gateway net/msgport-net (docs/net.md): built, and tested by
# make test, when libnats is installed (scripts/deps.sh installs it).
NET_LIBS := $(shell pkg-config --libs libnats 2>/dev/null || \
	{ [ -e /usr/include/nats/nats.h ] && echo -lnats; })
NET_BIN := $(if $(NET_LIBS),$(B)/net/msgport-net $(B)/net/nettool)
NET_SRCS := $(wildcard net/*.c)

.PHONY: deps all test test-net bench-net test-asan test-tsan test-tsan-ci soak demo install clean fuzz model check python
all: $(B)/libmsgport.a $(B)/libmsgport.so $(B)/libmsgport-phoenix.a \
	$(B)/libmsgport-phoenix.so $(B)/msgport $(B)/examples/echo-client $(COMPAT_EXAMPLES) \
	$(IRQ_EXAMPLES) $(EVLOOP_EXAMPLES) $(NET_BIN)

$(B)/obj/%.o: src/%.c $(LIB_HDRS) include/msgport.h $(PHX_HDRS) include/msgport/phoenix.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -fvisibility=hidden -c $< -o $@

# Every external function of libmsgport-phoenix is a libphoenix name.  Its
# .so finds libmsgport.so beside it ($$ORIGIN) wherever both are installed.
$(B)/obj-phx/%.o: src/%.c $(LIB_HDRS) include/msgport.h $(PHX_HDRS) include/msgport/phoenix.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(B)/libmsgport-phoenix.a: $(PHX_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/libmsgport-phoenix.so: $(PHX_OBJS) $(B)/libmsgport.so src/libmsgport-phoenix.map
	$(CC) -shared -Wl,-soname,libmsgport-phoenix.so.$(SOVER) \
		-Wl,--version-script=src/libmsgport-phoenix.map -o $@.$(SOVER) $(PHX_OBJS) \
		-L$(B) -lmsgport -Wl,-rpath,'$$ORIGIN' $(LDFLAGS_ALL)
	ln -sf libmsgport-phoenix.so.$(SOVER) $@

$(B)/libmsgport.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/libmsgport.so: $(LIB_OBJS) src/libmsgport.map
	$(CC) -shared -Wl,-soname,libmsgport.so.$(SOVER) -Wl,--version-script=src/libmsgport.map \
		-o $@.$(SOVER) $(LIB_OBJS) $(LDFLAGS_ALL)
	ln -sf libmsgport.so.$(SOVER) $@

$(B)/msgport: tools/msgport.c tools/stat.c tools/stat.h $(B)/libmsgport.a
	$(CC) $(CFLAGS_ALL) tools/msgport.c tools/stat.c $(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

$(B)/examples/irq/%: examples/irq/%.c examples/irq/irq.h $(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< $(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

$(B)/examples/eventloop/uv-server: examples/eventloop/uv-server.c examples/eventloop/tick.h \
		$(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $$(pkg-config --cflags libuv) $< $(B)/libmsgport.a -o $@ \
		$$(pkg-config --libs libuv) $(LDFLAGS_ALL)

$(B)/examples/eventloop/%: examples/eventloop/%.c examples/eventloop/tick.h $(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< $(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

$(B)/examples/%: examples/%.c $(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< $(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

# The Phoenix examples are Phoenix code: built from an installed tree with
# Phoenix's flags (tests/phoenix-install.sh), the way a user builds them.
PHX_FLAGS = -Wall -Wstrict-prototypes -Wundef -Werror -fno-common
$(B)/examples/fs/%: examples/fs/%.c $(B)/libmsgport-phoenix.a $(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(PHX_FLAGS) $(OPT) $(SAN) -Iinclude/msgport-phoenix $< $(B)/libmsgport-phoenix.a \
		$(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

$(B)/tests/%.o: tests/%.c $(wildcard tests/*.h) include/msgport.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc -c $< -o $@

$(B)/msgport-test: $(TEST_OBJS) $(B)/libmsgport-phoenix.a $(B)/libmsgport.a
	$(CC) $(TEST_OBJS) $(B)/libmsgport-phoenix.a $(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

# The install test rebuilds the fs examples from `make install` into
# $(B)/phx-prefix through pkg-config msgport-phoenix; run.sh then runs them.
# What the build and the tests need and the machine lacks (Debian; as root).
deps:
	./scripts/deps.sh

test: deps
	$(MAKE) all $(B)/msgport-test $(if $(SAN),,python)
	bash scripts/check-man.sh
	bash scripts/check-man.sh --self-test
	bash scripts/check-abi.sh $(B)
	bash scripts/check-abi.sh --self-test $(B)
	./tests/phoenix-install.sh $(B) "$(SAN)"
	MSGPORT_PYTEST="$(PYTEST_CMD)" ./tests/run.sh $(B)

# The Python package (python/README.md): cffi in API mode, compiled against
# include/msgport.h and linked to $(B)/libmsgport.so (found by its rpath).
# Debian's python3, where scripts/deps.sh installs cffi, pytest and numpy.
# Its tests (pytest) run after the C suite, not under the sanitizers (the
# interpreter is not built with them).
PYTHON ?= /usr/bin/python3
PY_ENV = PYTHONPATH=$(CURDIR)/$(B)/python:$(CURDIR)/python
PYTEST_CMD = $(if $(SAN),,$(PY_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider python/tests)
python: $(B)/python/.built
$(B)/python/.built: python/build_msgport.py $(B)/libmsgport.so include/msgport.h \
		include/msgport/phoenix.h $(PHX_HDRS)
	$(PYTHON) python/build_msgport.py . $(B)
	@touch $@

$(B)/net/msgport-net: $(NET_SRCS) $(wildcard net/*.h) include/msgport.h $(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags libnats 2>/dev/null) $(NET_SRCS) \
		$(B)/libmsgport.a $(NET_LIBS) -o $@ $(LDFLAGS_ALL)

$(B)/net/nettool: tests/net/nettool.c $(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< $(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

$(B)/net/net-bench: bench/net_bench.c $(B)/libmsgport.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags libnats 2>/dev/null) $< $(B)/libmsgport.a \
		$(NET_LIBS) -o $@ $(LDFLAGS_ALL)

# A remote 64-byte call over two gateways against a raw NATS request/reply,
# same run (bench/net-bench.sh; NET_BENCH_N round trips each).
NET_BENCH_N ?= 2000
bench-net: $(B)/net/msgport-net $(B)/net/net-bench $(B)/msgport
	./bench/net-bench.sh $(B) $(NET_BENCH_N)

# The gateway's tests alone (tests/net/run.sh): nats-server on loopback,
# two or more gateways with roots of their own.
test-net: $(B)/net/msgport-net $(B)/msgport $(B)/net/nettool
	./tests/net/run.sh $(B)

test-asan:
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test

# ThreadSanitizer over the suite.  Left out: the Moroso tests (they map
# pages at addresses TSan reserves) and phoenix_os_mutex_lock_unlock_errors,
# which misuses a mutex on purpose (Phoenix's -EBUSY, -EPERM) and learns of
# a detached thread's end from /proc: TSan reports both; and
# pulse_never_blocks_memory_flat, whose bound on the server's RSS growth
# TSan's shadow memory exceeds (the bound holds in the other builds).
TSAN_SKIP = '!moroso_' '!phoenix_os_mutex_lock_unlock_errors' '!pulse_never_blocks_memory_flat'
TSAN_MAKE = $(MAKE) B=build/tsan OPT="-O1 -g" SAN="-fsanitize=thread"
test-tsan:
	$(TSAN_MAKE) all build/tsan/msgport-test
	MSGPORT_TEST_TIMEOUT=120 ./tests/run.sh build/tsan $(TSAN_SKIP)

# CI's ThreadSanitizer run, about 5 minutes on the 2-core VM from clean
# (the suite about 1 min per transport): test-tsan, then the soak for
# TSAN_SOAK_SECONDS in all, whose processes stop at their first report.
TSAN_SOAK_SECONDS ?= 30
test-tsan-ci: test-tsan
	$(TSAN_MAKE) build/tsan/soak
	TSAN_OPTIONS=halt_on_error=1 SOAK_MESSAGES=0 SOAK_SECONDS=$(TSAN_SOAK_SECONDS) build/tsan/soak

# The soak (tests/soak/soak.h): every transport, clients of several
# processes and threads, every message checked, nothing leaked.  Stops at
# SOAK_MESSAGES messages or SOAK_SECONDS seconds in all, whichever first.
SOAK_MESSAGES ?= 300000
SOAK_SECONDS ?= 0
SOAK_SRCS := $(wildcard tests/soak/*.c)
$(B)/soak: $(SOAK_SRCS) tests/soak/soak.h $(B)/libmsgport.a
	$(CC) $(CFLAGS_ALL) $(SOAK_SRCS) $(B)/libmsgport.a -o $@ $(LDFLAGS_ALL)

soak: $(B)/soak
	SOAK_MESSAGES=$(SOAK_MESSAGES) SOAK_SECONDS=$(SOAK_SECONDS) $(B)/soak

# The layering rule (includes only point down, no cycles, no file over 600
# lines, shm_ fields only through os/shm.h): its test first, then src/.
check:
	bash scripts/test-check-layers.sh
	bash scripts/check-layers.sh

demo: deps
	$(MAKE) all
	./examples/demo.sh $(B)

# libFuzzer on the decoders of peer-written bytes (clang installed if root).
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# Spin model checks of the ring and port wake-up protocols.
model:
	bash scripts/model.sh

# The Python package goes where Debian's python3 of that version looks, for
# PREFIX /usr and /usr/local alike: PREFIX/lib/python3.N/dist-packages
# (msgport/ and the extension _msgport_cffi beside it).  The extension is
# compiled again for the install, its rpath $(LIBDIR) (not $(B)).  Skipped,
# and said so, when $(PYTHON) has no cffi (scripts/deps.sh installs it).
PY_VER = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PYDIR ?= $(PREFIX)/lib/python$(PY_VER)/dist-packages
install: all
	@if $(PYTHON) -c 'import cffi' 2>/dev/null; then \
		rm -rf $(B)/python-inst && \
		$(PYTHON) python/build_msgport.py . $(B) $(LIBDIR) $(B)/python-inst && \
		install -d $(DESTDIR)$(PYDIR)/msgport && \
		install -m 644 $(B)/python-inst/_msgport_cffi*.so $(DESTDIR)$(PYDIR)/ && \
		install -m 644 python/msgport/*.py $(DESTDIR)$(PYDIR)/msgport/; \
	else echo "install: $(PYTHON) has no cffi: the Python package not installed"; fi
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR) $(DESTDIR)$(BINDIR)
	install -m 644 $(B)/libmsgport.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(B)/libmsgport.so.$(SOVER) $(DESTDIR)$(LIBDIR)/
	ln -sf libmsgport.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libmsgport.so
	install -m 644 include/msgport.h $(DESTDIR)$(INCDIR)/
	install -d $(DESTDIR)$(INCDIR)/msgport
	install -m 644 include/msgport/*.h $(DESTDIR)$(INCDIR)/msgport/
	install -m 755 $(B)/msgport $(DESTDIR)$(BINDIR)/
	if [ -x $(B)/net/msgport-net ]; then install -m 755 $(B)/net/msgport-net $(DESTDIR)$(BINDIR)/; fi
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		msgport.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/msgport.pc
	install -m 644 $(B)/libmsgport-phoenix.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(B)/libmsgport-phoenix.so.$(SOVER) $(DESTDIR)$(LIBDIR)/
	ln -sf libmsgport-phoenix.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libmsgport-phoenix.so
	install -d $(DESTDIR)$(INCDIR)/msgport-phoenix/sys $(DESTDIR)$(INCDIR)/msgport-phoenix/phoenix
	install -m 644 include/msgport-phoenix/sys/*.h $(DESTDIR)$(INCDIR)/msgport-phoenix/sys/
	install -m 644 include/msgport-phoenix/phoenix/*.h $(DESTDIR)$(INCDIR)/msgport-phoenix/phoenix/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		msgport-phoenix.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/msgport-phoenix.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7/

clean:
	rm -rf build

BENCH_MSGPORT_LIB := $(B)/libmsgport.a
-include bench/bench.mk

# Fault injection (tests/faultinj/README.md): the library's objects linked
# with wrappers that fail the Nth malloc, mmap, memfd_create, socket,
# sendmsg, recvmsg, epoll_ctl, ...; every N along each main scenario on
# every transport.  Normal build only (the wrappers and ASan both own malloc).
FI_WRAPPED := malloc calloc realloc strdup mmap memfd_create ftruncate socket connect bind \
	listen accept4 sendmsg recvmsg epoll_create1 epoll_ctl eventfd flock process_vm_readv \
	process_vm_writev open openat fcntl
FI_SRCS := $(wildcard tests/faultinj/*.c)
$(B)/faultinj/faultinj: $(FI_SRCS) $(wildcard tests/faultinj/*.h) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc $(FI_SRCS) $(LIB_OBJS) -o $@ $(LDFLAGS_ALL) \
		$(foreach f,$(FI_WRAPPED),-Wl,--wrap=$(f))

.PHONY: faultinj
faultinj: $(B)/faultinj/faultinj
	$(B)/faultinj/faultinj $(FAULTINJ_ARGS)
