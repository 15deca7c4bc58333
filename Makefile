# heapcreep: `make` builds into build/ (build/bin/heapcreep runs uninstalled),
# `make test` runs every test, `make bench` prints the benchmark table,
# `make demo` traces the seed scenario, `make install PREFIX=... DESTDIR=...`.
# `make SANITIZE=address,undefined` builds the analyzer and the unit tests
# with sanitizers (into build-san/ unless BUILD is given); V=1 echoes commands.

CC ?= cc
CXX ?= c++
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
PREFIX ?= /usr/local
DESTDIR ?=
PKG_CONFIG ?= pkg-config
SANITIZE ?=
BUILD ?= build$(if $(SANITIZE),-san)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Required flags are appended to the user's CFLAGS, never replace them.
HC_CPPFLAGS := -Iinclude -Ipreload -Ianalyzer -D_GNU_SOURCE
HC_WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
HC_CFLAGS := -std=c11 $(HC_WARN) -fno-strict-aliasing
ifeq ($(DEVELOPER),1)
HC_CFLAGS += -Werror
endif

PKGS := libunwind libzstd libdw zlib
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
UNWIND_LIBS = $(shell $(PKG_CONFIG) --libs libunwind 2>/dev/null)
ZSTD_LIBS = $(shell $(PKG_CONFIG) --libs libzstd 2>/dev/null)
DW_LIBS = $(shell $(PKG_CONFIG) --libs libdw zlib 2>/dev/null)

ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# The shim is never built with sanitizers: it runs inside other programs.
# -fexceptions lets C++ exceptions unwind through the operator-new hooks and
# run their cleanup (the re-entrancy guard must not stay set).
SHIM_CFLAGS := $(HC_CFLAGS) -fPIC -fvisibility=hidden -fexceptions -ftls-model=initial-exec
SHIM_LDFLAGS := -shared -Wl,--version-script=preload/exports.map -Wl,-z,now -Wl,-z,relro

