#!/usr/bin/env bash
# ThreadSanitizer run (by command; not in scripts/test.sh, see docs/fuzzing.md for why): builds
# build-tsan/ (-DRINGKV_TSAN=ON: every library, test and program), runs the unit tests, then
# process tests whose agents are the TSan-built binaries: storage_crash (one storage agent with
# concurrent clients, flushes, compactions and SIGKILLs; RINGKV_CRASH_ROUNDS rounds, default 5
# here), coordinator_faults_test (a cluster: storage agents over both transports, killed and
# stopped agents), coordinator_cluster_test (the data path: frontend write batches, siblings)
# and coordinator_hinted_handoff_test (gossip agents, hints). Every process writes its reports
# to build-tsan/tsan-logs/ (a killed agent's too); any report fails the run.
# Suppressions (third-party code only): scripts/tsan.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
start=$(date +%s)

echo "== building with ThreadSanitizer (build-tsan/)"
cmake -S . -B build-tsan -DRINGKV_TSAN=ON -DRINGKV_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRINGKV_BENCH_PEERS=OFF "${launcher[@]}" >/dev/null
# The unit-test binaries and the three programs the process tests start.
all_targets=$(cmake --build build-tsan --target help | awk '/^\.\.\. / {print $2}')
unit_targets=$(cd build-tsan && ctest -N -L unit | awk '/Test +#[0-9]+:/ {print $3}' \
  | grep -Fxf <(echo "$all_targets"))
cmake --build build-tsan -j"$jobs" --target $unit_targets ringkv-storage ringkv-coordinator \
  ringkv-gossip

logs=$PWD/build-tsan/tsan-logs
rm -rf "$logs"
mkdir -p "$logs"
# A process keeps running after a report (the report file is what fails the run), so a race in
# one agent does not turn into a confusing failure of the test around it. detect_deadlocks=0:
# TSan's lock-order checker aborts a thread that holds more than 64 mutexes, and the storage
# agent's frontend holds one per key of a write batch (a burst of more than 64 keys) while it
# reads the engine; races are still detected.
export TSAN_OPTIONS="log_path=$logs/tsan suppressions=$PWD/scripts/tsan.supp history_size=4 detect_deadlocks=0"
export RINGKV_CRASH_ROUNDS=${RINGKV_CRASH_ROUNDS:-5}
rc=0
echo "== unit tests under TSan"
(cd build-tsan && ctest -L unit --output-on-failure -j"$jobs" --timeout 1200) || rc=1
echo "== process tests under TSan (TSan-built agents)"
(cd build-tsan && ctest -R '^(storage_crash|coordinator_faults_test|coordinator_cluster_test|coordinator_hinted_handoff_test)$' \
  --output-on-failure --timeout 1500) || rc=1

reports=$(ls "$logs" 2>/dev/null | wc -l)
echo "== $reports TSan report file(s) in $logs; $(( $(date +%s) - start )) s in all"
if [ "$reports" -gt 0 ]; then
  for f in "$logs"/*; do echo "--- $f"; head -60 "$f"; done
  rc=1
fi
exit $rc
