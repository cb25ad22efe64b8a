# cryptgate - one GNU Makefile (see docs/STYLE.md, "Build").
#
#   make               library and programs, into build/
#   make check         ASan+UBSan build, then every unit, fuzz-replay and
#                      integration test; ends with "N passed, N failed, N skipped"
#   make fuzz          libFuzzer targets (clang) into build/fuzz/
#   make fuzz-smoke    each libFuzzer target for 60 s (FUZZ_TIME=)
#   make lint          cppcheck + clang-tidy
#   make valgrind      unit tests and daemon scenarios under memcheck (build/vg)
#   make format-check  clang-format --dry-run -Werror
#   make deps          install the Debian packages the build and tests need
#   make install       PREFIX=/usr/local DESTDIR=

PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
CC ?= cc
BUILD ?= build
SANITIZE ?=

PKGS := libssl libcrypto inih sqlite3 libpq libseccomp
TEST_PKGS := cmocka libcjson

V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wimplicit-fallthrough -Wcast-qual \
	-Wpointer-arith -Wundef -Wno-unused-parameter
HARDEN := -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
DEFS := -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED

CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(DEFS) $(CFLAGS) -Iinclude \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
LDFLAGS_HARDEN := -pie -Wl,-z,relro,-z,now
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread

ifneq ($(SANITIZE),)
# Sanitizers want no fortify (false positives on some libc wrappers).
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -O1
else
ALL_CFLAGS += $(HARDEN)
endif
ifneq ($(SANITIZE),)
LDSAN := -fsanitize=address,undefined
endif

