# `cmake --install` (and the Debian package, cmake/package.cmake): programs, systemd units,
# example configs, man pages, docs, and the C++ client as a library with a CMake package config,
# in FHS places. Paths that depend on the prefix chosen at install time (ExecStart= in the units,
# /etc versus PREFIX/etc) are worked out then, by cmake/install_units.cmake.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(RINGKV_PROGRAMS ringkv-storage ringkv-coordinator ringkv-gossip ringkv)
install(TARGETS ${RINGKV_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Units (with ExecStart= and the config paths of the install prefix) and the annotated example
# configs of conf/ (none yet is fine: the script installs whatever conf/*.conf holds then).
install(CODE "set(RINGKV_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")\nset(RINGKV_BINARY_DIR \"${CMAKE_BINARY_DIR}\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/install_units.cmake)

# Man pages from each program's --help and --version (help2man), when help2man is there.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(_pages)
  set(_what_ringkv-storage "the ringkv storage agent")
  set(_what_ringkv-coordinator "the ringkv coordinator agent")
  set(_what_ringkv-gossip "the ringkv gossip agent")
  set(_what_ringkv "the ringkv command-line client")
  foreach(p ${RINGKV_PROGRAMS})
    set(_page ${CMAKE_BINARY_DIR}/man/${p}.1)
    # Compressed, as Debian installs man pages.
    add_custom_command(OUTPUT ${_page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1 --source=ringkv
              "--name=${_what_${p}}" --output=${_page} $<TARGET_FILE:${p}>
      COMMAND gzip -9nf ${_page}
      DEPENDS ${p} VERBATIM)
    list(APPEND _pages ${_page}.gz)
  endforeach()
  add_custom_target(ringkv_man ALL DEPENDS ${_pages})
  install(FILES ${_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man pages (scripts/install-deps.sh installs it)")
endif()
# The --help text too, as plain text beside the docs.
install(CODE "
  file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/help\")
  foreach(p ${RINGKV_PROGRAMS})
    execute_process(COMMAND ${CMAKE_BINARY_DIR}/bin/\${p} --help
      OUTPUT_FILE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/help/\${p}.txt\")
  endforeach()")

install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/systemd/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
        RENAME systemd.md)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")

# The C++ client for applications: libringkv.a, <ringkv/client.h>, find_package(ringkv) with
# target ringkv::client. Its own target (not ringkv_client, which links all of ringkv_common):
# the client needs only msgpack_util and status besides its own file, and libzmq.
add_library(ringkv_client_export STATIC
  ${CMAKE_SOURCE_DIR}/clients/cpp/client.cc
  ${CMAKE_SOURCE_DIR}/common/msgpack_util.cc
  ${CMAKE_SOURCE_DIR}/common/status.cc)
set_target_properties(ringkv_client_export PROPERTIES OUTPUT_NAME ringkv EXPORT_NAME client
  POSITION_INDEPENDENT_CODE ON)
target_include_directories(ringkv_client_export
  PRIVATE ${CMAKE_SOURCE_DIR}
  INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_definitions(ringkv_client_export PRIVATE MSGPACK_NO_BOOST)
target_link_libraries(ringkv_client_export PRIVATE PkgConfig::ZMQ)
target_compile_features(ringkv_client_export INTERFACE cxx_std_17)
install(TARGETS ringkv_client_export EXPORT ringkvTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/clients/cpp/client.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ringkv)
set(_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/ringkv)
install(EXPORT ringkvTargets NAMESPACE ringkv:: DESTINATION ${_cmakedir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/ringkvConfig.cmake.in
  ${CMAKE_BINARY_DIR}/ringkvConfig.cmake INSTALL_DESTINATION ${_cmakedir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ringkvConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ringkvConfig.cmake ${CMAKE_BINARY_DIR}/ringkvConfigVersion.cmake
  DESTINATION ${_cmakedir})
