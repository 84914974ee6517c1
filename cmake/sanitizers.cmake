# RINGKV_SANITIZE=ON builds everything with ASan + UBSan (CI runs the unit tests that way).
if(RINGKV_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# RINGKV_TSAN=ON builds everything with ThreadSanitizer (scripts/tsan.sh: the unit tests and a
# cluster test with TSan-built agents). Not combinable with the ASan build above.
option(RINGKV_TSAN "Build with ThreadSanitizer" OFF)
if(RINGKV_TSAN)
  if(RINGKV_SANITIZE)
    message(FATAL_ERROR "RINGKV_TSAN and RINGKV_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# RINGKV_FUZZ=ON (clang only) builds the libFuzzer targets of fuzz/ (scripts/fuzz.sh). Every
# library gets coverage instrumentation plus ASan + UBSan; the fuzz targets add libFuzzer's main.
option(RINGKV_FUZZ "Build the libFuzzer targets (fuzz/; needs clang)" OFF)
if(RINGKV_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RINGKV_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
