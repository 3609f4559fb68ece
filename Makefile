# relearn build. `make` builds the optimised tree in build/release; `make asan`
# the AddressSanitizer + UndefinedBehaviorSanitizer tree in build/asan.
# `make test` runs every test (unit, end-to-end) in both trees.
# Sources are found by directory: a new file under src/<layer>/ joins the
# library, a new tests/unit/test_*.c becomes a test binary.

CC      ?= cc
MODE    ?= release
BUILD   := build/$(MODE)
LAYERS  := base data modules learners model experiment store jobs http cli

WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wformat=2 -Wno-format-nonliteral
INC     := -Isrc -isystem /usr/include/xgboost
ifeq ($(MODE),asan)
  OPT   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(MODE),tsan)
  OPT   := -O1 -g -fsanitize=thread
else ifeq ($(MODE),debug)
  OPT   := -O0 -g
else
  OPT   := -O2 -g -DNDEBUG
endif
CFLAGS  ?=
CFLAGS  += $(WARN) $(OPT) $(INC) -MMD -MP -pthread
LDFLAGS += $(filter -fsanitize=%,$(OPT)) -pthread
LIBS    := -lxgboost -llinear -llapacke -llapack -lblas -lmicrohttpd -ljansson -lsqlite3 \
           -lcurl -lssl -lcrypto -lm

LIB_SRC := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB     := $(BUILD)/librelearn.a
BINS    := $(BUILD)/relearn $(if $(wildcard src/main/relearnd.c),$(BUILD)/relearnd)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all lib asan tsan test unit e2e check-deps clean demo demo-engine bench bench-service bench-update bench-endpoints crash fuzz format \
        tsan-test valgrind soak
all: check-deps $(BINS) $(UNIT_BIN)
lib: $(LIB) $(UNIT_BIN)

check-deps:
	@scripts/deps.sh --check-or-install

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/relearn: $(BUILD)/obj/src/main/relearn.o $(LIB)
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/relearnd: $(BUILD)/obj/src/main/relearnd.o $(LIB)
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) $^ $(LIBS) -lcmocka -o $@

asan:
	@$(MAKE) --no-print-directory MODE=asan all
tsan:
	@$(MAKE) --no-print-directory MODE=tsan all

# Every test, optimised and under ASan+UBSan: the README's test command.
test:
	@scripts/test.sh

# Unit tests and every end-to-end test under ThreadSanitizer (build/tsan);
# scripts/test.sh runs the --quick version.
tsan-test:
	@scripts/tsan.sh

# Unit tests, the CLI and a relearnd session under valgrind memcheck
# (build/release); scripts/test.sh runs the --quick version.
valgrind:
	@scripts/valgrind.sh

# One tree's unit tests (MODE=release|asan); T=name runs only test_name.
unit: lib
	@scripts/unit.sh $(BUILD) $(T)

e2e: all
	@RELEARN_BUILD=$(BUILD) /usr/bin/python3 -m pytest -q tests/e2e

# The main job: relearnd serving the census example (Ctrl-C stops it).
demo: all
	@scripts/serve.sh $(BUILD)

# The engine alone: the census example end to end from the CLI.
demo-engine: all
	@scripts/demo.sh $(BUILD)

bench: all
	@/usr/bin/python3 bench/run.py --build $(BUILD)

bench-service: all
	@/usr/bin/python3 bench/service.py --build $(BUILD)

# The long crash test: KILLS (200) SIGKILLs of relearnd under load, each
# followed by the invariants of tests/e2e/crash_harness.py (scripts/crash.sh).
KILLS ?= 200
crash: all
	@KILLS=$(KILLS) scripts/crash.sh $(BUILD)

bench-update: all
	@/usr/bin/python3 bench/update.py --build $(BUILD)

bench-endpoints: all
	@/usr/bin/python3 bench/endpoints.py --build $(BUILD)

# Mixed load against one relearnd for SOAK_MINUTES (10): errors, p99 latency
# per 30 s window, resident memory growth (bench/soak.py).
SOAK_MINUTES ?= 10
soak: all
	@/usr/bin/python3 bench/soak.py --build $(BUILD) --minutes $(SOAK_MINUTES)

fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
