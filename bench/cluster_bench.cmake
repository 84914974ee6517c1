# ringkv-bench: the closed-loop cluster load generator (YCSB A/B/C) over the C++ client.
add_executable(ringkv-bench ${CMAKE_CURRENT_SOURCE_DIR}/ringkv_bench_main.cc)
target_link_libraries(ringkv-bench PRIVATE ringkv_bench_util ringkv_client ringkv_common
  PkgConfig::ZMQ Threads::Threads)
