# ringkv-engine-bench: ringkv's engine against LevelDB and RocksDB (linked ONLY here).
set(_eb ${CMAKE_CURRENT_SOURCE_DIR})
add_executable(ringkv-engine-bench ${_eb}/engine_bench_main.cc ${_eb}/missing_db.cc)
target_link_libraries(ringkv-engine-bench PRIVATE ringkv_bench_util ringkv_common)

# The ringkv engine is linked once storage-agent/engine implements Engine::Open; before that
# the binary still builds and says the engine is missing. The glob re-runs cmake when the
# engine's file list changes.
file(GLOB _eb_engine_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/storage-agent/engine/*.cc)
set(_eb_have_engine OFF)
foreach(f ${_eb_engine_srcs})
  if(NOT f MATCHES "_test\\.cc$")
    file(STRINGS ${f} _eb_open REGEX "Engine::Open")
    if(_eb_open)
      set(_eb_have_engine ON)
    endif()
  endif()
endforeach()
if(_eb_have_engine)
  target_sources(ringkv-engine-bench PRIVATE ${_eb}/ringkv_db.cc)
  target_link_libraries(ringkv-engine-bench PRIVATE ringkv_engine)
  target_compile_definitions(ringkv-engine-bench PRIVATE RINGKV_BENCH_HAVE_RINGKV)
else()
  message(STATUS "ringkv-engine-bench: no Engine::Open in storage-agent/engine yet; "
                 "built without the ringkv engine")
endif()

if(RINGKV_BENCH_PEERS)
  find_path(LEVELDB_INCLUDE_DIR leveldb/db.h)
  find_library(LEVELDB_LIBRARY leveldb)
  pkg_check_modules(ROCKSDB IMPORTED_TARGET rocksdb)
  if(LEVELDB_INCLUDE_DIR AND LEVELDB_LIBRARY AND ROCKSDB_FOUND)
    target_sources(ringkv-engine-bench PRIVATE ${_eb}/leveldb_db.cc ${_eb}/rocksdb_db.cc)
    target_include_directories(ringkv-engine-bench SYSTEM PRIVATE ${LEVELDB_INCLUDE_DIR})
    target_link_libraries(ringkv-engine-bench PRIVATE ${LEVELDB_LIBRARY} PkgConfig::ROCKSDB)
    target_compile_definitions(ringkv-engine-bench PRIVATE RINGKV_BENCH_HAVE_PEERS)
  else()
    message(WARNING "ringkv-engine-bench: LevelDB or RocksDB not found; built without peers")
  endif()
endif()

ringkv_add_py_test(engine_bench_test ${CMAKE_CURRENT_SOURCE_DIR}/engine_bench_test.py)
