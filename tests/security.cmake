# CURVE link security against a real secured cluster (tests/security/, docs/security.md).
# Ports 29800-29999.
ringkv_add_py_test(security_curve ${CMAKE_CURRENT_SOURCE_DIR}/security/test_curve.py)
