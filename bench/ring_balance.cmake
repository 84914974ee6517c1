# ringkv-ring-balance: ring load balance and key movement figures (docs/ring.md).
add_executable(ringkv-ring-balance ${CMAKE_CURRENT_SOURCE_DIR}/ring_balance.cc)
target_link_libraries(ringkv-ring-balance PRIVATE ringkv_ring)
