# weft - top-level build. `make help` lists the targets.
.SUFFIXES:
.DELETE_ON_ERROR:

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
DESTDIR ?=

VERSION := 0.2.0
SONAME  := libweft.so.1

CC      ?= gcc
ARCH    := $(shell $(CC) -dumpmachine | cut -d- -f1)
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter
BASE    := -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -I. -Iinclude -MMD -MP $(WARN)
LIBS    := -luring -lssl -lcrypto -lpthread
JEMALLOC:= -ljemalloc
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

# Build flavours: plain (jemalloc); asan (ASan+UBSan) and vg (for valgrind) use libc malloc, so
# the tool sees every block weft allocates (valgrind cannot follow jemalloc's mallocx/sdallocx).
B_plain := build
B_asan  := build/asan
B_vg    := build/vg
B_tsan  := build/tsan
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CF_plain := $(BASE) $(CFLAGS)
CF_asan  := $(BASE) -O1 -g $(SAN) -DWEFT_NO_JEMALLOC
CF_vg    := $(BASE) $(CFLAGS) -DWEFT_NO_JEMALLOC
CF_tsan  := $(BASE) -O1 -g -fsanitize=thread -DWEFT_NO_JEMALLOC
LD_plain := $(LIBS) $(JEMALLOC)
LD_asan  := $(SAN) $(LIBS)
LD_vg    := $(LIBS)
LD_tsan  := -fsanitize=thread $(LIBS)

