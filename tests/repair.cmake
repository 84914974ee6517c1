# Process tests of anti-entropy (tests/repair/*.py: real storage, gossip and coordinator agents
# through tests/coordinator/harness.py on ports 29100-29399; docs/anti-entropy.md).
ringkv_add_py_test(repair_process_test ${CMAKE_CURRENT_SOURCE_DIR}/repair/test_repair.py)
