# Run by `cmake --install` (install(SCRIPT)): the systemd units and the example configs, with the
# paths of the prefix being installed to. The units in systemd/ name the Debian package's paths
# (/usr/bin, /etc/ringkv); another prefix gets its own bin and etc (GNU: /etc only for /usr).
# DESTDIR (CPack's staging directory) is honoured by file(INSTALL).
set(_prefix "${CMAKE_INSTALL_PREFIX}")
if(_prefix STREQUAL "/usr")
  set(_etc "/etc")
else()
  set(_etc "${_prefix}/etc")
endif()
set(_units "${_prefix}/lib/systemd/system")
# One staging directory per destination: two installs at once (tests) do not share one.
string(MD5 _dest "$ENV{DESTDIR}${_prefix}")
set(_stage "${RINGKV_BINARY_DIR}/ringkv-units/${_dest}")
file(REMOVE_RECURSE "${_stage}")
file(MAKE_DIRECTORY "${_stage}")
file(GLOB _files "${RINGKV_SOURCE_DIR}/systemd/*.service" "${RINGKV_SOURCE_DIR}/systemd/*.target")
foreach(f ${_files})
  file(READ "${f}" _text)
  string(REPLACE "/usr/bin/" "${_prefix}/bin/" _text "${_text}")
  string(REPLACE "/etc/ringkv/" "${_etc}/ringkv/" _text "${_text}")
  get_filename_component(_name "${f}" NAME)
  file(WRITE "${_stage}/${_name}" "${_text}")
  file(INSTALL "${_stage}/${_name}" DESTINATION "${_units}" PERMISSIONS OWNER_READ OWNER_WRITE
       GROUP_READ WORLD_READ)
endforeach()
# Annotated example configs (conf/ at the repository root): installed when there are any.
file(GLOB _confs "${RINGKV_SOURCE_DIR}/conf/*.conf")
if(_confs)
  file(INSTALL ${_confs} DESTINATION "${_etc}/ringkv" PERMISSIONS OWNER_READ OWNER_WRITE
       GROUP_READ WORLD_READ)
else()
  message(STATUS "No conf/*.conf: no example configs installed")
endif()
