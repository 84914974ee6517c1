# Configuration tests: the annotated example configs of conf/ document every option of their
# agent and are accepted as shipped; every agent refuses a bad config with exit code 2 and one
# line (tests/config/*.py; 127.0.0.1 ports 29500-29599).
ringkv_add_py_test(config_examples ${CMAKE_CURRENT_SOURCE_DIR}/config/example_configs_test.py)
ringkv_add_py_test(config_validation ${CMAKE_CURRENT_SOURCE_DIR}/config/bad_config_test.py)
