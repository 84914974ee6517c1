# Tests of the clients: the Python client's unit tests (fake coordinator), and the C++ client,
# the CLI, the Python client and ringkv-local against real local clusters (tests/clients/).
# Ports: 22000-22899 for clusters (one range per test file), 22900-22999 for fake coordinators.
add_test(NAME clients_python_unit COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/clients/python/tests/test_client.py)
set_tests_properties(clients_python_unit PROPERTIES LABELS unit TIMEOUT 300)

ringkv_add_py_test(clients_ringkv_local ${CMAKE_CURRENT_SOURCE_DIR}/clients/test_ringkv_local.py)
ringkv_add_py_test(clients_cli ${CMAKE_CURRENT_SOURCE_DIR}/clients/test_cli.py)
ringkv_add_py_test(clients_python_cluster ${CMAKE_CURRENT_SOURCE_DIR}/clients/test_python_client.py)

ringkv_add_test(cpp_client_cluster_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/clients/cpp_client_cluster_test.cc
  LIBS ringkv_client LABELS integration)
set_tests_properties(cpp_client_cluster_test PROPERTIES TIMEOUT 600
  ENVIRONMENT "RINGKV_BIN=${CMAKE_BINARY_DIR}/bin")
ringkv_add_py_test(clients_demo ${CMAKE_CURRENT_SOURCE_DIR}/clients/test_demo.py)
