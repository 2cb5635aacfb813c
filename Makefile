# The commands the README names. Each target builds what is missing first.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA ?= ./dimstream-data
# `make run`: a live demo on generated data (Ctrl-C stops it).
RUN_FLAGS ?= --generate --rows 0 --rate 5000 --rows-per-file 5000 --update-share 0.3 --event-time --bad-share 0.001

.PHONY: all setup build test test-unit sanitize fuzz run bench package format clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# `make test`: every test, in this order, stopping at the first that fails: the unit, behaviour, property and
# end-to-end tests (test-unit), then the unit tests again under ASan and UBSan (sanitize), then each libFuzzer
# target for FUZZ_SECONDS (fuzz).
test: test-unit
	JOBS=$(JOBS) scripts/sanitize.sh
	JOBS=$(JOBS) scripts/fuzz.sh

test-unit: build
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

# g++ with -fsanitize=address,undefined in build-asan; SANITIZE_E2E=1 adds the end-to-end tests.
sanitize: setup
	JOBS=$(JOBS) scripts/sanitize.sh

# clang++ libFuzzer targets in build-fuzz, FUZZ_SECONDS (default 30) each.
fuzz: setup
	JOBS=$(JOBS) scripts/fuzz.sh

run: build
	$(BUILD)/dimstream --data-dir $(DATA) run $(RUN_FLAGS)

bench: build
	$(BUILD)/dimstream_bench_load
	$(BUILD)/dimstream_bench_merge

# `make package`: the Debian package $(BUILD)/dimstream_<version>-1_<arch>.deb (CPack's DEB generator,
# cmake/Packaging.cmake): `apt install ./$(BUILD)/dimstream_*.deb`.
package: build
	cmake --build $(BUILD) --target package

format:
	find src bench tests fuzz -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan build-fuzz
