# Clients: the C++ client library (ringkv_client, with its unit tests), the `ringkv` CLI, and
# the local cluster launcher (scripts/ringkv-local, copied next to the binaries it starts).
ringkv_glob_library(ringkv_client ${CMAKE_CURRENT_SOURCE_DIR}/cpp LIBS ringkv_common PkgConfig::ZMQ)

add_executable(ringkv ${CMAKE_CURRENT_SOURCE_DIR}/cli/ringkv_main.cc ${CMAKE_CURRENT_SOURCE_DIR}/cli/top.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/repair_command.cc)
target_link_libraries(ringkv PRIVATE ringkv_client ringkv_protocol ringkv_common
  Boost::program_options PkgConfig::ZMQ)
ringkv_add_test(repair_command_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cli/repair_command_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/repair_command.cc LIBS ringkv_protocol ringkv_common PkgConfig::ZMQ)

# ringkv-local finds ringkv-storage, -coordinator and -gossip in its own directory.
configure_file(${CMAKE_SOURCE_DIR}/scripts/ringkv-local ${CMAKE_BINARY_DIR}/bin/ringkv-local COPYONLY)
