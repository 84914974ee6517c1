#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is needed, builds from scratch with
# warnings as errors, runs every test, a short run of every fuzz target (scripts/fuzz.sh), then
# runs the unit tests again built with AddressSanitizer + UBSan (in the fuzz build). Run as root
# on Debian 12. Takes about 20-25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== $(date -u +%H:%M:%S) installing dependencies"
scripts/install-deps.sh

echo "== $(date -u +%H:%M:%S) building (build/)"
rm -rf build
cmake -S . -B build -DRINGKV_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"

stamp() { echo "== $(date -u +%H:%M:%S) $*"; }

stamp "unit tests"
(cd build && ctest -L unit --output-on-failure -j"$jobs" --timeout 600)
stamp "fuzzing: every decoder's libFuzzer target, a few seconds each (build-fuzz/, clang)"
scripts/fuzz.sh --seconds 3
stamp "integration tests (real processes on loopback)"
(cd build && ctest -L integration --output-on-failure --timeout 900)

# The unit tests again under ASan + UBSan, built in build-fuzz/: its libraries are already
# compiled with both sanitizers (clang, -O1, scripts/fuzz.sh), so only the tests and the few
# libraries no fuzz target links are compiled here, instead of a third build of everything.
stamp "building the unit tests with ASan + UBSan (build-fuzz/, clang)"
# Only the unit-test binaries: the programs and benchmarks are not run under sanitizers here.
# (a unit test that is a script, not a binary, has no target of that name and is skipped here)
all_targets=$(cmake --build build-fuzz --target help | awk '/^\.\.\. / {print $2}')
unit_targets=$(cd build-fuzz && ctest -N -L unit | awk '/Test +#[0-9]+:/ {print $3}' \
  | grep -Fxf <(echo "$all_targets"))
cmake --build build-fuzz -j"$jobs" --target $unit_targets
stamp "unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-fuzz && ctest -L unit --output-on-failure -j"$jobs" --timeout 900)
stamp "all tests passed"
