#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (build-fuzz/, clang, ASan + UBSan) and runs each one for
# N seconds (default 5) from its seeds (made by the project's encoders: ringkv-fuzz-seeds) and
# its kept regression inputs (fuzz/regressions/<target>/), one at a time (-workers=1). Fails on
# any crash, leak, sanitizer report or timeout; the input that did it is left in
# build-fuzz/crashes/<target>/ (fix the decoder, then keep the input in fuzz/regressions/<target>/).
# Prints per target the executions and the coverage libFuzzer reports (cov: edges, ft: features).
#   scripts/fuzz.sh                 the short run (scripts/test.sh runs it)
#   scripts/fuzz.sh --seconds 300   the longer run, by hand
#   scripts/fuzz.sh --target table  one target only (repeatable)
# The corpus grown by a run stays in build-fuzz/corpus/<target>/ and is reused by the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--target NAME]..." >&2; exit 2 ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(ls fuzz/*_fuzz.cc | sed 's|fuzz/\(.*\)_fuzz\.cc|\1|'))
fi
jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

echo "== building the fuzz targets (build-fuzz/, clang + libFuzzer + ASan + UBSan)"
# -O1 and line tables only: a faster build (this runs in the default test command) with the
# file:line stack traces a crash report needs.
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DRINGKV_FUZZ=ON -DRINGKV_BENCH_PEERS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz

scratch=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/ringkv-fuzz-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export RINGKV_FUZZ_SCRATCH="$scratch"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rm -rf build-fuzz/seeds
build-fuzz/fuzz/ringkv-fuzz-seeds build-fuzz/seeds

failed=()
printf '%-16s %12s %8s %8s %s\n' target execs cov ft result
for t in "${targets[@]}"; do
  bin=build-fuzz/fuzz/${t}_fuzz
  corpus=build-fuzz/corpus/$t
  crashes=build-fuzz/crashes/$t
  mkdir -p "$corpus" "$crashes" "fuzz/regressions/$t"
  log=build-fuzz/fuzz/$t.log
  # The kept regression inputs once each first (a fixed crash must stay fixed), then fuzzing
  # from seeds + regressions + the corpus of earlier runs; new inputs go to $corpus.
  rc=0
  regressions=(fuzz/regressions/$t/*)
  if [ -e "${regressions[0]}" ]; then
    "$bin" -runs=1 "${regressions[@]}" >"$log" 2>&1 || rc=$?
  fi
  if [ $rc -eq 0 ]; then
    "$bin" -max_total_time="$seconds" -workers=1 -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$crashes/" \
      "$corpus" "build-fuzz/seeds/$t" "fuzz/regressions/$t" >>"$log" 2>&1 || rc=$?
  fi
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  line=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
  if [ $rc -eq 0 ]; then result=ok; else result="FAILED (rc $rc; $log, $crashes/)"; failed+=("$t"); fi
  printf '%-16s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  for t in "${failed[@]}"; do tail -40 "build-fuzz/fuzz/$t.log" >&2; done
  exit 1
fi
