# The agents under systemd (tests/systemd/): sd_notify readiness, watchdog and stopping with
# real agents on ports 29400-29419.
ringkv_add_py_test(systemd_agents_notify_test ${CMAKE_CURRENT_SOURCE_DIR}/systemd/notify_test.py)
# The units under a real systemd (tests/systemd/boot_test.py): the Debian package installed into
# a booted Debian 12 container (debootstrap into /var/cache/ringkv-test once, systemd-nspawn
# with a network namespace of its own; ports 31000-31029 on its loopback). Needs root,
# debootstrap and systemd-container (scripts/install-deps.sh). Labels `integration` (the default
# run: about 2 minutes the first time, with the debootstrap, half a minute after) and `systemd`
# (alone: `cd build && ctest -L systemd`).
ringkv_add_py_test(systemd_boot_test ${CMAKE_CURRENT_SOURCE_DIR}/systemd/boot_test.py)
set_tests_properties(systemd_boot_test PROPERTIES LABELS "integration;systemd" TIMEOUT 2400
  ENVIRONMENT "RINGKV_BUILD=${CMAKE_BINARY_DIR}")
