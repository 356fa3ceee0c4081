# weft - top-level build. `make help` lists the targets.
.SUFFIXES:
.DELETE_ON_ERROR:

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
DESTDIR ?=

VERSION := 0.1.0
SONAME  := libweft.so.0

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
	check-seccomp check-boundaries install \
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
	@echo "make check-asan   the same under ASan+UBSan"
	@echo "make check-valgrind  the suites under valgrind memcheck"
	@echo "make check-tsan   the suites under ThreadSanitizer"
	@echo "make check-aarch64  the aarch64 context switch under qemu-user (cross toolchain needed)"
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
check: check-boundaries tests examples $(B_plain)/tests/ctx_check
	@tests/run $(B_plain) "$(TESTS)" "$(RUN_PROGS)"

# The same test set where io_uring is refused (every process under tests/run inherits the filter):
# everything must pass on AUTO's fallback to epoll.
check-seccomp: tests examples $(B_plain)/tests/ctx_check $(B_plain)/tests/seccomp_exec
	@WEFT_BACKENDS=auto $(B_plain)/tests/seccomp_exec tests/run $(B_plain) "$(TESTS)" "$(RUN_PROGS)"

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

check-asan: $(addprefix $(B_asan)/tests/,$(TESTS)) $(addprefix $(B_asan)/examples/,$(EXAMPLES)) \
		$(B_asan)/tests/ctx_check
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 tests/run $(B_asan) "$(TESTS)" "$(RUN_PROGS)"

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

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libweft.a $(DESTDIR)$(LIBDIR)/libweft.so* \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/weft.pc $(DESTDIR)$(INCDIR)/weft.h
	rm -rf $(DESTDIR)$(INCDIR)/weft

# ---- misc ----------------------------------------------------------------------------------
DEB_PKGS := build-essential pkg-config liburing-dev libjemalloc-dev check libsubunit-dev \
	valgrind fio clang-format python3 libssl-dev openssl
deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS)

FMT_SRC = $(wildcard include/*.h include/weft/*.h engine/*.[ch] net/*.[ch] fileio/*.[ch] \
	serial/*.[ch] tests/*.[ch] perf/*.[ch] examples/*.[ch])
format:
	clang-format -i $(FMT_SRC)
format-check:
	clang-format --dry-run -Werror $(FMT_SRC)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
