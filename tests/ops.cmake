# Restart and scale one agent alone, under load (tests/ops/test_restart.py; issue 14, section 6):
# real agents and ringkv-bench on ports 30000-30299, one CTest entry per test class so that each
# stays well under two minutes.
foreach(_ops_case RestartCoordinator RestartStorage RestartGossip ScaleCoordinators
                 LocalSecondCoordinator)
  string(TOLOWER ${_ops_case} _ops_name)
  set(_ops_test ops_${_ops_name}_test)
  add_test(NAME ${_ops_test}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/ops/test_restart.py ${_ops_case})
  set_tests_properties(${_ops_test} PROPERTIES LABELS "integration" TIMEOUT 300
    ENVIRONMENT "RINGKV_BIN=${CMAKE_BINARY_DIR}/bin;PYTHONPATH=${CMAKE_SOURCE_DIR}/clients/python")
endforeach()
