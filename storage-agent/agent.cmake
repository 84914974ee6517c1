# The storage agent: replica store + ZeroMQ server as a library (ringkv_storage_agent, every
# storage-agent/*.cc except *_test.cc/*_main.cc; each *_test.cc is a unit test) and the
# ringkv-storage program.
ringkv_glob_library(ringkv_storage_agent ${CMAKE_CURRENT_SOURCE_DIR}
  LIBS ringkv_engine ringkv_version ringkv_protocol ringkv_net ringkv_metrics_http ringkv_metrics ringkv_common)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/storage_main.cc)
  add_executable(ringkv-storage ${CMAKE_CURRENT_SOURCE_DIR}/storage_main.cc)
  target_link_libraries(ringkv-storage PRIVATE ringkv_storage_agent)
endif()
