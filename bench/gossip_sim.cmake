# ringkv-gossip-sim: the gossip code over a virtual clock and network (docs/gossip-protocol.md).
add_executable(ringkv-gossip-sim ${CMAKE_CURRENT_SOURCE_DIR}/gossip_sim.cc)
target_link_libraries(ringkv-gossip-sim PRIVATE ringkv_gossip_agent)
