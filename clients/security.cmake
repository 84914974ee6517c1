# The CLI's security parts (keygen, CURVE options; docs/security.md), kept in their own source
# so that other work on ringkv_main.cc merges cleanly.
target_sources(ringkv PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_security.cc)
target_link_libraries(ringkv PRIVATE ringkv_net)
