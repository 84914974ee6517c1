# ringkv_add_test(NAME SOURCES... LIBS...): a GoogleTest binary registered with CTest.
# Unit tests carry the label "unit" so that the sanitizer build can run just them.
function(ringkv_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main Threads::Threads)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT 600)
endfunction()

# ringkv_add_py_test(NAME SCRIPT): a Python test (Debian's /usr/bin/python3) run against build/bin.
function(ringkv_add_py_test name script)
  add_test(NAME ${name} COMMAND /usr/bin/python3 ${script})
  set_tests_properties(${name} PROPERTIES LABELS "integration" TIMEOUT 900
    ENVIRONMENT "RINGKV_BIN=${CMAKE_BINARY_DIR}/bin;PYTHONPATH=${CMAKE_SOURCE_DIR}/clients/python:${CMAKE_SOURCE_DIR}/tests/integration")
endfunction()

# ringkv_glob_library(NAME DIR LIBS...): a static library of every DIR/*.cc except *_test.cc and
# *_main.cc, plus one registered GoogleTest binary per DIR/*_test.cc. Globbing keeps parallel
# work from colliding in one CMakeLists.txt; CONFIGURE_DEPENDS picks up new files on rebuild.
function(ringkv_glob_library name dir)
  cmake_parse_arguments(L "" "" "LIBS;TEST_LIBS" ${ARGN})
  file(GLOB _all CONFIGURE_DEPENDS ${dir}/*.cc)
  set(_srcs)
  set(_tests)
  foreach(f ${_all})
    if(f MATCHES "_test\\.cc$")
      list(APPEND _tests ${f})
    elseif(NOT f MATCHES "_main\\.cc$")
      list(APPEND _srcs ${f})
    endif()
  endforeach()
  if(_srcs)
    add_library(${name} STATIC ${_srcs})
    target_link_libraries(${name} PUBLIC ${L_LIBS})
  else()
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE ${L_LIBS})
  endif()
  foreach(t ${_tests})
    get_filename_component(_tn ${t} NAME_WE)
    ringkv_add_test(${_tn} SOURCES ${t} LIBS ${name} ${L_TEST_LIBS})
  endforeach()
endfunction()
