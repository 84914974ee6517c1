# Install and package (tests/package/): cmake --install into a scratch prefix with every unit
# verified, cpack -G DEB installed into and purged from a scratch root, the C++ client through
# find_package(ringkv), the Python client installed into a venv. Clusters on 29440-29499.
foreach(_t install_test deb_test cpp_client_package_test python_package_test)
  ringkv_add_py_test(package_${_t} ${CMAKE_CURRENT_SOURCE_DIR}/package/${_t}.py)
  set_property(TEST package_${_t} APPEND PROPERTY ENVIRONMENT
    "RINGKV_BUILD=${CMAKE_BINARY_DIR}" "RINGKV_VERSION=${PROJECT_VERSION}")
endforeach()