# Sources: every module folder; the context switch only for the machine we build for.
LIB_SRC := $(wildcard engine/*.c net/*.c fileio/*.c serial/*.c)
LIB_ASM := $(wildcard engine/ctx_$(ARCH).S)
TESTS   := $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
EXAMPLES:= $(patsubst examples/%.c,%,$(wildcard examples/*.c))
PERFS   := $(patsubst perf/%.c,%,$(wildcard perf/*.c))
# Examples that serve or wait forever; `make check` builds but does not run them.
EXAMPLES_NORUN ?= $(shell grep -l 'weft-example: no-run' examples/*.c 2>/dev/null | xargs -r -n1 basename | sed 's/\.c$$//')
# Examples where another thread wakes a sleeping loop: valgrind can't run those (README "Tests").
EXAMPLES_NOVG ?= $(shell grep -l 'weft-example: no-valgrind' examples/*.c 2>/dev/null | xargs -r -n1 basename | sed 's/\.c$$//')

objs = $(patsubst %.c,$(1)/obj/%.o,$(LIB_SRC)) $(patsubst %.S,$(1)/obj/%.o,$(LIB_ASM))

.PHONY: all lib tests examples perf check check-asan check-valgrind check-tsan check-aarch64 bench \
	check-seccomp check-boundaries check-headers check-abi check-install shared-examples fuzz \
	fuzz-build fuzz-merge check-thread-rules check-alloc install \
	uninstall deps \
	format format-check clean help
all: lib examples perf $(B_plain)/weft.pc

help:
	@echo "make              build libweft.a, $(SONAME), weft.pc, examples and perf programs"
	@echo "make check        run every Check suite and the self-terminating examples, on io_uring"
	@echo "                  and again on epoll (WEFT_BACKENDS=\"uring epoll\"; set it to pick one)"
	@echo "make check-seccomp  the same test set under a seccomp filter that refuses io_uring"
	@echo "                  (EPERM, as Docker's default profile): AUTO's epoll fallback"
	@echo "make check-boundaries  net/, fileio/, serial/ include no engine header but engine/module.h"
	@echo "make check-headers  each public header compiles alone (C11/gnu11/C++, +-_GNU_SOURCE)"
	@echo "make check-abi    include/'s functions = weft.map's list = libweft.so's exports"
	@echo "make check-install  the README's install-and-build blocks, run in a scratch prefix"
	@echo "make check-thread-rules  every public call states its thread rule; tests/test_threads.c"
	@echo "                  covers each one that is not thread-safe"
	@echo "make check-asan   the same under ASan+UBSan"
	@echo "make check-alloc  sweep allocation failures over representative programs (ASan build)"
	@echo "make check-valgrind  the suites under valgrind memcheck"
	@echo "make check-tsan   the suites under ThreadSanitizer"
	@echo "make check-aarch64  the aarch64 context switch under qemu-user (cross toolchain needed)"
	@echo "make fuzz         build the libFuzzer targets (tests/fuzz/fuzz_*.c, clang) and run each"
	@echo "                  for FUZZ_SECONDS (60) from its corpus; fuzz-merge keeps what they found"
	@echo "make bench        run every perf/ suite and print one ratio table"
	@echo "make install      PREFIX=/usr/local DESTDIR="
	@echo "make deps         install the Debian packages the build, tests and benches need"

# ---- objects, per flavour ------------------------------------------------------------------
define flavour
$(B_$(1))/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CF_$(1)) -c $$< -o $$@
$(B_$(1))/obj/%.o: %.S
	@mkdir -p $$(@D)
	$$(CC) $$(CF_$(1)) -c $$< -o $$@
$(B_$(1))/libweft.a: $(call objs,$(B_$(1)))
	@rm -f $$@
	$$(AR) rcs $$@ $$^
$(B_$(1))/tests/%: tests/%.c $(B_$(1))/libweft.a
	@mkdir -p $$(@D)
	$$(CC) $$(CF_$(1)) $$< -o $$@ $(B_$(1))/libweft.a $$(LD_$(1)) $$(CHECK_LIBS)
$(B_$(1))/tests/ctx_check: tests/ctx_check.c $(B_$(1))/libweft.a
	@mkdir -p $$(@D)
	$$(CC) $$(CF_$(1)) $$< -o $$@ $(B_$(1))/libweft.a $$(LD_$(1)) -lm
$(B_$(1))/tests/seccomp_exec: tests/seccomp_exec.c
	@mkdir -p $$(@D)
	$$(CC) $$(CF_$(1)) $$< -o $$@
$(B_$(1))/examples/%: examples/%.c $(B_$(1))/libweft.a
	@mkdir -p $$(@D)
	$$(CC) $$(CF_$(1)) $$< -o $$@ $(B_$(1))/libweft.a $$(LD_$(1))
endef
$(eval $(call flavour,plain))
$(eval $(call flavour,asan))
$(eval $(call flavour,vg))
$(eval $(call flavour,tsan))

$(B_plain)/perf/%: perf/%.c $(B_plain)/libweft.a
	@mkdir -p $(@D)
	$(CC) $(CF_plain) $< -o $@ $(B_plain)/libweft.a $(LD_plain) -lm

# perf/http_server parses requests with llhttp, built from the C sources Debian's node-llhttp
# ships (there is no library package of it in Debian 12). Without them, the server is skipped.
LLHTTP_DIR ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp
LLHTTP_SRC := $(wildcard $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c $(LLHTTP_DIR)/llhttp.c)
LLHTTP_OBJ := $(patsubst $(LLHTTP_DIR)/%.c,$(B_plain)/llhttp/%.o,$(LLHTTP_SRC))
HTTP_SRC   := perf/http/proto.c
ifeq ($(LLHTTP_SRC),)
PERFS := $(filter-out http_server,$(PERFS))
$(info perf/http_server skipped: no llhttp sources in $(LLHTTP_DIR) (make deps installs node-llhttp))
endif
$(B_plain)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -fPIC -I$(LLHTTP_INC) -c $< -o $@
$(B_plain)/perf/http_server: perf/http_server.c $(HTTP_SRC) $(LLHTTP_OBJ) $(B_plain)/libweft.a
	@mkdir -p $(@D)
	$(CC) $(CF_plain) -I$(LLHTTP_INC) perf/http_server.c $(HTTP_SRC) -o $@ $(LLHTTP_OBJ) \
		$(B_plain)/libweft.a $(LD_plain)

# The libFuzzer target of the HTTP request glue needs llhttp and perf/http, not libweft: its own
# rule (make fuzz runs it with the others, over tests/fuzz/corpus/http).
FUZZ_HTTP_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I. -Iinclude -I$(LLHTTP_INC)
build/fuzz/fuzz_http: tests/fuzz/fuzz_http.c $(HTTP_SRC) perf/http/proto.h $(LLHTTP_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_HTTP_CFLAGS) $(filter %.c,$^) -o $@

$(B_plain)/$(SONAME): $(call objs,$(B_plain)) weft.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=weft.map -Wl,-z,noexecstack \
		-o $@ $(call objs,$(B_plain)) $(LD_plain)
	ln -sf $(SONAME) $(B_plain)/libweft.so

PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|'
$(B_plain)/weft.pc: weft.pc.in Makefile
	@mkdir -p $(@D)
	$(PC_SED) $< > $@

lib: $(B_plain)/libweft.a $(B_plain)/$(SONAME)
tests: $(addprefix $(B_plain)/tests/,$(TESTS))
examples: $(addprefix $(B_plain)/examples/,$(EXAMPLES))
perf: $(addprefix $(B_plain)/perf/,$(PERFS))

# ---- tests ---------------------------------------------------------------------------------
# tests/run runs each suite binary, then each program (the examples not marked no-run and the
# bare context-switch check), once per backend in WEFT_BACKENDS (default "uring epoll"), and
# prints one "N passed, N failed" line; any failure fails it.
RUN_PROGS = $(addprefix examples/,$(filter-out $(EXAMPLES_NORUN),$(EXAMPLES))) tests/ctx_check
check: check-boundaries check-headers check-abi check-install check-thread-rules tests examples \
		$(B_plain)/tests/ctx_check shared-examples
	@tests/run $(B_plain) "$(TESTS)" "$(RUN_PROGS)"
	@echo "the examples again, linked to $(SONAME):"
	@WEFT_BACKENDS="$(firstword $(or $(WEFT_BACKENDS),uring))" tests/run $(B_plain)/shared "" \
		"$(addprefix examples/,$(filter-out $(EXAMPLES_NORUN),$(EXAMPLES)))"

# The examples linked to libweft.so as a user's program is (README "A complete program"): they
# run against the shared library, and may use only what it exports (one backend is enough).
# The TLS examples make their certificates with OpenSSL's API, so they link it as such a program
# would.
$(B_plain)/shared/examples/%: examples/%.c $(B_plain)/$(SONAME)
	@mkdir -p $(@D)
	$(CC) $(CF_plain) $< -o $@ -L$(B_plain) -lweft -Wl,-rpath,'$$ORIGIN/../..' -lpthread \
		$(if $(filter tls_%,$*),-lssl -lcrypto)
shared-examples: $(addprefix $(B_plain)/shared/examples/,$(EXAMPLES))

# README "ABI": the functions include/ declares = the names weft.map lists = what the .so exports.
check-abi: $(B_plain)/$(SONAME)
	@tests/check-abi $(B_plain)/$(SONAME) weft.map include

# README "A complete program": its install blocks, run as written against a scratch prefix.
check-install: lib
	@tests/check-install

# The same test set where io_uring is refused (every process under tests/run inherits the filter):
# everything must pass on AUTO's fallback to epoll.
check-seccomp: tests examples $(B_plain)/tests/ctx_check $(B_plain)/tests/seccomp_exec
	@WEFT_BACKENDS=auto $(B_plain)/tests/seccomp_exec tests/run $(B_plain) "$(TESTS)" "$(RUN_PROGS)"

# Each public header compiles alone in C and C++, with and without _GNU_SOURCE (-Werror), and
# weft.h includes and lists them all.
check-headers:
	@CC="$(CC)" CXX="$(CXX)" tests/check-headers include

# DESIGN.md 4: net/, fileio/ and serial/ reach the engine through engine/module.h alone.
BOUNDARY_SRC = $(wildcard net/*.[ch] fileio/*.[ch] serial/*.[ch])
INCLUDE_RE := [[:space:]]*\#[[:space:]]*include[[:space:]]*["<]
check-boundaries:
	@bad=$$(grep -HnE '^$(INCLUDE_RE)([^">]*/)?engine/' $(BOUNDARY_SRC) /dev/null | \
		grep -vE '^[^:]*:[0-9]+:$(INCLUDE_RE)(\.\./)?engine/module\.h[">]'); \
	if [ -n "$$bad" ]; then \
		echo "check-boundaries: net/, fileio/ and serial/ may include only engine/module.h" \
			"of the engine:"; \
		echo "$$bad" | sed 's/^/    /'; \
		exit 1; \
	fi

# README "Threads": each not-thread-safe declaration of include/weft/ has a row in
# tests/test_threads.c (which checks it refuses other threads with -EXDEV) or a stated exemption.
check-thread-rules:
	@python3 tests/thread_rules.py

check-asan: $(addprefix $(B_asan)/tests/,$(TESTS)) $(addprefix $(B_asan)/examples/,$(EXAMPLES)) \
		$(B_asan)/tests/ctx_check
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 tests/run $(B_asan) "$(TESTS)" "$(RUN_PROGS)"

# Allocation-failure injection (README "Tests"): tests/alloc_fail.c replaces the malloc family in
# the ASan build's tests/alloc_sweep; tests/alloc_run fails each allocation in turn.
ALLOC_SCENARIOS := echo copy queue pool timers sync dgram resolve threads
# The interposer itself is not instrumented: the loader calls malloc before ASan is set up.
$(B_asan)/obj/tests/alloc_fail.o: tests/alloc_fail.c
	@mkdir -p $(@D)
	$(CC) $(BASE) -O1 -g -fno-omit-frame-pointer -c $< -o $@
$(B_asan)/tests/alloc_sweep: tests/alloc_sweep.c $(B_asan)/obj/tests/alloc_fail.o $(B_asan)/libweft.a
	@mkdir -p $(@D)
	$(CC) $(CF_asan) tests/alloc_sweep.c $(B_asan)/obj/tests/alloc_fail.o -o $@ \
		$(B_asan)/libweft.a $(LD_asan) -ldl
check-alloc: $(B_asan)/tests/alloc_sweep
	@tests/alloc_run $(B_asan) "$(ALLOC_SCENARIOS)"

check-valgrind: $(addprefix $(B_vg)/tests/,$(TESTS)) $(addprefix $(B_vg)/examples/,$(EXAMPLES)) \
		$(B_vg)/tests/ctx_check
	@WEFT_VALGRIND=1 tests/run $(B_vg) "$(TESTS)" \
		"$(filter-out $(addprefix examples/,$(EXAMPLES_NOVG)),$(RUN_PROGS))"

# ThreadSanitizer over the same suites (fibers are annotated with TSan's fiber API).
check-tsan: $(addprefix $(B_tsan)/tests/,$(TESTS)) $(addprefix $(B_tsan)/examples/,$(EXAMPLES)) \
		$(B_tsan)/tests/ctx_check
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	 tests/run $(B_tsan) "$(TESTS)" "$(RUN_PROGS)"

# The aarch64 context switch, cross-compiled and run under qemu-user
# (Debian: gcc-aarch64-linux-gnu qemu-user).
check-aarch64:
	@mkdir -p build/aarch64
	aarch64-linux-gnu-gcc -std=gnu11 -D_GNU_SOURCE -O2 -static -I. -Iinclude tests/ctx_check.c engine/ctx.c \
		engine/ctx_aarch64.S -o build/aarch64/ctx_check -lm
	qemu-aarch64 build/aarch64/ctx_check

bench: perf
	@perf/run all

# ---- fuzzing ------------------------------------------------------------------------------
# Every tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput; its seeds are in
# tests/fuzz/corpus/<name>/. The library is built again with clang for coverage, ASan and UBSan.
# A run reads the checked-in corpus and writes what it finds to build/fuzz/corpus/<name> (fold it
# in with `make fuzz-merge`); a crash, a sanitizer report, a model mismatch (abort) or a hang
# (-timeout) fails it, leaving the input as build/fuzz/fuzz_<name>-crash-* (README "Fuzzing").
B_fuzz  := build/fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS ?=
FUZZERS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
CF_fuzz := $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -DWEFT_NO_JEMALLOC

$(B_fuzz)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CF_fuzz) -c $< -o $@
$(B_fuzz)/obj/%.o: %.S
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CF_fuzz) -c $< -o $@
$(B_fuzz)/libweft.a: $(call objs,$(B_fuzz))
	@rm -f $@
	$(AR) rcs $@ $^
