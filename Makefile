# The commands the README names. Each target builds what is missing first.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA ?= ./dimstream-data
# `make run`: a live demo on generated data (Ctrl-C stops it).
RUN_FLAGS ?= --generate --rows 0 --rate 5000 --rows-per-file 5000 --update-share 0.3 --event-time --bad-share 0.001

.PHONY: all setup build test run bench format clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

run: build
	$(BUILD)/dimstream --data-dir $(DATA) run $(RUN_FLAGS)

bench: build
	$(BUILD)/dimstream_bench_load

format:
	find src bench tests -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