LIB_SRCS := $(sort $(wildcard src/lib/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libcryptgate.a

TOOL_SRCS := $(sort $(wildcard src/tool/*.c))
KDCD_SRCS := $(sort $(wildcard src/kdcd/*.c))
GWD_SRCS := $(sort $(wildcard src/gatewayd/*.c))
PKTD_SRCS := $(sort $(wildcard src/pktd/*.c))

PROGS := $(BUILD)/bin/cryptgate
ifneq ($(KDCD_SRCS),)
PROGS += $(BUILD)/bin/cryptgate-kdcd
endif
ifneq ($(GWD_SRCS),)
PROGS += $(BUILD)/bin/cryptgate-gatewayd
endif
ifneq ($(PKTD_SRCS),)
PROGS += $(BUILD)/bin/cryptgate-pktd
endif

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
REPLAY_BINS := $(FUZZ_SRCS:fuzz/fuzz_%.c=$(BUILD)/fuzz/replay_%)
FUZZ_BINS := $(FUZZ_SRCS:fuzz/fuzz_%.c=$(BUILD)/fuzz/fuzz_%)

.PHONY: all check test-build test-run fuzz bench lint format format-check \
	install uninstall clean deps demo

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" != 0 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	@[ "$(V)" != 0 ] || echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

define prog_rule
$(BUILD)/bin/$(1): $(2:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $$(@D)
	@[ "$(V)" != 0 ] || echo "  LD      $$@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARDEN) $(LDSAN) $(LDFLAGS) -o $$@ $$^ $(LIBS) $(3)
endef
$(eval $(call prog_rule,cryptgate,$(TOOL_SRCS)))
$(eval $(call prog_rule,cryptgate-kdcd,$(KDCD_SRCS)))
$(eval $(call prog_rule,cryptgate-gatewayd,$(GWD_SRCS)))
# Only cryptgate-pktd (src/pktd/nfq.c) uses libnetfilter_queue.
PKTD_PKGS := libnetfilter_queue libmnl
$(eval $(call prog_rule,cryptgate-pktd,$(PKTD_SRCS),$(shell $(PKG_CONFIG) --libs $(PKTD_PKGS))))
$(BUILD)/src/pktd/nfq.o: ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKTD_PKGS))

TEST_CFLAGS = $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS)) \
	-Wno-missing-prototypes -DCG_SRCDIR='"$(CURDIR)"'
TEST_LIBS = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS)) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	@[ "$(V)" != 0 ] || echo "  TEST    $@"
	$(Q)$(CC) $(TEST_CFLAGS) -MMD -MP $(LDSAN) -o $@ $< $(LIB) $(TEST_LIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(LIB)
	@mkdir -p $(@D)
	@[ "$(V)" != 0 ] || echo "  HELPER  $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $(LDSAN) -o $@ $< $(LIB) $(LIBS)

# Benchmark programs (load generators): bench/*.c, one program each.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	@[ "$(V)" != 0 ] || echo "  BENCH   $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -MMD -MP $(LDSAN) -o $@ $< $(LIB) $(LIBS)

# gcc-built replayers: fuzz target + fuzz/replay_main.c, run over the corpus.
# (gcc writes one .d for two sources: name what the targets include.)
$(BUILD)/fuzz/replay_ftp: src/gatewayd/ftp.c src/gatewayd/ftp.h
$(BUILD)/fuzz/replay_pkt: $(wildcard src/pktd/*.c src/pktd/*.h)
$(BUILD)/fuzz/replay_proxy: src/gatewayd/proxy.c src/gatewayd/gatewayd.h
$(BUILD)/fuzz/replay_kdcipc: src/kdcd/ipc.c src/kdcd/ipc.h
$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay_main.c $(LIB)
	@mkdir -p $(@D)
	@[ "$(V)" != 0 ] || echo "  REPLAY  $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -MMD -MP $(LDSAN) -o $@ \
		fuzz/fuzz_$*.c fuzz/replay_main.c $(LIB) $(LIBS)

test-build: $(PROGS) $(UNIT_BINS) $(HELPER_BINS) $(REPLAY_BINS) $(BENCH_BINS)

test-run: test-build
	$(Q)BUILD=$(BUILD) tests/run

# make check: sanitized build in its own tree, then everything.
check:
	$(Q)$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 test-run

# libFuzzer targets (clang, libclang-rt-14-dev): make fuzz; then e.g.
#   build/fuzz/fuzz_conf -max_total_time=60 fuzz/corpus/conf
# make fuzz-smoke runs each FUZZ_TIME seconds (fuzz/README.md; fuzz/smoke.sh).
FUZZ_CC ?= clang
FUZZLIB ?= $(BUILD)/fuzzlib
FUZZ_TIME ?= 60
.PHONY: fuzz-smoke
fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZLIB) CC=$(FUZZ_CC) \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
		SANITIZE= $(FUZZLIB)/libcryptgate.a
	$(Q)mkdir -p $(BUILD)/fuzz
	$(Q)for f in $(FUZZ_SRCS); do \
		n=$$(basename $$f .c); echo "  FUZZ    $(BUILD)/fuzz/$$n"; \
		$(FUZZ_CC) -std=c11 $(DEFS) -Iinclude -O1 -g \
		-fsanitize=fuzzer,address,undefined \
		$$($(PKG_CONFIG) --cflags $(PKGS)) -o $(BUILD)/fuzz/$$n $$f \
		$(FUZZLIB)/libcryptgate.a $(LIBS) || exit 1; done

fuzz-smoke: fuzz
	$(Q)BUILD=$(BUILD) FUZZ_TIME=$(FUZZ_TIME) fuzz/smoke.sh

# The README's main-job command: build, then run the system on loopback.
# make demo ARGS=--keep leaves it running (dist/demo.sh --help).
demo: all
	$(Q)BUILD=$(BUILD) dist/demo.sh $(ARGS)

bench: all $(BENCH_BINS)
	$(Q)if [ -x bench/run ]; then BUILD=$(BUILD) bench/run; else echo "no benchmarks yet"; fi

C_FILES = $(shell find include src tests fuzz bench -name '*.[ch]' 2>/dev/null | sort)

# make lint: cppcheck, then clang-tidy (.clang-tidy, tests/unit/.clang-tidy)
# over src/ and tests/unit/, LINT_JOBS files at a time; prints every
# finding and fails on any.  Its own flags, not CFLAGS: clang-tidy is clang.
LINT_JOBS ?= 2
TIDY_FLAGS = -std=c11 $(WARN) $(DEFS) -Iinclude -Wno-missing-prototypes \
	-DCG_SRCDIR='"$(CURDIR)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) $(PKTD_PKGS) $(TEST_PKGS))
.PHONY: lint-cppcheck lint-tidy
lint: lint-cppcheck lint-tidy

lint-cppcheck:
	$(Q)cppcheck --quiet --enable=warning,performance,portability \
		--error-exitcode=1 --inline-suppr --std=c11 -Iinclude \
		-D_GNU_SOURCE --suppress=missingIncludeSystem --suppress=ctunullpointer \
		src fuzz tests/unit tests/helpers bench

lint-tidy:
	$(Q)printf '%s\n' $(filter src/%.c tests/unit/%.c,$(C_FILES)) | \
		xargs -P$(LINT_JOBS) -I{} clang-tidy --quiet {} -- $(TIDY_FLAGS)

# make valgrind: a plain -O1 -g tree in build/vg, every unit test and the
# daemon scenarios under valgrind memcheck (tests/integration/02-valgrind.sh,
# which make check runs too; VG_SCENARIOS=, VG_JOBS=).
.PHONY: valgrind
valgrind:
	$(Q)bash tests/integration/02-valgrind.sh

format:
	$(Q)clang-format -i $(C_FILES)

format-check:
	$(Q)clang-format --dry-run -Werror $(C_FILES)

deps:
	$(Q)mk/deps.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/bin/cryptgate $(DESTDIR)$(BINDIR)/cryptgate
	install -m 0755 $(filter-out $(BUILD)/bin/cryptgate,$(PROGS)) $(DESTDIR)$(SBINDIR)/
	$(if $(wildcard docs/man/*.1),install -m 0644 $(wildcard docs/man/*.1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(wildcard docs/man/*.5),install -m 0644 $(wildcard docs/man/*.5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(wildcard docs/man/*.8),install -m 0644 $(wildcard docs/man/*.8) $(DESTDIR)$(MANDIR)/man8/)

# Exactly the files install wrote.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cryptgate \
		$(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(filter-out $(BUILD)/bin/cryptgate,$(PROGS)))) \
		$(foreach s,1 5 8,$(patsubst docs/man/%,$(DESTDIR)$(MANDIR)/man$(s)/%,$(wildcard docs/man/*.$(s))))

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
