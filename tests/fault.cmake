# The fault-injection suite (tests/fault/run_faults.py, docs/fault-testing.md "The fault suite"):
# five real nodes in network namespaces, nemeses (partitions, one-way cuts, packet loss, SIGKILL,
# SIGSTOP, a data center down, power loss through ringkv-lazyfs), set and strong-register
# workloads with their checkers. The short profile (about 3 minutes) runs here; `--long` (about
# 30 minutes) by hand. Needs root; exit 77 (CTest: skipped) when only power loss could not run.
add_test(NAME fault_short COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/fault/run_faults.py
  --dir ${CMAKE_BINARY_DIR}/fault-run --bin ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(fault_short PROPERTIES LABELS integration TIMEOUT 900 RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77)
add_test(NAME fault_checker_test COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/fault/test_checker.py)
set_tests_properties(fault_checker_test PROPERTIES LABELS unit TIMEOUT 60)
