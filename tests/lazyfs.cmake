# ringkv-lazyfs (tests/fault/lazyfs/): the FUSE file system that loses unsynced writes on
# command, for power-loss tests, and its tests. Optional: built when pkg-config finds fuse3
# (Debian's libfuse3-dev; scripts/install-deps.sh installs it), else skipped with a message.
pkg_check_modules(FUSE3 IMPORTED_TARGET fuse3)
if(FUSE3_FOUND)
  set(_lazyfs ${CMAKE_CURRENT_SOURCE_DIR}/fault/lazyfs)
  add_library(ringkv_lazyfs STATIC ${_lazyfs}/dirty_file.cc ${_lazyfs}/control.cc
    ${_lazyfs}/control_socket.cc ${_lazyfs}/fs_ops.cc)
  target_include_directories(ringkv_lazyfs PUBLIC ${CMAKE_SOURCE_DIR})
  target_link_libraries(ringkv_lazyfs PUBLIC PkgConfig::FUSE3 Threads::Threads)
  add_executable(ringkv-lazyfs ${_lazyfs}/lazyfs_main.cc)
  target_link_libraries(ringkv-lazyfs PRIVATE ringkv_lazyfs)
  ringkv_add_test(lazyfs_dirty_file_test SOURCES ${_lazyfs}/dirty_file_test.cc LIBS ringkv_lazyfs)
  ringkv_add_test(lazyfs_control_test SOURCES ${_lazyfs}/control_test.cc LIBS ringkv_lazyfs)
  # Needs root and /dev/fuse (skips, saying so, without them).
  ringkv_add_py_test(lazyfs_test ${_lazyfs}/test_lazyfs.py)
  # Hole 1 of issue 11: an acknowledged write lost to a power loss of its coordinating replica.
  ringkv_add_py_test(power_loss_hole1_test
    ${CMAKE_CURRENT_SOURCE_DIR}/fault/test_power_loss_hole1.py)
  # The gossip agent's group commit of hints: no hint acknowledged before it is durable, none
  # acknowledged lost to a power loss of its holder.
  ringkv_add_py_test(power_loss_hints_test
    ${CMAKE_CURRENT_SOURCE_DIR}/fault/test_power_loss_hints.py)
else()
  message(STATUS "fuse3 not found (apt-get install libfuse3-dev fuse3): ringkv-lazyfs and the "
                 "power-loss tests are not built")
endif()
