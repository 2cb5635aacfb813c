#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang++ (ASan + UBSan, build directory build-fuzz) and runs each
# for FUZZ_SECONDS, starting from a copy of its seed corpus fuzz/corpus/<target>/ in a temporary directory.
# Prints per target the executions, executions per second and corpus size; exits 1 if any target crashed,
# leaked, timed out or ran out of memory, and says where the input that did it is and how to replay it.
#
#   scripts/fuzz.sh                          # every target, 30 s each, two at a time on a 2-core machine
#   FUZZ_SECONDS=600 scripts/fuzz.sh config  # one target, longer
#
# Environment: FUZZ_SECONDS (default 30), FUZZ_JOBS (targets run at once, default nproc), FUZZ_BUILD
# (default build-fuzz), FUZZ_KEEP=1 keeps the work directory (grown corpora) even without a crash,
# CXX (default clang++). Extra libFuzzer flags: FUZZ_FLAGS="-max_len=65536".
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
parallel=${FUZZ_JOBS:-$(nproc)}
all_targets=(csv_reader record_parser timestamp config utf8 typed_value decompress json_lines streamed_load)
targets=("$@")
((${#targets[@]} > 0)) || targets=("${all_targets[@]}")

start=$(date +%s)
if [[ ! -f $build/build.ninja ]]; then
  command -v "${CXX:-clang++}" >/dev/null 2>&1 || { echo "fuzz: ${CXX:-clang++} not found (scripts/setup.sh installs clang)" >&2; exit 1; }
  launcher=()
  command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="${CXX:-clang++}" \
    -DDIMSTREAM_FUZZ=ON -DDIMSTREAM_TESTS=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" --target dimstream_fuzz -j "${JOBS:-$(nproc)}"
echo "fuzz: built in $(($(date +%s) - start)) s; running ${targets[*]} for ${seconds} s each, $parallel at a time"

work=$(mktemp -d "${TMPDIR:-/tmp}/dimstream-fuzz.XXXXXX")
# libFuzzer's own leak check stays on (detect_leaks): the targets and the code they reach own no global state
# that lives past an input.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

run_one() {
  local t=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$root/fuzz/corpus/$t/"* "$dir/corpus/"
  local dict=()
  [[ -f $root/fuzz/dict/$t.dict ]] && dict=(-dict="$root/fuzz/dict/$t.dict")
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a target using 2 GB is a bug.
  # shellcheck disable=SC2086
  local rc=0
  "$build/fuzz/fuzz_$t" "$dir/corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" ${FUZZ_FLAGS:-} >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

for t in "${targets[@]}"; do
  [[ -x $build/fuzz/fuzz_$t ]] || { echo "fuzz: no target fuzz_$t (have: ${all_targets[*]})" >&2; exit 2; }
done
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= parallel)); do
    wait -n || true
  done
  run_one "$t" &
done
wait
status=0
declare -A rc_of
for t in "${targets[@]}"; do
  rc_of[$t]=$(cat "$work/$t/rc" 2>/dev/null || echo 99)
done

final_stat() { sed -n "s/^stat::$2: *//p" "$work/$1/log" | tail -1 || true; }
printf '\n%-14s %7s %10s %8s %6s  %-24s %s\n' target seconds execs exec/s seeds 'corpus after' result
for t in "${targets[@]}"; do
  seeds=$(find "$root/fuzz/corpus/$t" -type f | wc -l)
  files=$(find "$work/$t/corpus" -type f | wc -l)
  bytes=$(du -sb "$work/$t/corpus" | cut -f1)
  execs=$(final_stat "$t" number_of_executed_units)
  rate=$(final_stat "$t" average_exec_per_sec)
  # libFuzzer prints exec/s 0 when it stops on a crash; the last status line still has the rate.
  [[ -z $rate || $rate == 0 ]] && rate=$(grep -o 'exec/s: [0-9]*' "$work/$t/log" | tail -1 | cut -d' ' -f2 || true)
  result=ok
  ((rc_of[$t] == 0)) || result="FAILED (exit ${rc_of[$t]})"
  printf '%-14s %7s %10s %8s %6s  %-24s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "$seeds" \
    "$files files, $bytes B" "$result"
done

for t in "${targets[@]}"; do
  ((rc_of[$t] != 0)) || continue
  status=1
  echo
  echo "=== fuzz_$t failed: its log ($work/$t/log), last 40 lines:"
  tail -n 40 "$work/$t/log"
  for a in "$work/$t/artifacts"/*; do
    [[ -e $a ]] || continue
    echo "--- input that did it: $a"
    echo "    replay: $(cd "$build" && pwd)/fuzz/fuzz_$t $a"
    echo "    keep it as a regression seed: cp $a fuzz/corpus/$t/"
  done
done

failed=0
for t in "${targets[@]}"; do ((rc_of[$t] == 0)) || failed=$((failed + 1)); done
echo
echo "fuzz: done in $(($(date +%s) - start)) s"
echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
if ((status != 0)) || [[ ${FUZZ_KEEP:-0} == 1 ]]; then
  echo "fuzz: work directory kept: $work (logs, grown corpora, crashing inputs)"
else
  rm -rf "$work"
fi
exit $status
