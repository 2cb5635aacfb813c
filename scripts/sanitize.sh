#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer and UndefinedBehaviorSanitizer (g++, -DDIMSTREAM_SANITIZE=ON)
# in its own build directory and runs the tests there under CTest. Any sanitizer report fails the test that
# made it, and so the script.
#
#   scripts/sanitize.sh                 # unit, behaviour and property tests (GoogleTest), not the e2e ones
#   SANITIZE_E2E=1 scripts/sanitize.sh  # also the end-to-end Python tests (label e2e): ~4 more minutes
#   scripts/sanitize.sh -R csv          # extra arguments go to ctest
#
# The hostile-input test (label hostile) never runs here: it caps the address space of `dimstream`, and ASan
# needs terabytes of it for its shadow memory.
#
# Environment: ASAN_BUILD (build directory, default build-asan), JOBS (default nproc), CXX (default g++),
# SANITIZE_PROPERTY_CASES (cases per merge property test, default 25: each case is ~15x slower under ASan
# than in the normal build, which runs them all).
# The build is -O1 -g1 with assertions on (ASan's usual setting: faster to build, stack traces with lines).
# DuckDB's libduckdb.so is not instrumented: ASan still checks the heap it allocates through the
# interposed allocator, and LeakSanitizer sees its leaks; none are known.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${ASAN_BUILD:-build-asan}
jobs=${JOBS:-$(nproc)}

start=$(date +%s)
if [[ ! -f $build/build.ninja ]]; then
  launcher=()
  command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_CXX_COMPILER="${CXX:-g++}" -DDIMSTREAM_SANITIZE=ON "${launcher[@]}"
fi

# gtest_discover_tests runs each test binary while building: the sanitizers must be set up already.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export DIMSTREAM_PROPERTY_CASES=${SANITIZE_PROPERTY_CASES:-25}

cmake --build "$build" -j "$jobs"
built=$(date +%s)
echo "sanitize: built in $((built - start)) s"

exclude=(-LE 'e2e|hostile')
[[ ${SANITIZE_E2E:-0} == 1 ]] && exclude=(-LE hostile)
status=0
ctest --test-dir "$build" -j "$jobs" --output-on-failure "${exclude[@]}" "$@" || status=$?
echo "sanitize: tests ran in $(($(date +%s) - built)) s; $(($(date +%s) - start)) s in all (ASan+UBSan, $build)"
exit $status
