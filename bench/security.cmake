# ringkv-bench takes the CLI's CURVE options (--curve-server-key, --curve-key; docs/security.md).
target_sources(ringkv-bench PRIVATE ${CMAKE_SOURCE_DIR}/clients/cli/cli_security.cc)
