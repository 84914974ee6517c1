# ringkv-aae-cost: write throughput of the storage agent's replica store with and without the
# anti-entropy tree (docs/anti-entropy.md, "Trees (storage agent)").
add_executable(ringkv-aae-cost ${CMAKE_CURRENT_SOURCE_DIR}/aae_cost_main.cc)
target_link_libraries(ringkv-aae-cost PRIVATE ringkv_storage_agent)
