# The agents under systemd (tests/systemd/): sd_notify readiness, watchdog and stopping with
# real agents on ports 29400-29419.
ringkv_add_py_test(systemd_agents_notify_test ${CMAKE_CURRENT_SOURCE_DIR}/systemd/notify_test.py)
