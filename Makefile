# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# One entry point. `make check` and `make demo` install what they need first.

CC ?= gcc
CLANG ?= clang
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Imaps -Iuserspace/common
BPF_CFLAGS := -O2 -g -target bpf -Wall -Wextra -Werror -Wno-unused-parameter \
	-Imaps -Ibpf -idirafter /usr/include/x86_64-linux-gnu
LIBS := -lbpf -lelf -lz -lyaml -lm
DAEMON_LIBS := -lsystemd -lmicrohttpd
TEST_LIBS := -lcmocka

BUILD := build
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:.c=.o)
BPF_HDRS := $(wildcard bpf/*.h) maps/meridian_maps.h

COMMON_SRCS := $(wildcard userspace/common/*.c) $(wildcard maps/*.c)
COMMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRCS))
# bpf/hashing.h is shared with userspace: one flow hash everywhere.
COMMON_HDRS := $(wildcard userspace/common/*.h) $(wildcard maps/*.h) \
	bpf/hashing.h
LIBMERIDIAN := $(BUILD)/libmeridian.a

CTL_SRCS := $(wildcard userspace/meridianctl/*.c)
DAEMON_SRCS := $(wildcard userspace/meridiand/*.c)
PROGS := $(if $(CTL_SRCS),$(BUILD)/meridianctl) \
	$(if $(DAEMON_SRCS),$(BUILD)/meridiand)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
GOLDEN_LIB_SRCS := $(filter-out tests/golden/golden_%.c,$(wildcard tests/golden/*.c))
GOLDEN_LIB_HDRS := $(wildcard tests/golden/*.h)
GOLDEN_SRCS := $(wildcard tests/golden/golden_*.c)
GOLDEN_BINS := $(patsubst tests/golden/%.c,$(BUILD)/tests/%,$(GOLDEN_SRCS))
BENCH_SRCS := $(wildcard selftests/bench/*.c)
BENCH_BINS := $(patsubst selftests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
TOOL_SRCS := $(wildcard selftests/tools/*.c)
TOOL_BINS := $(patsubst selftests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

.PHONY: all deps test selftest check bench bench-dp demo install clean

all: $(BPF_OBJS) $(PROGS) $(UNIT_BINS) $(GOLDEN_BINS) $(BENCH_BINS) \
	$(TOOL_BINS)

deps:
	@./deploy/deps.sh

bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

bpf/bench_%.bpf.o: selftests/bench/bench_progs.h

$(BUILD)/%.o: %.c $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBMERIDIAN): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/meridianctl: $(CTL_SRCS) $(wildcard userspace/meridianctl/*.h) \
		$(LIBMERIDIAN) $(COMMON_HDRS)
	$(CC) $(CFLAGS) -Iuserspace/meridianctl $(CTL_SRCS) $(LIBMERIDIAN) $(LIBS) -o $@

$(BUILD)/meridiand: $(DAEMON_SRCS) $(wildcard userspace/meridiand/*.h) \
		$(LIBMERIDIAN) $(COMMON_HDRS)
	$(CC) $(CFLAGS) -Iuserspace/meridiand $(DAEMON_SRCS) $(LIBMERIDIAN) \
		$(LIBS) $(DAEMON_LIBS) -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBMERIDIAN) $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIBMERIDIAN) $(LIBS) $(TEST_LIBS) -o $@

$(BUILD)/tests/golden_%: tests/golden/golden_%.c $(GOLDEN_LIB_SRCS) \
		$(GOLDEN_LIB_HDRS) $(LIBMERIDIAN) $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/golden $< $(GOLDEN_LIB_SRCS) $(LIBMERIDIAN) \
		$(LIBS) -o $@

$(BUILD)/bench/%: selftests/bench/%.c $(GOLDEN_LIB_SRCS) $(GOLDEN_LIB_HDRS) \
		$(wildcard selftests/bench/*.h) $(LIBMERIDIAN) $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/golden $< $(GOLDEN_LIB_SRCS) $(LIBMERIDIAN) \
		$(LIBS) -o $@

$(BUILD)/tools/%: selftests/tools/%.c $(LIBMERIDIAN) $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIBMERIDIAN) $(LIBS) -o $@

test: deps all
	@./tests/run.sh $(UNIT_BINS) $(GOLDEN_BINS)

selftest: deps all
	@./selftests/run.sh

check: deps all
	@./tests/run.sh $(UNIT_BINS) $(GOLDEN_BINS) -- ./selftests/run.sh

bench-dp: deps $(BPF_OBJS) $(BENCH_BINS)
	@./selftests/bench/bench-dp.sh

# Everything, in a few minutes: a table on stdout and in
# build/bench/results.txt, every report after it.
bench: deps all
	@./selftests/bench/bench.sh

demo: deps all
	@./selftests/demo.sh

install: all
	install -d $(DESTDIR)/usr/sbin $(DESTDIR)/usr/lib/meridian
	install -m 0755 $(PROGS) $(DESTDIR)/usr/sbin/
	install -m 0644 $(filter-out bpf/bench_%,$(BPF_OBJS)) \
		$(DESTDIR)/usr/lib/meridian/

clean:
	rm -rf $(BUILD) bpf/*.bpf.o
