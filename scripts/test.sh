#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is needed, builds from scratch with
# warnings as errors, runs every test, a short run of every fuzz target (scripts/fuzz.sh), then
# rebuilds with AddressSanitizer + UBSan and runs the unit tests under them. Run as root on
# Debian 12. Takes about 15-25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== installing dependencies"
scripts/install-deps.sh

echo "== building (build/)"
rm -rf build
cmake -S . -B build -DRINGKV_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"

echo "== unit tests"
(cd build && ctest -L unit --output-on-failure -j"$jobs" --timeout 600)
echo "== fuzzing: every decoder's libFuzzer target, a few seconds each (build-fuzz/, clang)"
scripts/fuzz.sh --seconds 3
echo "== integration tests (real processes on loopback)"
(cd build && ctest -L integration --output-on-failure --timeout 900)

echo "== building with ASan + UBSan (build-asan/)"
rm -rf build-asan
cmake -S . -B build-asan -DRINGKV_WERROR=ON -DRINGKV_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
  -DRINGKV_BENCH_PEERS=OFF
# Only the unit-test binaries: the programs and benchmarks are not run under sanitizers here.
# (a unit test that is a script, not a binary, has no target of that name and is skipped here)
all_targets=$(cmake --build build-asan --target help | awk '/^\.\.\. / {print $2}')
unit_targets=$(cd build-asan && ctest -N -L unit | awk '/Test +#[0-9]+:/ {print $3}' \
  | grep -Fxf <(echo "$all_targets"))
cmake --build build-asan -j"$jobs" --target $unit_targets
echo "== unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -L unit --output-on-failure -j"$jobs" --timeout 900)
