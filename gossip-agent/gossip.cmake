# The gossip agent: library ringkv_gossip_agent (every gossip-agent/*.cc but *_main.cc and
# *_test.cc), program ringkv-gossip, unit tests (*_test.cc) and the process test.
ringkv_glob_library(ringkv_gossip_agent ${CMAKE_CURRENT_SOURCE_DIR}
  LIBS ringkv_ring ringkv_sqlite ringkv_protocol ringkv_version ringkv_net ringkv_metrics_http ringkv_metrics ringkv_common PkgConfig::ZMQ)

add_executable(ringkv-gossip ${CMAKE_CURRENT_SOURCE_DIR}/gossip_main.cc)
target_link_libraries(ringkv-gossip PRIVATE ringkv_gossip_agent)

ringkv_add_py_test(gossip_process_test ${CMAKE_CURRENT_SOURCE_DIR}/tests/gossip_process_test.py)
ringkv_add_py_test(gossip_cluster_test ${CMAKE_CURRENT_SOURCE_DIR}/tests/gossip_cluster_test.py)
