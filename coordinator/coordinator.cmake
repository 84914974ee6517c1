# The coordinator: library (client protocol, quorum rules, the reactor) and ringkv-coordinator.
ringkv_glob_library(ringkv_coordinator_lib ${CMAKE_CURRENT_SOURCE_DIR}
  LIBS ringkv_ring ringkv_protocol ringkv_version ringkv_net ringkv_metrics_http ringkv_metrics ringkv_common PkgConfig::ZMQ)
add_executable(ringkv-coordinator ${CMAKE_CURRENT_SOURCE_DIR}/coordinator_main.cc)
target_link_libraries(ringkv-coordinator PRIVATE ringkv_coordinator_lib)
