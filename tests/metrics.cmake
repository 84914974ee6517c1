# Metrics and `ringkv top` against a live 3-node cluster (tests/metrics/test_metrics.py; ports
# 29600-29799): every agent's /metrics validated by promtool and scraped by a real prometheus
# server (when installed: Debian's `prometheus`), `ringkv top --once`, the slow-request log.
ringkv_add_py_test(metrics_cluster_test ${CMAKE_CURRENT_SOURCE_DIR}/metrics/test_metrics.py)
set_tests_properties(metrics_cluster_test PROPERTIES ENVIRONMENT
  "RINGKV_BIN=${CMAKE_BINARY_DIR}/bin;PYTHONPATH=${CMAKE_SOURCE_DIR}/clients/python:${CMAKE_SOURCE_DIR}/tests/coordinator")
