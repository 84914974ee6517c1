# Process-level tests of ringkv-storage (tests/storage/*.py, Debian's python3 + zmq + msgpack);
# each spawns the real binary on 127.0.0.1 ports 20000-20999 and kills only what it started.
ringkv_add_py_test(storage_bad_requests ${CMAKE_CURRENT_SOURCE_DIR}/storage/bad_requests_test.py)
ringkv_add_py_test(storage_shutdown ${CMAKE_CURRENT_SOURCE_DIR}/storage/shutdown_test.py)
ringkv_add_py_test(storage_corruption ${CMAKE_CURRENT_SOURCE_DIR}/storage/corruption_test.py)
ringkv_add_py_test(storage_crash ${CMAKE_CURRENT_SOURCE_DIR}/storage/crash_test.py)
ringkv_add_py_test(storage_repair ${CMAKE_CURRENT_SOURCE_DIR}/storage/repair_test.py)
ringkv_add_py_test(storage_aae ${CMAKE_CURRENT_SOURCE_DIR}/storage/aae_test.py)
