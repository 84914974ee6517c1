# Process tests of ringkv-coordinator and the cluster through the raw client protocol
# (tests/coordinator/*.py: real ringkv-storage + ringkv-coordinator processes on ports 21000-21999;
# test_gossip_view.py, with a fake gossip agent: 28000-28099; test_gossip_liveness.py, with
# real gossip agents that send views, else skipped: 28100-28199).
ringkv_add_py_test(coordinator_cluster_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_cluster.py)
ringkv_add_py_test(coordinator_faults_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_faults.py)
ringkv_add_py_test(coordinator_hinted_handoff_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_hinted_handoff.py)
ringkv_add_py_test(coordinator_early_ack_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_early_ack.py)
ringkv_add_py_test(coordinator_client_transport_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_client_transport.py)
ringkv_add_py_test(coordinator_hint_room_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_hint_room.py)
ringkv_add_py_test(coordinator_reply_truth_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_reply_truth.py)
ringkv_add_py_test(coordinator_deadlines_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_deadlines.py)
ringkv_add_py_test(coordinator_gossip_view_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_gossip_view.py)
ringkv_add_py_test(coordinator_gossip_liveness_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_gossip_liveness.py)
ringkv_add_py_test(coordinator_stop_signals_test ${CMAKE_CURRENT_SOURCE_DIR}/coordinator/test_stop_signals.py)