$(B_fuzz)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(B_fuzz)/libweft.a
	$(FUZZ_CC) $(CF_fuzz) -fsanitize=fuzzer $< -o $@ $(B_fuzz)/libweft.a $(LIBS)

fuzz-build: $(addprefix $(B_fuzz)/,$(FUZZERS))

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
		c=$${f#fuzz_}; mkdir -p $(B_fuzz)/corpus/$$c tests/fuzz/corpus/$$c; \
		echo "fuzz: $$f for $(FUZZ_SECONDS) s (log: $(B_fuzz)/$$f.log)"; \
		$(B_fuzz)/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(B_fuzz)/$$f- $(FUZZ_FLAGS) $(B_fuzz)/corpus/$$c \
			tests/fuzz/corpus/$$c > $(B_fuzz)/$$f.log 2>&1 || \
			{ tail -n 30 $(B_fuzz)/$$f.log; echo "fuzz: $$f FAILED"; exit 1; }; \
		grep -hE '^stat::number_of_executed_units|^stat::peak_rss_mb' $(B_fuzz)/$$f.log | \
			sed 's/^/    /'; \
	done

# Fold what the runs found into the checked-in corpus (only inputs that add coverage).
fuzz-merge: fuzz-build
	@for f in $(FUZZERS); do c=$${f#fuzz_}; mkdir -p $(B_fuzz)/corpus/$$c; \
		$(B_fuzz)/$$f -merge=1 tests/fuzz/corpus/$$c $(B_fuzz)/corpus/$$c 2>&1 | tail -n 1; \
	done

# ---- install -------------------------------------------------------------------------------
install: lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/weft
	install -m 644 $(B_plain)/libweft.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(B_plain)/$(SONAME) $(DESTDIR)$(LIBDIR)/libweft.so.$(VERSION)
	ln -sf libweft.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libweft.so
	install -m 644 include/weft.h $(DESTDIR)$(INCDIR)/
	install -m 644 include/weft/*.h $(DESTDIR)$(INCDIR)/weft/
	$(PC_SED) weft.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/weft.pc # this PREFIX, not the build's
	@# A real install as root refreshes the loader's cache (a new libweft.so.1 in /usr/local/lib
	@# is not found until then); a staged one (DESTDIR) leaves that to the package.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig || true; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libweft.a $(DESTDIR)$(LIBDIR)/libweft.so* \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/weft.pc $(DESTDIR)$(INCDIR)/weft.h
	rm -rf $(DESTDIR)$(INCDIR)/weft

# ---- misc ----------------------------------------------------------------------------------
DEB_PKGS := build-essential pkg-config liburing-dev libjemalloc-dev check libsubunit-dev \
	valgrind fio clang-format python3 node-llhttp nginx wrk gnuplot-nox clang libclang-rt-14-dev \
	libssl-dev openssl
deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS)

FMT_SRC = $(wildcard include/*.h include/weft/*.h engine/*.[ch] net/*.[ch] fileio/*.[ch] \
	serial/*.[ch] tests/*.[ch] perf/*.[ch] perf/http/*.[ch] tests/fuzz/*.[ch] examples/*.[ch])
format:
	clang-format -i $(FMT_SRC)
format-check:
	clang-format --dry-run -Werror $(FMT_SRC)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
