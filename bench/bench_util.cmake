# Helpers shared by ringkv-engine-bench and ringkv-bench (keys, values, latency histograms,
# zipfian keys), with a unit test per helper.
add_library(ringkv_bench_util STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/key_space.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/latency_histogram.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/zipfian.cc)
target_link_libraries(ringkv_bench_util PUBLIC ringkv_common)
foreach(_t key_space_test latency_histogram_test zipfian_test)
  ringkv_add_test(${_t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${_t}.cc LIBS ringkv_bench_util)
endforeach()
