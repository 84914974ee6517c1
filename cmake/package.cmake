# `cpack -G DEB` (from the build directory): ringkv_<version>_amd64.deb with what cmake --install
# puts under /usr (programs, units in /usr/lib/systemd/system, man pages, docs, the C++ client),
# the example configs in /etc/ringkv (conffiles), the sysusers.d and tmpfiles.d entries that the
# postinst applies (the ringkv user, /var/lib/ringkv), and a postrm that removes /var/lib/ringkv
# on purge. Depends: from dpkg-shlibdeps over the programs, plus systemd (the maintainer scripts
# run systemd-sysusers and systemd-tmpfiles; the units need it anyway).
install(FILES ${CMAKE_SOURCE_DIR}/packaging/sysusers.conf
  DESTINATION lib/sysusers.d RENAME ringkv.conf)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/tmpfiles.conf
  DESTINATION lib/tmpfiles.d RENAME ringkv.conf)

# cpack (like cmake --install) packages the tree as built: build it first. Without this, CPack
# would first build every target of the project (tests and benchmarks too) on each run.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ringkv)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "ringkv maintainers <ringkv@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Dynamo-style distributed key-value store")
set(CPACK_PACKAGE_DESCRIPTION "ringkv: coordinator, storage and gossip agents (one set per host, \
under systemd), the ringkv command-line client and the C++ client library.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)  # the prefix the install runs with when CPACK_SET_DESTDIR is on
# /etc/ringkv is absolute: staging with DESTDIR keeps it inside the package, not on this host.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Every file under /etc is a conffile (dpkg keeps an operator's edits on upgrade).
file(GLOB _confs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/conf/*.conf)
set(_conffiles "")
foreach(c ${_confs})
  get_filename_component(_n ${c} NAME)
  string(APPEND _conffiles "/etc/ringkv/${_n}\n")
endforeach()
set(_extra ${CMAKE_SOURCE_DIR}/packaging/postinst ${CMAKE_SOURCE_DIR}/packaging/postrm)
if(_conffiles)
  file(WRITE ${CMAKE_BINARY_DIR}/packaging/conffiles "${_conffiles}")
  list(APPEND _extra ${CMAKE_BINARY_DIR}/packaging/conffiles)
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_extra})
include(CPack)
