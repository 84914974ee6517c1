# ringkv-bench: the closed-loop cluster load generator (YCSB A/B/C) over the C++ client.
add_executable(ringkv-bench ${CMAKE_CURRENT_SOURCE_DIR}/ringkv_bench_main.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/bench_loop.cc)
target_link_libraries(ringkv-bench PRIVATE ringkv_bench_util ringkv_client ringkv_net ringkv_common
  PkgConfig::ZMQ Threads::Threads)

ringkv_add_py_test(cluster_bench_test ${CMAKE_CURRENT_SOURCE_DIR}/cluster_bench_test.py)