SHIM_SRC := $(wildcard preload/*.c)
SHIM_OBJ := $(SHIM_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC := $(wildcard analyzer/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
# The writer and its memory helper are shared with the analyzer (symbolize
# rewrites traces) and the tests (they build traces).
SHARED_OBJ := $(BUILD)/obj/writer/writer.o $(BUILD)/obj/writer/mem.o
# The unit tests also link the collector's heap model (pure bookkeeping);
# heapcreep-cli does not need it.
UNIT_OBJ := $(SHARED_OBJ) $(BUILD)/obj/writer/heap.o $(BUILD)/obj/writer/unwind.o \
	$(BUILD)/obj/writer/ownheap.o $(BUILD)/obj/writer/tls.o $(BUILD)/obj/writer/keep.o \
	$(BUILD)/obj/writer/phdr.o

LIB := $(BUILD)/lib/libheapcreep.so
CLI := $(BUILD)/libexec/heapcreep/heapcreep-cli
BIN := $(BUILD)/bin/heapcreep

UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
# The ring stress test runs under ThreadSanitizer, built from the shim's
# ring sources directly (never with SANITIZE: TSan excludes ASan).
TSAN_SRC := $(wildcard tests/unit/tsan-*.c)
TSAN_BIN := $(TSAN_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
TSAN_DEPS := preload/ring.c preload/merge.c preload/thread.c preload/tls.c preload/mem.c
# The trace reader's tests again under TSan, for its read-ahead thread.
TSAN_BIN += $(BUILD)/tests/unit/tsan-reader
TSAN_READER := analyzer/reader.c analyzer/decode.c analyzer/summary.c preload/writer.c preload/mem.c
PROG_LIB := $(wildcard tests/programs/lib*.c)
PROG_C := $(filter-out $(PROG_LIB),$(wildcard tests/programs/*.c))
PROG_CXX := $(wildcard tests/programs/*.cc)
PROG_BIN := $(PROG_C:tests/programs/%.c=$(BUILD)/tests/programs/%) \
	$(PROG_CXX:tests/programs/%.cc=$(BUILD)/tests/programs/%) \
	$(PROG_LIB:tests/programs/%.c=$(BUILD)/tests/programs/%.so)
BENCH_SRC := $(filter-out bench/sleeper.c,$(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%) $(BUILD)/bench/libsleeper.so

.PHONY: all deps test test-build san-build test-long eval-detect bench bench-analyzer bench-parts demo install uninstall clean

all: deps $(LIB) $(CLI) $(BIN)

deps:
	$(Q)sh scripts/install-deps build

$(BUILD)/obj/preload/%.o: preload/%.c $(wildcard preload/*.h) include/heapcreep/trace.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SHIM_CFLAGS) -c -o $@ $<

$(BUILD)/obj/analyzer/%.o: analyzer/%.c $(wildcard analyzer/*.h) $(wildcard preload/*.h) include/heapcreep/trace.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(HC_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/obj/writer/%.o: preload/%.c preload/writer.h preload/mem.h include/heapcreep/trace.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(HC_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/obj/writer/heap.o: preload/heap.h
$(BUILD)/obj/writer/mapped.o: preload/mapped.h preload/heap.h
$(BUILD)/obj/writer/unwind.o $(BUILD)/obj/writer/ownheap.o $(BUILD)/obj/writer/tls.o \
	$(BUILD)/obj/writer/keep.o $(BUILD)/obj/writer/phdr.o: preload/internal.h

$(LIB): $(SHIM_OBJ) preload/exports.map
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(SHIM_LDFLAGS) -o $@ $(SHIM_OBJ) $(UNWIND_LIBS) -ldl -lpthread -lm

$(CLI): $(CLI_OBJ) $(SHARED_OBJ)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(SHARED_OBJ) $(DW_LIBS) $(ZSTD_LIBS) -lm -lpthread

$(BIN): scripts/heapcreep
	@mkdir -p $(@D)
	$(Q)cp $< $@ && chmod +x $@

# --- tests -----------------------------------------------------------------

# Unit tests link the module they test; analyzer modules come in as objects
# (everything but main.o), the shim's pure modules (ring, tables) as sources.
CLI_LIBOBJ := $(filter-out $(BUILD)/obj/analyzer/main.o,$(CLI_OBJ))

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(CLI_LIBOBJ) $(UNIT_OBJ) $(wildcard preload/*.h)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(HC_CFLAGS) $(SAN_FLAGS) -o $@ $< \
		$(CLI_LIBOBJ) $(UNIT_OBJ) $(DW_LIBS) $(ZSTD_LIBS) $(UNWIND_LIBS) -lm -lpthread

# The heap model's simulation drains real rings through the collector's merge.
$(BUILD)/tests/unit/test-heap: tests/unit/test-heap.c tests/unit/tap.h preload/ring.c preload/merge.c \
		$(BUILD)/obj/writer/heap.o $(BUILD)/obj/writer/mem.o $(wildcard preload/*.h)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) -Itests/unit $(CFLAGS) $(HC_CFLAGS) $(SAN_FLAGS) -o $@ $< \
		preload/ring.c preload/merge.c $(BUILD)/obj/writer/heap.o $(BUILD)/obj/writer/mem.o -lm -lpthread

# The mappings over the heap model.
$(BUILD)/tests/unit/test-mapped: tests/unit/test-mapped.c tests/unit/tap.h \
		$(BUILD)/obj/writer/mapped.o $(BUILD)/obj/writer/heap.o $(BUILD)/obj/writer/mem.o \
		$(wildcard preload/*.h)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) -Itests/unit $(CFLAGS) $(HC_CFLAGS) $(SAN_FLAGS) -o $@ $< \
		$(BUILD)/obj/writer/mapped.o $(BUILD)/obj/writer/heap.o $(BUILD)/obj/writer/mem.o -lm

# The sampled set needs only itself and the shim's mmap allocator.
$(BUILD)/tests/unit/tsan-sampled: tests/unit/tsan-sampled.c tests/unit/tap.h preload/sampled.c preload/mem.c $(wildcard preload/*.h)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $< (tsan)")
	$(Q)$(CC) $(HC_CPPFLAGS) -Itests/unit $(HC_CFLAGS) -O1 -g -fsanitize=thread -o $@ $< \
		preload/sampled.c preload/mem.c -lpthread

$(BUILD)/tests/unit/tsan-reader: tests/unit/test-reader.c tests/unit/tap.h $(TSAN_READER) \
		$(wildcard analyzer/*.h preload/*.h) include/heapcreep/trace.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $< (tsan)")
	$(Q)$(CC) $(HC_CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(HC_CFLAGS) -O1 -g -fsanitize=thread -o $@ $< \
		$(TSAN_READER) $(ZSTD_LIBS) -lpthread -lm

$(BUILD)/tests/unit/tsan-%: tests/unit/tsan-%.c tests/unit/tap.h $(TSAN_DEPS) $(wildcard preload/*.h)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $< (tsan)")
	$(Q)$(CC) $(HC_CPPFLAGS) -Itests/unit $(HC_CFLAGS) -O1 -g -fsanitize=thread -o $@ $< \
		$(TSAN_DEPS) -lpthread

# Test programs are built like a user's: -O1 -g, no frame pointers.
$(BUILD)/tests/programs/%: tests/programs/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O1 -g -fomit-frame-pointer -Wall -o $@ $< -lpthread -ldl

# pylines_check includes the analyzer's line-table decoder as source.
$(BUILD)/tests/programs/pylines_check: analyzer/pylines.c analyzer/pylines.h

$(BUILD)/tests/programs/jemallocx: tests/programs/jemallocx.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O1 -g -Wall -o $@ $< $(shell $(PKG_CONFIG) --libs jemalloc 2>/dev/null)

# deepbind finds libdeep.so along its own RUNPATH, which the shim lacks.
$(BUILD)/tests/programs/deepbind: tests/programs/deepbind.c $(BUILD)/tests/programs/libdeep.so \
		$(BUILD)/tests/programs/libdeepown.so
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O1 -g -fomit-frame-pointer -Wall -o $@ $< -ldl -Wl,--enable-new-dtags,-rpath,'$$ORIGIN'

# gotslots twice: with its GOT slots bound at their first call (lazy), and
# bound at start and read-only after (-z now: full RELRO).
PROG_BIN += $(BUILD)/tests/programs/gotslots-now
$(BUILD)/tests/programs/gotslots: tests/programs/gotslots.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O1 -g -fomit-frame-pointer -Wall -o $@ $< -ldl -Wl,-z,lazy

$(BUILD)/tests/programs/gotslots-now: tests/programs/gotslots.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $< (-z now)")
	$(Q)$(CC) -std=gnu11 -O1 -g -fomit-frame-pointer -Wall -o $@ $< -ldl -Wl,-z,now,-z,relro

# libplugin with every slot bound at load and read-only after (full RELRO),
# for gotslots' dlopen loop.
PROG_BIN += $(BUILD)/tests/programs/libplugin-now.so
$(BUILD)/tests/programs/libplugin-now.so: tests/programs/libplugin.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $< (-z now)")
	$(Q)$(CC) -std=gnu11 -O1 -g -fPIC -shared -Wall -o $@ $< -Wl,-z,now,-z,relro

$(BUILD)/tests/programs/lib%.so: tests/programs/lib%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O1 -g -fPIC -shared -Wall -o $@ $<

$(BUILD)/tests/programs/%: tests/programs/%.cc
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CXX     $<")
	$(Q)$(CXX) -std=c++17 -O1 -g -fomit-frame-pointer -Wall -o $@ $< -lpthread

# The big-trace generator writes with the shim's own writer.
$(BUILD)/bench/bigtrace: bench/bigtrace.c bench/xorshift.h $(SHARED_OBJ)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(HC_CFLAGS) -o $@ $< $(SHARED_OBJ) $(ZSTD_LIBS)

# The collector's heap model alone, linked with the shim's own object.
$(BUILD)/bench/model: bench/model.c bench/xorshift.h $(BUILD)/obj/writer/heap.o $(BUILD)/obj/writer/mem.o
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) $(CFLAGS) $(HC_CFLAGS) -o $@ $< \
		$(BUILD)/obj/writer/heap.o $(BUILD)/obj/writer/mem.o -lm

# The sampled set needs only itself and the shim's mmap allocator.
$(BUILD)/bench/sampledset: bench/sampledset.c bench/xorshift.h preload/sampled.c preload/mem.c $(wildcard preload/*.h)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(HC_CPPFLAGS) $(HC_CFLAGS) -O2 -g -o $@ $< preload/sampled.c preload/mem.c -lpthread

$(BUILD)/bench/libsleeper.so: bench/sleeper.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -fPIC -shared -o $@ $< -lpthread

$(BUILD)/bench/%: bench/%.c bench/xorshift.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -o $@ $< -lpthread

test: export HC_TEST_BUILD = $(abspath $(BUILD))
test-build: all $(UNIT_BIN) $(TSAN_BIN) $(PROG_BIN)

# The analyzer and the unit tests again, with ASan and UBSan (build-san/).
san-build: $(CLI) $(BIN) $(UNIT_BIN)

SAN_DIR := $(abspath build-san)

test: export HC_TEST_SAN_BUILD = $(SAN_DIR)
test:
	$(Q)sh scripts/install-deps test
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=$(SAN_DIR) san-build
	$(Q)sh tests/run.sh

test-long: export HC_TEST_BUILD = $(abspath $(BUILD))
test-long: export HC_TEST_LONG = 1
test-long: export HC_TEST_SAN_BUILD = $(SAN_DIR)
test-long:
	$(Q)sh scripts/install-deps test
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=$(SAN_DIR) san-build
	$(Q)sh tests/run.sh

# The detection evaluation: 200 workloads drawn at random (a new master
# seed each time, printed; EVAL_SEED= replays one), the confusion table per
# family. EVAL_ARGS passes more options (tests/eval-detect.sh -h).
EVAL_SEED ?=
eval-detect:
	$(Q)sh scripts/install-deps test
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)HC_TEST_BUILD=$(abspath $(BUILD)) sh tests/eval-detect.sh -n 200 \
		$(if $(EVAL_SEED),-s $(EVAL_SEED)) $(EVAL_ARGS)

bench: all $(BENCH_BIN)
	$(Q)HC_TEST_BUILD=$(abspath $(BUILD)) sh bench/run.sh

bench-analyzer: all $(BENCH_BIN)
	$(Q)HC_TEST_BUILD=$(abspath $(BUILD)) sh bench/analyzer.sh

bench-parts: all $(BENCH_BIN)
	$(Q)HC_TEST_BUILD=$(abspath $(BUILD)) sh bench/parts.sh

demo: all
	$(Q)sh scripts/install-deps demo
	$(Q)HC_TEST_BUILD=$(abspath $(BUILD)) sh scripts/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/libexec/heapcreep
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/heapcreep
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libheapcreep.so
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/libexec/heapcreep/heapcreep-cli

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/heapcreep $(DESTDIR)$(PREFIX)/lib/libheapcreep.so
	rm -rf $(DESTDIR)$(PREFIX)/libexec/heapcreep

clean:
	rm -rf build build-san build-tsan build-fuzz

# --- fuzzing -----------------------------------------------------------------

# `make fuzz`: the trace reader, summary and decoders under libFuzzer, with
# ASan and UBSan (clang; libFuzzer is in Debian's libclang-rt-14-dev), in
# build-fuzz/. tests/t1700-fuzz.sh runs it; `make test-build` builds it
# where libFuzzer is installed (`make test` installs it first).
FUZZ_DIR := build-fuzz
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC := $(addprefix analyzer/,reader.c decode.c summary.c analysis.c model.c grow.c liveness.c hugemem.c progress.c escape.c detect.c stats.c symbols.c scopes.c format.c pycode.c pylines.c)
FUZZ_OBJ := $(FUZZ_SRC:%.c=$(FUZZ_DIR)/obj/%.o)

.PHONY: fuzz
fuzz: $(FUZZ_DIR)/fuzz-reader
LIBFUZZER := $(wildcard /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
test-build: $(if $(LIBFUZZER),fuzz)

$(FUZZ_DIR)/obj/analyzer/%.o: analyzer/%.c $(wildcard analyzer/*.h) include/heapcreep/trace.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $< (fuzz)")
	$(Q)$(FUZZ_CC) $(HC_CPPFLAGS) $(PKG_CFLAGS) -O1 -g $(HC_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz-reader: tests/fuzz/fuzz-reader.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(HC_CPPFLAGS) $(PKG_CFLAGS) -O1 -g $(HC_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_OBJ) $(DW_LIBS) $(ZSTD_LIBS) -lm -ldl -lpthread
